/**
 * The full disk of test/fullDisk.test.ts where it needs a process or a training run: the write
 * stub preloaded into the binary (node --import test/support/diskFull.mjs bin/stratum.js, as the issue's
 * case ran), checkpoints and the metrics log of a training run, and a writer killed mid-write,
 * whose temporary file the next write to the same path removes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './support/cli.js';
import { tmp } from './support/helpers.js';
import { keepsOldFile, setup, stratum, temps } from './support/fullDiskTools.js';

const ROOT = join(import.meta.dirname, '..');
const STUB = join(import.meta.dirname, 'support', 'diskFull.mjs');

/** the binary on a disk that takes `bytes` more bytes of output (undefined: a normal disk) */
function binaryOnDisk(args: string[], bytes?: number) {
  const env = { ...process.env };
  delete env.STRATUM_TEST_DISK_BYTES;
  if (bytes !== undefined) env.STRATUM_TEST_DISK_BYTES = String(bytes);
  const r = spawnSync(process.execPath, ['--import', STUB, BIN, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status ?? -1, signal: r.signal, out: r.stdout, err: r.stderr };
}

test('the binary on a full disk (the stub preloaded): a PSD export one byte short keeps the previous file', async () => {
  const { dir, doc } = await setup();
  const file = join(dir, 'y.psd');
  const args = ['export', doc, '-o', file, '--size', '96'];
  const first = binaryOnDisk(args);
  assert.equal(first.code, 0, first.err);
  const before = readFileSync(file);
  // the case: a short count one byte before the end (the old writer renamed the cut file over the good one)
  const r = binaryOnDisk(args, before.length - 1);
  assert.equal(r.signal, null, `killed by ${r.signal}`);
  assert.equal(r.code, 1);
  assert.match(r.err, /^stratum: .*y\.psd: cannot write \(no space left on device, ENOSPC\); the previous file is unchanged\n$/);
  assert.deepEqual(readFileSync(file), before, 'the previous file is byte-identical');
  assert.deepEqual(temps(dir), [], 'no temporary file left');
});

test('a full disk: checkpoints and the metrics log keep their previous file', async () => {
  const dir = tmp();
  await keepsOldFile(['export-model', join(ROOT, 'models', 'fashion-mnist.stratum'), join(dir, 'm.stratum')], join(dir, 'm.stratum'), (n) => Math.floor(n / 3), 'export-model');
  const run = join(dir, 'run');
  const base = ['train', '--data', 'deadleaves:40', '--encoder', 'small', '--T', '2', '--size', '16', '--batch', '4', '--holdout', '8', '--eval-every', '2', '--save-every', '2', '-o', run];
  const first = await stratum([...base, '--steps', '2']);
  assert.equal(first.code, 0, first.err);
  const files = ['metrics.jsonl', 'checkpoint.stratum', 'best.stratum', 'curves.png', 'grid.png'];
  const before = files.map((f) => readFileSync(join(run, f)));
  // no room at all (the metrics log is rewritten first), then room for the metrics log only: the checkpoint at step 4 fails
  for (const budget of [0, before[0]!.length + 10]) {
    const r = await stratum([...base, '--steps', '4', '--resume'], budget);
    assert.notEqual(r.code, 0, `budget ${budget}: ${r.err}`);
    const last = r.err.trimEnd().split('\n').pop()!;
    assert.match(last, /^stratum: .*run\/(metrics\.jsonl|checkpoint\.stratum): cannot write \(no space left on device, ENOSPC\); the previous file is unchanged$/, `budget ${budget}`);
    files.forEach((f, i) => assert.deepEqual(readFileSync(join(run, f)), before[i], `budget ${budget}: ${f} is byte-identical`));
    assert.deepEqual(temps(run), []);
  }
  const resumed = await stratum([...base, '--steps', '4', '--resume']);
  assert.equal(resumed.code, 0, `after the disk has room again, the run resumes: ${resumed.err}`);
});

test('a writer killed mid-write leaves a temporary file; the next write to the same path removes it', async () => {
  const { dir, doc } = await setup();
  const out = join(dir, 'k.psd');
  const child = spawn(process.execPath, ['--import', STUB, BIN, 'export', doc, '-o', out, '--size', '128'], { env: { ...process.env, STRATUM_TEST_DISK_BYTES: '1000', STRATUM_TEST_DISK_STALL: '1' }, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const t0 = Date.now();
  while (!temps(dir).some((n) => statSync(join(dir, n)).size === 1000)) {
    assert.ok(Date.now() - t0 < 120_000, 'the writer reached its stall');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await exited;
  const [orphan] = temps(dir);
  assert.match(orphan!, new RegExp(`^\\.k\\.psd\\.stratum-tmp-${child.pid}-[0-9a-f]{16}$`));
  assert.ok(!existsSync(out), 'nothing at the output name');
  const again = await stratum(['export', doc, '-o', out, '--size', '32']);
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(temps(dir), [], "the killed writer's temporary file is gone");
});

