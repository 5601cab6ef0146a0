/**
 * A disk that fills mid-write, for each kind of output the commands write (issue 20): documents,
 * PNG, PSD/ORA/SVG, checkpoints, metrics. The disk is test/diskFull.mjs (a write stub: a short
 * count, then ENOSPC) preloaded into the command, and, where this machine lets root mount one, a
 * real 256 KiB tmpfs. Each time the previous file stays byte-identical, no temporary file is left,
 * and the command exits non-zero with one line. Also: a writer killed mid-write leaves a temporary
 * file that the next write to the same path removes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { saveDocument } from '../src/export/documentFile.js';
import { onBackend, testDocument, tmp } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'stratum.js');
const STUB = join(import.meta.dirname, 'diskFull.mjs');

/** the command on a disk that takes `bytes` more bytes of output (undefined: a normal disk) */
function stratum(args: string[], bytes?: number) {
  const env = { ...process.env };
  delete env.STRATUM_TEST_DISK_BYTES;
  if (bytes !== undefined) env.STRATUM_TEST_DISK_BYTES = String(bytes);
  const r = spawnSync(process.execPath, ['--import', STUB, BIN, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.stratum-tmp-'));

/** `args` writes `file`; again on a disk that fills after `budget` bytes: refused with one line, `file` byte-identical */
function keepsOldFile(args: string[], file: string, budget: (size: number) => number, what: string): void {
  const first = stratum(args);
  assert.equal(first.code, 0, `${what}: ${first.err}`);
  const before = readFileSync(file);
  const r = stratum(args, budget(before.length));
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}`);
  assert.notEqual(r.code, 0, `${what}: a full disk must fail`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got ${r.err}`);
  assert.match(lines[0]!, /: cannot write \(no space left on device, ENOSPC\); the previous file is unchanged$/, what);
  assert.ok(lines[0]!.includes(file.split('/').pop()!), `${what}: names the file: ${lines[0]}`);
  assert.deepEqual(readFileSync(file), before, `${what}: the previous file is byte-identical`);
  assert.deepEqual(temps(join(file, '..')), [], `${what}: no temporary file left`);
}

async function setup(): Promise<{ dir: string; doc: string }> {
  await onBackend('cpu');
  const dir = tmp();
  const doc = join(dir, 'doc.stratum.json');
  saveDocument(doc, testDocument(3));
  return { dir, doc };
}

test('a full disk: documents, PNG, PSD, ORA and SVG keep their previous file', async () => {
  const { dir, doc } = await setup();
  const half = (n: number) => Math.floor(n / 2);
  keepsOldFile(['render', doc, '-o', join(dir, 'r.png'), '--size', '256'], join(dir, 'r.png'), half, 'render PNG');
  for (const ext of ['psd', 'ora', 'svg']) keepsOldFile(['export', doc, '-o', join(dir, `x.${ext}`), '--size', '128'], join(dir, `x.${ext}`), half, `export ${ext}`);
  // the case: a short count one byte before the end (the old writer renamed the cut file over the good one)
  keepsOldFile(['export', doc, '-o', join(dir, 'y.psd'), '--size', '96'], join(dir, 'y.psd'), (n) => n - 1, 'export psd, one byte short');
  keepsOldFile(['edit', doc, '--hide', '0', '-o', join(dir, 'e.stratum.json')], join(dir, 'e.stratum.json'), half, 'edit -o (document)');
  keepsOldFile(['edit', doc, '--png', join(dir, 'e.png'), '--size', '64'], join(dir, 'e.png'), () => 0, 'edit --png');
  const img = join(dir, 'photo.png');
  await sharp(Buffer.alloc(48 * 48 * 3, 100), { raw: { width: 48, height: 48, channels: 3 } }).png().toFile(img);
  keepsOldFile(['decompose', img, '-o', join(dir, 'd'), '--size', '64'], join(dir, 'd', 'photo.stratum.json'), half, 'decompose (its document, written first)');
});

test('a full disk: checkpoints and the metrics log keep their previous file', () => {
  const dir = tmp();
  keepsOldFile(['export-model', join(ROOT, 'models', 'fashion-mnist.stratum'), join(dir, 'm.stratum')], join(dir, 'm.stratum'), (n) => Math.floor(n / 3), 'export-model');
  const run = join(dir, 'run');
  const base = ['train', '--data', 'deadleaves:40', '--encoder', 'small', '--T', '2', '--size', '16', '--batch', '4', '--holdout', '8', '--eval-every', '2', '--save-every', '2', '-o', run];
  const first = stratum([...base, '--steps', '2']);
  assert.equal(first.code, 0, first.err);
  const files = ['metrics.jsonl', 'checkpoint.stratum', 'best.stratum', 'curves.png', 'grid.png'];
  const before = files.map((f) => readFileSync(join(run, f)));
  // no room at all (the metrics log is rewritten first), then room for the metrics log only: the checkpoint at step 4 fails
  for (const budget of [0, before[0]!.length + 10]) {
    const r = stratum([...base, '--steps', '4', '--resume'], budget);
    assert.notEqual(r.code, 0, `budget ${budget}: ${r.err}`);
    const last = r.err.trimEnd().split('\n').pop()!;
    assert.match(last, /^stratum: .*run\/(metrics\.jsonl|checkpoint\.stratum): cannot write \(no space left on device, ENOSPC\); the previous file is unchanged$/, `budget ${budget}`);
    files.forEach((f, i) => assert.deepEqual(readFileSync(join(run, f)), before[i], `budget ${budget}: ${f} is byte-identical`));
    assert.deepEqual(temps(run), []);
  }
  const resumed = stratum([...base, '--steps', '4', '--resume']);
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
  const again = stratum(['export', doc, '-o', out, '--size', '32']);
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(temps(dir), [], "the killed writer's temporary file is gone");
});

test('a real full disk (a 256 KiB tmpfs, where root may mount one): the previous document is kept', async (t) => {
  const { dir, doc } = await setup();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status !== 0) {
    t.skip('mount needs root and CAP_SYS_ADMIN; the write stub above covers the same cases');
    return;
  }
  try {
    // a document of about 190 KB (its mask weights): one fits, a second beside it (the temporary file) does not
    const out = join(mnt, 'doc.stratum.json');
    const first = stratum(['edit', doc, '-o', out]);
    assert.equal(first.code, 0, first.err);
    const before = readFileSync(out);
    assert.ok(before.length > 140_000 && before.length < 250_000, `${before.length} bytes`);
    const r = stratum(['edit', doc, '--hide', '0', '-o', out]);
    assert.notEqual(r.code, 0, 'a full disk fails');
    assert.match(r.err.trimEnd(), /^stratum: .*doc\.stratum\.json: cannot write \(no space left on device, ENOSPC\); the previous file is unchanged$/);
    assert.deepEqual(readFileSync(out), before);
    assert.deepEqual(temps(mnt), []);
  } finally {
    spawnSync('umount', [mnt]);
    rmdirSync(mnt);
  }
});
