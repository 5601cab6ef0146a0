/**
 * A clumsy or hostile user's cases (issue 10): outputs over inputs, limits checked before work,
 * and the messages that used to be raw errors. Every refusal: non-zero exit, one line on stderr,
 * nothing overwritten. Resuming a run, and the cases that need a process of their own, are in
 * test/harden.e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkOutputs } from '../src/io/paths.js';
import { cli, type CliResult } from './support/cli.js';
import { testDocument, tmp } from './support/helpers.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'models', 'default.stratum');

/**
 * `stratum ARGS` in this process (test/support/cli.ts), without a process start-up per call; the cases
 * that need a process of their own (another working folder, another process's run lock) are in
 * test/cli.e2e.test.ts
 */
const stratum = (args: string[], opts: { env?: Record<string, string> } = {}) => cli(args, opts);

/** a refusal: a non-zero exit, exactly one line on stderr matching `re` */
function refused(r: CliResult, re: RegExp, what: string): void {
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
  refused(await stratum(['decompose', photo, '-o', join(dir, 'ow'), '--size', '32']), /photo\.png: is the input .*photo\.png; refusing to write over an input/, 'decompose into its own folder');
  // the default output folder `out/` holding the input: test/cli.e2e.test.ts (another working folder)
  assert.deepEqual(readFileSync(photo), bytes, 'the input photo is untouched');

  const doc = join(dir, 'doc.stratum.json');
  writeFileSync(doc, JSON.stringify(testDocument(2)));
  const docBytes = readFileSync(doc);
  refused(await stratum(['render', doc, '-o', doc, '--size', '16']), /refusing to write over an input/, 'render -o the document');
  symlinkSync(doc, join(dir, 'link.png'));
  refused(await stratum(['render', doc, '-o', join(dir, 'link.png'), '--size', '16']), /link\.png: is the input/, 'render onto a symbolic link to the document');
  linkSync(doc, join(dir, 'hard.png'));
  refused(await stratum(['export', doc, '-o', join(dir, 'hard.png'), '--size', '16']), /hard\.png: is the input/, 'export onto a hard link to the document');
  refused(await stratum(['edit', doc, '--hide', '0', '-o', doc]), /refusing to write over an input/, 'edit -o the document');
  refused(await stratum(['export-model', MODEL, MODEL]), /refusing to write over an input/, 'export-model onto itself');
  assert.deepEqual(readFileSync(doc), docBytes, 'the document is untouched');
  assert.throws(() => checkOutputs([join(dir, 'ow')], []), /is a folder, expected a file name/);
});

test('one output convention: -o/--output everywhere; the old --out still works, with a notice', async () => {
  const dir = tmp();
  const img = join(dir, 'in.png');
  await png(img);
  const d = await stratum(['decompose', img, '-o', join(dir, 'a'), '--size', '32']);
  assert.equal(d.code, 0, d.err);
  assert.deepEqual(readdirSync(join(dir, 'a')).sort(), ['in.layers.png', 'in.png', 'in.stratum.json']);
  const old = await stratum(['decompose', img, '--out', join(dir, 'b'), '--size', '32']);
  assert.equal(old.code, 0, old.err);
  assert.match(old.err, /--out is now -o\/--output/);
  assert.ok(existsSync(join(dir, 'b', 'in.png')));
  const r = await stratum(['render', join(dir, 'a', 'in.stratum.json'), '--output', join(dir, 'r.png'), '--size', '24']);
  assert.equal(r.code, 0, r.err);
  assert.equal((await sharp(join(dir, 'r.png')).metadata()).width, 24);
  refused(await stratum(['render', join(dir, 'a', 'in.stratum.json'), '--out', join(dir, 'x.png'), '-o', join(dir, 'y.png')]), /--out .* and --output .* disagree/, 'two different outputs');
});

test('limits are checked before the work: one line naming the estimate and the limit', async () => {
  const dir = tmp();
  const env = { STRATUM_MEMORY_LIMIT: '4G' };
  const big = testDocument(2);
  big.layers = Array.from({ length: 5000 }, (_, i) => ({ ...big.layers[i % 2]!, visible: true }));
  writeFileSync(join(dir, 'big.stratum.json'), JSON.stringify(big));
  const t0 = Date.now();
  refused(await stratum(['render', join(dir, 'big.stratum.json'), '--size', '64', '-o', join(dir, 'big.png')], { env }), /render \(5000 layers at 64×64\) needs about [\d.]+ GB of memory; the limit here is 4\.3 GB \(STRATUM_MEMORY_LIMIT\)/, '5,000 layers');
  writeFileSync(join(dir, 'doc.stratum.json'), JSON.stringify(testDocument(2)));
  refused(await stratum(['render', join(dir, 'doc.stratum.json'), '--size', '16500', '-o', join(dir, 'huge.png')]), /16500×16500 pixels exceeds the image writer's limit/, '--size 16500');
  refused(await stratum(['render', join(dir, 'doc.stratum.json'), '--size', '100000', '-o', join(dir, 'huge.png')]), /100000×100000 pixels exceeds/, '--size 100000');
  refused(await stratum(['train', '--data', 'deadleaves:160', '--encoder', 'small', '--batch', '100000', '--steps', '1', '-o', join(dir, 'run')], { env }), /training \(batch 100000, 32², T=10, small encoder\) needs about [\d.]+ GB of memory; the limit here is 4\.3 GB/, '--batch 100000');
  assert.ok(!existsSync(join(dir, 'run')), 'nothing written for a refused run');
  assert.ok(!existsSync(join(dir, 'big.png')) && !existsSync(join(dir, 'huge.png')));
  assert.ok(Date.now() - t0 < 120_000, 'refused before the work');
});

test('flags take plain decimal numbers; folders, missing folders and wrong files get clear lines', async () => {
  const dir = tmp();
  const doc = join(dir, 'doc.stratum.json');
  writeFileSync(doc, JSON.stringify(testDocument(2)));
  refused(await stratum(['render', doc, '--size', '1e3']), /--size must be an integer ≥ 1 in decimal digits, got '1e3'/, '--size 1e3');
  refused(await stratum(['render', doc, '--size', '0x10']), /got '0x10'/, '--size 0x10');
  refused(await stratum(['train', '--lr', '0x1']), /--lr must be a positive number, got '0x1'/, '--lr 0x1');
  refused(await stratum(['decompose', doc, '--model', dir]), /is a folder, not a model file/, '--model DIR');
  mkdirSync(join(dir, 'x.png'));
  // a folder is a folder of images for decompose (many at once): this one holds none
  refused(await stratum(['decompose', join(dir, 'x.png'), '-o', join(dir, 'o')]), /x\.png: a folder with no images/, 'a folder named x.png');
  const r = await stratum(['export', doc, '-o', join(dir, 'missing', 'a.psd'), '--size', '16']);
  refused(r, /a\.psd: folder .*missing does not exist/, 'export into a missing folder');
  assert.doesNotMatch(r.err, /tmp-/);
  refused(await stratum(['render', dir]), /is a folder, not a document/, 'render DIR');
  // too few images to hold any out: an error, not SIGFPE
  refused(await stratum(['train', '--data', 'deadleaves:3', '--steps', '2', '--encoder', 'small', '-o', join(dir, 'r3')]), /deadleaves:3: 3 images are too few/, 'deadleaves:3');
});
