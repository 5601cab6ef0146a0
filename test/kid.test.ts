/**
 * KID (src/research/eval/kid.ts): the unbiased estimator on synthetic features, and on the bundled
 * model's encoder features of held-out photos against another draw, blurred ones and noise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../src/core/random.js';
import { subset } from '../src/data/imageSet.js';
import { DEFAULT_MODEL } from '../src/io/paths.js';
import { loadModel } from '../src/model/checkpoint.js';
import { loadDataset } from '../src/research/data/datasets.js';
import { boxBlur3, greyscale, kid, kidFeatures, mmd2Unbiased, uniformNoise, type Features } from '../src/research/eval/kid.js';
import { trainingSideOf } from '../src/research/experiments/kid.js';
import { cli } from './support/cli.js';
import { onBackend } from './support/helpers.js';

/** n Gaussian feature vectors of width d, mean `shift` in every coordinate */
function gaussian(n: number, d: number, seed: number, shift = 0): Features {
  const rng = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  return { n, d, data: Float32Array.from({ length: n * d }, () => shift + normal()) };
}

test('unbiased MMD²: about 0 (either sign) for one distribution, clearly positive for a shifted one', () => {
  const same: number[] = [];
  for (let s = 0; s < 20; s++) same.push(mmd2Unbiased(gaussian(60, 8, 2 * s + 1), gaussian(60, 8, 2 * s + 2)));
  const shifted = mmd2Unbiased(gaussian(60, 8, 101), gaussian(60, 8, 102, 0.5));
  const mean = same.reduce((a, b) => a + b, 0) / same.length;
  const spread = Math.sqrt(same.reduce((a, v) => a + v * v, 0) / same.length);
  assert.ok(same.some((v) => v < 0) && same.some((v) => v > 0), `values of both signs: ${same.map((v) => v.toFixed(3)).join(' ')}`);
  assert.ok(Math.abs(mean) < spread, `mean ${mean} within the scatter ${spread}`);
  assert.ok(shifted > 5 * spread, `shifted ${shifted} ≫ scatter ${spread}`);
  // a set against itself through the subsets: the same images on both sides is not 0, but KID is symmetric
  const X = gaussian(50, 8, 7);
  const Y = gaussian(40, 8, 8, 0.3);
  assert.ok(Math.abs(mmd2Unbiased(X, Y) - mmd2Unbiased(Y, X)) < 1e-9);
});

test('KID: subsets of at most subsetSize, mean and standard deviation; one-line errors for bad input', () => {
  const k = kid(gaussian(30, 4, 1), gaussian(80, 4, 2), { subsets: 5, subsetSize: 50 });
  assert.equal(k.values.length, 5);
  assert.equal(k.subsetSize, 30);
  assert.ok(Number.isFinite(k.mean) && k.std >= 0);
  assert.throws(() => kid(gaussian(10, 4, 1), gaussian(10, 5, 2)), /^Error: KID: feature widths differ \(4 and 5\)[^\n]*$/);
  assert.throws(() => kid(gaussian(1, 4, 1), gaussian(10, 4, 2)), /^Error: KID: needs at least 2 images per side, got 1 and 10$/);
  assert.throws(() => kid(gaussian(5, 4, 1), gaussian(5, 4, 2), { subsets: 0 }), /^Error: KID: subsets must be a positive integer/);
});

test('KID on the bundled encoder: another draw ≈ 0 < greyscale < noise; a 3×3 blur barely moves it', async () => {
  await onBackend('fast');
  const { model } = loadModel(DEFAULT_MODEL);
  // the even and the odd images: two draws of one distribution (the crops come grouped by photo)
  const held = await loadDataset('photos-test:400', { size: 32 });
  const a = subset(held, Array.from({ length: 200 }, (_, i) => 2 * i));
  const b = subset(held, Array.from({ length: 200 }, (_, i) => 2 * i + 1));
  const fa = kidFeatures(model, a);
  assert.equal(fa.d, model.featureDim);
  const [other, blur, grey, noise] = [b, boxBlur3(b), greyscale(b), uniformNoise(200, 32, 1)].map((s) => kid(fa, kidFeatures(model, s)));
  const show = `other ${other!.mean}, blurred ${blur!.mean}, grey ${grey!.mean}, noise ${noise!.mean}`;
  assert.ok(noise!.mean > grey!.mean && grey!.mean > other!.mean, show);
  assert.ok(Math.abs(other!.mean) < 0.1 * noise!.mean, show);
  // what the number cannot see (src/research/eval/kid.ts): a 3×3 blur stays within the scatter of another draw
  assert.ok(Math.abs(blur!.mean - other!.mean) < 0.1 * noise!.mean, show);
  // a 64² copy of the set is box-averaged back to 32² before the encoder: the same features
  const up = { n: 4, size: 64, data: new Uint8Array(4 * 64 * 64 * 3) };
  for (let i = 0; i < 4; i++) for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) for (let c = 0; c < 3; c++) up.data[((i * 64 + y) * 64 + x) * 3 + c] = a.data[((i * 32 + (y >> 1)) * 32 + (x >> 1)) * 3 + c]!;
  const fu = kidFeatures(model, up);
  for (let j = 0; j < 4 * fa.d; j++) assert.ok(Math.abs(fu.data[j]! - fa.data[j]!) < 1e-4, `feature ${j}`);
});

test('experiment kid: the reference names its training side; anything else is a one-line error', () => {
  assert.deepEqual(trainingSideOf('photos-test:512', 500), { spec: 'photos:500' });
  assert.deepEqual(trainingSideOf('photos-test:512:0.8:0.8', 300), { spec: 'photos:300:0.8:0.8' });
  assert.deepEqual(trainingSideOf('fashion-mnist-test', 50), { spec: 'fashion-mnist', limit: 50, refLimit: 512 });
  assert.throws(() => trainingSideOf('cifar10:/x', 10), /^Error: --real cifar10:\/x: the reference must be photos-test\[:N\[:WHOLE\[:OBJECTS\]\]\] or fashion-mnist-test\[:DIR\]$/);
});

test('experiment kid: one-line refusals naming the flag, before any folder is made', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratum-kid-'));
  const out = join(dir, 'never');
  const cases: [string[], RegExp][] = [
    [['experiment', 'kid', '-o', out], /experiment kid needs --gans/],
    [['experiment', 'kid', '--gans', join(dir, 'none.stratum'), '-o', out], /none\.stratum: no such file \(--gans\)/],
    [['experiment', 'kid', '--gans', DEFAULT_MODEL, '-o', out], /default\.stratum: not a GAN checkpoint \(--gans/],
    [['experiment', 'kid', '--gans', DEFAULT_MODEL, '--n', '1', '-o', out], /--n must be an integer ≥ 2/],
  ];
  try {
    for (const [args, re] of cases) {
      const r = await cli(args);
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
      assert.match(r.err, re, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help')).length, 1, `one line: ${r.err}`);
      assert.ok(!existsSync(out), `${args.join(' ')} made ${out}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
