/**
 * Fuzz worker (test/fuzz.test.ts): loads and uses each file named in a list, in one process, and
 * reports per file on stdout — `B i` before it starts, then `O i` (worked) or `E i <json message>`
 * (refused). A file that kills the process (a signal) is the one whose `B` has no answer.
 * Usage: worker.ts LIST START  (LIST: one `doc|model PATH` per line)
 */
import { readFileSync, writeSync } from 'node:fs';
import { useBackend } from '../../src/backend/index.js';
import { renderDocument } from '../../src/core/document.js';
import * as tf from '../../src/core/tf.js';
import { loadDocument } from '../../src/export/documentFile.js';
import { decomposeImage } from '../../src/model/decomposeImage.js';
import { loadModel } from '../../src/model/checkpoint.js';

const [list, start] = process.argv.slice(2);
const jobs = readFileSync(list!, 'utf8').trim().split('\n').map((l) => l.split(' ', 2) as [string, string]);
const say = (s: string) => writeSync(1, `${s}\n`);

await useBackend('native');
for (let i = Number(start); i < jobs.length; i++) {
  const [kind, path] = jobs[i]!;
  say(`B ${i}`);
  try {
    tf.tidy(() => {
      if (kind === 'doc') {
        renderDocument(loadDocument(path), 12, 10);
      } else {
        const { model } = loadModel(path);
        try {
          const S = model.cfg.size;
          decomposeImage(model, Uint8Array.from({ length: S * S * 3 }, (_, k) => (k * 37) % 256));
        } finally {
          model.dispose();
        }
      }
    });
    say(`O ${i}`);
  } catch (e) {
    say(`E ${i} ${JSON.stringify((e as Error).message ?? String(e))}`);
  }
}
