/**
 * A clumsy or hostile user's cases (issue 10): outputs over inputs, limits checked before work,
 * resume edge cases, and the messages that used to be raw errors. Every refusal: non-zero exit,
 * one line on stderr, nothing overwritten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { removeOrphanTempFiles, writeFileAtomic } from '../src/io/atomicFile.js';
import { checkOutputs } from '../src/io/paths.js';
import { lockRunFolder } from '../src/io/runLock.js';
import { readMetrics } from '../src/train/trainer.js';
import { testDocument, tmp } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'stratum.js');
const MODEL = join(ROOT, 'models', 'default.stratum');

function stratum(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** a refusal: exit code 1 (not a signal), exactly one line on stderr matching `re` */
function refused(r: ReturnType<typeof stratum>, re: RegExp, what: string): void {
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}`);
  assert.notEqual(r.code, 0, `${what} should fail`);
  const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
  assert.equal(lines.length, 1, `${what}: one line, got ${r.err}`);
  assert.match(lines[0]!, re, what);
}

async function png(path: string, size = 20): Promise<Buffer> {
  await sharp(Buffer.alloc(size * size * 3, 90), { raw: { width: size, height: size, channels: 3 } }).png().toFile(path);
  return readFileSync(path);
}

test('no command writes over an input (same path, default folder, symbolic and hard links)', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'ow'));
  const photo = join(dir, 'ow', 'photo.png');
  const bytes = await png(photo);
  refused(stratum(['decompose', photo, '-o', join(dir, 'ow'), '--size', '32']), /photo\.png: is the input .*photo\.png; refusing to write over an input/, 'decompose into its own folder');
  // the default output folder `out/` holding the input
  mkdirSync(join(dir, 'out'));
  await png(join(dir, 'out', 'photo.png'));
  refused(stratum(['decompose', 'out/photo.png', '--size', '32'], { cwd: dir }), /refusing to write over an input/, 'decompose with the default out/');
  assert.deepEqual(readFileSync(photo), bytes, 'the input photo is untouched');

  const doc = join(dir, 'doc.stratum.json');
  writeFileSync(doc, JSON.stringify(testDocument(2)));
  const docBytes = readFileSync(doc);
  refused(stratum(['render', doc, '-o', doc, '--size', '16']), /refusing to write over an input/, 'render -o the document');
  symlinkSync(doc, join(dir, 'link.png'));
  refused(stratum(['render', doc, '-o', join(dir, 'link.png'), '--size', '16']), /link\.png: is the input/, 'render onto a symbolic link to the document');
  linkSync(doc, join(dir, 'hard.png'));
  refused(stratum(['export', doc, '-o', join(dir, 'hard.png'), '--size', '16']), /hard\.png: is the input/, 'export onto a hard link to the document');
  refused(stratum(['edit', doc, '--hide', '0', '-o', doc]), /refusing to write over an input/, 'edit -o the document');
  refused(stratum(['export-model', MODEL, MODEL]), /refusing to write over an input/, 'export-model onto itself');
  assert.deepEqual(readFileSync(doc), docBytes, 'the document is untouched');
  assert.throws(() => checkOutputs([join(dir, 'ow')], []), /is a folder, expected a file name/);
});

test('one output convention: -o/--output everywhere; the old --out still works, with a notice', async () => {
  const dir = tmp();
  const img = join(dir, 'in.png');
  await png(img);
  const d = stratum(['decompose', img, '-o', join(dir, 'a'), '--size', '32']);
  assert.equal(d.code, 0, d.err);
  assert.deepEqual(readdirSync(join(dir, 'a')).sort(), ['in.layers.png', 'in.png', 'in.stratum.json']);
  const old = stratum(['decompose', img, '--out', join(dir, 'b'), '--size', '32']);
  assert.equal(old.code, 0, old.err);
  assert.match(old.err, /--out is now -o\/--output/);
  assert.ok(existsSync(join(dir, 'b', 'in.png')));
  const r = stratum(['render', join(dir, 'a', 'in.stratum.json'), '--output', join(dir, 'r.png'), '--size', '24']);
  assert.equal(r.code, 0, r.err);
  assert.equal((await sharp(join(dir, 'r.png')).metadata()).width, 24);
  refused(stratum(['render', join(dir, 'a', 'in.stratum.json'), '--out', join(dir, 'x.png'), '-o', join(dir, 'y.png')]), /--out .* and --output .* disagree/, 'two different outputs');
});

test('limits are checked before the work: one line naming the estimate and the limit', async () => {
  const dir = tmp();
  const env = { STRATUM_MEMORY_LIMIT: '4G' };
  const big = testDocument(2);
  big.layers = Array.from({ length: 5000 }, (_, i) => ({ ...big.layers[i % 2]!, visible: true }));
  writeFileSync(join(dir, 'big.stratum.json'), JSON.stringify(big));
  const t0 = Date.now();
  refused(stratum(['render', join(dir, 'big.stratum.json'), '--size', '64', '-o', join(dir, 'big.png')], { env }), /render \(5000 layers at 64×64\) needs about [\d.]+ GB of memory; the limit here is 4\.3 GB \(STRATUM_MEMORY_LIMIT\)/, '5,000 layers');
  writeFileSync(join(dir, 'doc.stratum.json'), JSON.stringify(testDocument(2)));
  refused(stratum(['render', join(dir, 'doc.stratum.json'), '--size', '16500', '-o', join(dir, 'huge.png')]), /16500×16500 pixels exceeds the image writer's limit/, '--size 16500');
  refused(stratum(['render', join(dir, 'doc.stratum.json'), '--size', '100000', '-o', join(dir, 'huge.png')]), /100000×100000 pixels exceeds/, '--size 100000');
  refused(stratum(['train', '--data', 'deadleaves:160', '--encoder', 'small', '--batch', '100000', '--steps', '1', '-o', join(dir, 'run')], { env }), /training \(batch 100000, 32², T=10, small encoder\) needs about [\d.]+ GB of memory; the limit here is 4\.3 GB/, '--batch 100000');
  assert.ok(!existsSync(join(dir, 'run')), 'nothing written for a refused run');
  assert.ok(!existsSync(join(dir, 'big.png')) && !existsSync(join(dir, 'huge.png')));
  assert.ok(Date.now() - t0 < 120_000, 'refused before the work');
});

test('flags take plain decimal numbers; folders, missing folders and wrong files get clear lines', async () => {
  const dir = tmp();
  const doc = join(dir, 'doc.stratum.json');
  writeFileSync(doc, JSON.stringify(testDocument(2)));
  refused(stratum(['render', doc, '--size', '1e3']), /--size must be an integer ≥ 1 in decimal digits, got '1e3'/, '--size 1e3');
  refused(stratum(['render', doc, '--size', '0x10']), /got '0x10'/, '--size 0x10');
  refused(stratum(['train', '--lr', '0x1']), /--lr must be a positive number, got '0x1'/, '--lr 0x1');
  refused(stratum(['decompose', doc, '--model', dir]), /is a folder, not a model file/, '--model DIR');
  mkdirSync(join(dir, 'x.png'));
  refused(stratum(['decompose', join(dir, 'x.png'), '-o', join(dir, 'o')]), /x\.png: is a folder, not an image/, 'a folder named x.png');
  const r = stratum(['export', doc, '-o', join(dir, 'missing', 'a.psd'), '--size', '16']);
  refused(r, /a\.psd: folder .*missing does not exist/, 'export into a missing folder');
  assert.doesNotMatch(r.err, /tmp-/);
  refused(stratum(['render', dir]), /is a folder, not a document/, 'render DIR');
  // too few images to hold any out: an error, not SIGFPE
  refused(stratum(['train', '--data', 'deadleaves:3', '--steps', '2', '--encoder', 'small', '-o', join(dir, 'r3')]), /deadleaves:3: 3 images are too few/, 'deadleaves:3');
});

test('resume: torn metrics line, architecture and data from the checkpoint, one run per folder, orphan temp files', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const base = ['--data', 'deadleaves:40', '--encoder', 'small', '--T', '2', '--size', '16', '--batch', '4', '--holdout', '8', '--eval-every', '2', '--save-every', '2', '-o', run];
  const first = stratum(['train', ...base, '--steps', '2']);
  assert.equal(first.code, 0, first.err);
  const metrics = join(run, 'metrics.jsonl');
  const rows = readMetrics(metrics, 99);
  assert.deepEqual(rows.map((r) => r.step), [0, 1, 2, 2], 'one step-0 evaluation, then steps 1 and 2 and the evaluation at 2');
  // a write cut off by a kill, and an orphan temporary file of a dead writer
  writeFileSync(metrics, readFileSync(metrics, 'utf8') + '{"step":3,"loss":0.1');
  writeFileSync(join(run, 'checkpoint.stratum.tmp-999999'), 'half a checkpoint');
  refused(stratum(['train', ...base, '--steps', '4', '--resume', '--encoder', 'resnet18']), /--encoder resnet18 differs from the model in .*checkpoint\.stratum \(encoder small\); leave it out with --resume/, '--resume with another encoder');
  refused(stratum(['train', ...base.filter((a) => a !== 'deadleaves:40' && a !== '--data'), '--data', 'deadleaves:50', '--steps', '4', '--resume']), /--data deadleaves:50 differs from the model/, '--resume with other data');
  refused(stratum(['train', ...base, '--steps', '4', '--resume', '--channels', '8,8']), /--channels 8,8 differs from the model in .*checkpoint\.stratum \(32,64,64,64\); leave it out with --resume/, '--resume with other channels');
  refused(stratum(['train', ...base, '--steps', '4', '--channels', '8,0']), /--channels must be 1 to 16 whole numbers from 1 to 1024/, '--channels 8,0');
  const resumed = stratum(['train', '--resume', '--steps', '4', '--batch', '4', '--holdout', '8', '--eval-every', '2', '--save-every', '2', '-o', run]);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /removed 1 temporary file\(s\) left by a killed run: checkpoint\.stratum\.tmp-999999/);
  assert.match(resumed.err, /small encoder, T=2, K=10, 16²/, 'architecture taken from the checkpoint, not the defaults');
  assert.deepEqual(readMetrics(metrics, 99).map((r) => r.step), [0, 1, 2, 2, 3, 4, 4]);
  assert.ok(!readdirSync(run).some((f) => f.includes('.tmp-')));
  // a bad line that is not the last is named
  writeFileSync(join(dir, 'm.jsonl'), '{"step":0}\n{oops\n{"step":1}\n');
  assert.throws(() => readMetrics(join(dir, 'm.jsonl'), 9), /m\.jsonl: line 2 is not valid JSON/);
  // one run per folder: a live lock refuses, a dead one is taken over
  const unlock = lockRunFolder(run);
  refused(stratum(['train', '--resume', '--steps', '5', '-o', run]), new RegExp(`another run \\(process ${process.pid}\\) is using this folder`), 'two runs on one folder');
  unlock();
  writeFileSync(join(run, 'run.lock'), '999999\n');
  lockRunFolder(run)();
  assert.ok(!existsSync(join(run, 'run.lock')));
  // library: orphan removal keeps live writers' files
  writeFileSync(join(dir, `a.tmp-${process.pid}`), '');
  writeFileSync(join(dir, 'b.tmp-999998'), '');
  assert.deepEqual(removeOrphanTempFiles(dir), ['b.tmp-999998']);
  assert.throws(() => writeFileAtomic(join(dir, 'nope', 'f'), [new Uint8Array(1)]), /nope does not exist/);
});
