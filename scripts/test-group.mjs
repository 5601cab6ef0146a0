// One process for many test files (scripts/test-quick.mjs): imports each in turn, so their
// top-level node:test tests run one after another here, with one start-up (node, tsx, tfjs, the
// native addon: ~2 s, as long as most unit files' tests) instead of one per file. node --test
// would start a process per file (Node 20 has no --experimental-test-isolation=none).
// A file that fails to load fails as a test named after it; the files after it still run.
// Every test starts on the default backend (native where built), as in a process of its own: a test
// that wants another sets it inside (test/support/helpers.ts: onBackend). Without this a file's
// tests ran on whatever the test before them left, and which file came before depended on the
// dealing: on a fresh machine the edge-shape fit ran on tfjs cpu, test:quick >600 s instead of ~100.
import { resolve } from 'node:path';
import { beforeEach, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { useBackend } from '../src/backend/index.ts';

beforeEach(() => useBackend('auto'));

for (const f of process.argv.slice(2)) {
  try {
    await import(pathToFileURL(resolve(f)).href);
  } catch (e) {
    test(`${f} loads`, () => {
      throw e;
    });
  }
}
