/**
 * What the full-disk tests share (test/fullDisk.test.ts in this process, test/fullDisk.e2e.test.ts
 * where a process or a training run is needed): the command on a disk that fills after a budget,
 * and the check that a refused write keeps the previous file byte-identical.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveDocument } from '../../src/export/documentFile.js';
import { cli } from './cli.js';
import { onBackend, testDocument, tmp } from './helpers.js';

/** the command in this process (test/support/cli.ts) on a disk that takes `bytes` more bytes of output (undefined: a normal disk) */
export const stratum = (args: string[], bytes?: number) => cli(args, { diskBytes: bytes });

export const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.stratum-tmp-'));

/** `args` writes `file`; again on a disk that fills after `budget` bytes: refused with one line, `file` byte-identical */
export async function keepsOldFile(args: string[], file: string, budget: (size: number) => number, what: string): Promise<void> {
  const first = await stratum(args);
  assert.equal(first.code, 0, `${what}: ${first.err}`);
  const before = readFileSync(file);
  const r = await stratum(args, budget(before.length));
  assert.notEqual(r.code, 0, `${what}: a full disk must fail`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got ${r.err}`);
  assert.match(lines[0]!, /: cannot write \(no space left on device, ENOSPC\); the previous file is unchanged$/, what);
  assert.ok(lines[0]!.includes(file.split('/').pop()!), `${what}: names the file: ${lines[0]}`);
  assert.deepEqual(readFileSync(file), before, `${what}: the previous file is byte-identical`);
  assert.deepEqual(temps(join(file, '..')), [], `${what}: no temporary file left`);
}

export async function setup(): Promise<{ dir: string; doc: string }> {
  await onBackend('cpu');
  const dir = tmp();
  const doc = join(dir, 'doc.stratum.json');
  saveDocument(doc, testDocument(3));
  return { dir, doc };
}
