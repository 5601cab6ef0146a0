/**
 * The training step's parts: checkpoints, a NaN loss, the canvas's stopped gradient, the step and
 * coverage losses by hand. Training runs are in test/train.e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COVERAGE_FLOOR, modelConfig, TRAIN_DEFAULTS } from '../src/config.js';
import { maskWeightNames } from '../src/core/maskSpec.js';
import * as tf from '../src/core/tf.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { Decomposer } from '../src/model/decomposer.js';
import { Adam } from '../src/core/adam.js';
import { loadModel, readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';
import { reconstructionLoss, trainStep } from '../src/research/train/step.js';
import { newCtx } from '../src/model/nn.js';
import { onBackend, tmp } from './support/helpers.js';

const tinyModel = (over = {}) => modelConfig({ encoder: 'small', smallChannels: [16, 32, 32, 32], T: 3, size: 16, ...over });

test('checkpoints round-trip; truncated or corrupt checkpoints are one-line errors', async () => {
  await onBackend('fast');
  const dir = tmp();
  const model = new Decomposer(tinyModel(), 5);
  const opt = new Adam(TRAIN_DEFAULTS);
  const x = tf.randomUniform([4, 16, 16, 3]) as tf.Tensor4D;
  trainStep(model, opt, x);
  const path = join(dir, 'm.stratum');
  saveCheckpoint(path, model, { opt, step: 1 });
  const opt2 = new Adam(TRAIN_DEFAULTS);
  const { model: back, ckpt } = loadModel(path, opt2);
  assert.equal(ckpt.header.step, 1);
  assert.equal(opt2.step, 1);
  for (const [name, e] of model.store.entries) assert.deepEqual(back.store.get(name).dataSync(), e.variable.dataSync(), name);
  const bytes = readFileSync(path);
  writeFileSync(join(dir, 'cut.stratum'), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => readCheckpoint(join(dir, 'cut.stratum')), /cut\.stratum: truncated or padded checkpoint/);
  writeFileSync(join(dir, 'junk.stratum'), 'hello world, not a checkpoint');
  assert.throws(() => readCheckpoint(join(dir, 'junk.stratum')), /not a Stratum checkpoint/);
  assert.throws(() => readCheckpoint(join(dir, 'none.stratum')), /no such checkpoint/);
  x.dispose();
  model.dispose();
  back.dispose();
});

test('a NaN loss stops training with a clear error instead of corrupting the weights', async () => {
  await onBackend('fast');
  const model = new Decomposer(tinyModel(), 1);
  const opt = new Adam(TRAIN_DEFAULTS);
  const before = model.store.get('head.p.w').dataSync().slice();
  const bad = tf.fill([2, 16, 16, 3], NaN) as tf.Tensor4D;
  assert.throws(() => trainStep(model, opt, bad), /loss is NaN \(not finite\)/);
  assert.deepEqual(model.store.get('head.p.w').dataSync(), before);
  bad.dispose();
  model.dispose();
});

test('stop-gradient on the canvas input changes the gradient but not the forward pass', async () => {
  await onBackend('fast');
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const results = [false, true].map((stop) => {
    const m = new Decomposer(tinyModel({ stopCanvasGrad: stop }), 9);
    const { newCtx } = { newCtx: (t: boolean) => ({ training: t, bnMomentum: 0.1, bnUpdates: [] as never[] }) };
    const vars = [...m.store.trainable().values()];
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(m.forward(x, newCtx(false)).canvas, x))) as tf.Scalar, vars);
    const g = grads[m.store.get('enc.conv0.w').name]!.dataSync().slice();
    const v = value.dataSync()[0]!;
    tf.dispose(grads);
    m.dispose();
    return { v, g };
  });
  assert.ok(Math.abs(results[0]!.v - results[1]!.v) < 1e-6);
  let d = 0;
  for (let i = 0; i < results[0]!.g.length; i++) d = Math.max(d, Math.abs(results[0]!.g[i]! - results[1]!.g[i]!));
  assert.ok(d > 1e-7, 'stopping the canvas gradient must change encoder gradients');
  x.dispose();
});

test('--step-loss: the loss adds w × the mean L1 of every step\'s canvas (computed here by hand from the forward pass), and 0 leaves the loss as it was', async () => {
  await onBackend('fast');
  const model = new Decomposer(tinyModel({ T: 3 }), 4);
  const x = tf.tensor4d(deadLeaves({ n: 4, size: 16, seed: 2 }).data, [4, 16, 16, 3]).div(255) as tf.Tensor4D;
  // inference statistics, so the three calls see the same network
  const ctx = () => newCtx(false);
  const { canvas, steps } = model.forward(x, ctx(), true);
  const err = (a: tf.Tensor) => tf.mean(tf.abs(tf.sub(a, x))).dataSync()[0]!;
  const final = err(canvas);
  const perStep = steps.map((s) => err(s.canvas));
  assert.ok(Math.abs(perStep[2]! - final) < 1e-6, 'the last step\'s canvas is the final image');
  assert.ok(perStep[0]! !== perStep[2]!, 'steps differ, so the test can tell a mean from the last step');
  const base = reconstructionLoss(model, x, ctx()).dataSync()[0]!;
  assert.ok(Math.abs(base - final) < 1e-6);
  const w = 0.7;
  const withSteps = reconstructionLoss(model, x, ctx(), { stepLoss: w }).dataSync()[0]!;
  const expected = final + (w * perStep.reduce((a, b) => a + b, 0)) / 3;
  assert.ok(Math.abs(withSteps - expected) < 1e-5, `${withSteps} vs ${expected}`);
  assert.equal(reconstructionLoss(model, x, ctx(), { stepLoss: 0 }).dataSync()[0]!, base);
  model.dispose();
});

test('--coverage-loss: the loss adds w × the mean hinge max(0, floor − coverage) over images and layers (by hand), which is 0 for masks above the floor', async () => {
  await onBackend('fast');
  const model = new Decomposer(tinyModel({ T: 3 }), 4);
  const x = tf.tensor4d(deadLeaves({ n: 4, size: 16, seed: 2 }).data, [4, 16, 16, 3]).div(255) as tf.Tensor4D;
  const ctx = () => newCtx(false);
  const names = maskWeightNames(model.cfg.mask);
  const bias = model.store.get(names[names.length - 1]!);
  const base = reconstructionLoss(model, x, ctx()).dataSync()[0]!;
  assert.equal(reconstructionLoss(model, x, ctx(), { coverageLoss: 5 }).dataSync()[0]!, base, 'masks of a fresh model cover far more than 2 %');
  // the output bias pushed down until the masks cover (almost) nothing: the hinge is active
  bias.assign(tf.fill(bias.shape, -6));
  const { canvas, steps } = model.forward(x, ctx(), true);
  const final = tf.mean(tf.abs(tf.sub(canvas, x))).dataSync()[0]!;
  const cover = steps.flatMap((st) => Array.from(tf.mean(st.mask, [1, 2, 3]).dataSync()));
  assert.ok(cover.every((c) => c < COVERAGE_FLOOR), `coverage ${cover}`);
  const hinge = cover.reduce((a, c) => a + Math.max(0, COVERAGE_FLOOR - c), 0) / cover.length;
  const got = reconstructionLoss(model, x, ctx(), { coverageLoss: 5 }).dataSync()[0]!;
  assert.ok(Math.abs(got - (final + 5 * hinge)) < 1e-6, `${got} vs ${final + 5 * hinge}`);
  model.dispose();
});

