import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelConfig } from '../src/config.js';
import { layerLoop, layerStep } from '../src/core/layerLoop.js';
import * as tf from '../src/core/tf.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { batchTensor } from '../src/data/imageSet.js';
import { Decomposer } from '../src/model/decomposer.js';
import { newCtx } from '../src/model/nn.js';
import { calibrateBatchNorm } from '../src/research/train/calibrate.js';
import { onBackend } from './support/helpers.js';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

test('layer loop: I_t = I_{t-1}(1 - M_t) + c_t M_t from a black canvas, step by step', async () => {
  await onBackend('fast');
  const ps = [tf.tensor2d([[0.2]]), tf.tensor2d([[0.9]])];
  const cs = [tf.tensor2d([[1, 0, 0]]), tf.tensor2d([[0, 0, 1]])];
  // a "mask network" that paints the left half with strength p
  const half = tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1]);
  const { canvas, steps } = layerLoop(tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, 2, (_c, t) => ({ p: ps[t]!, c: cs[t]! }), (p) => half.mul(p.reshape([1, 1, 1, 1])) as tf.Tensor4D, true);
  // left pixels: red 0.2, then blue 0.9 on top: (0.2·0.1, 0, 0.9); right pixels stay black
  assert.deepEqual(Array.from(canvas.dataSync(), (v) => Math.round(v * 1e6) / 1e6), [0.02, 0, 0.9, 0, 0, 0, 0.02, 0, 0.9, 0, 0, 0]);
  assert.equal(steps.length, 2);
  assert.ok(maxDiff(steps[0]!.canvas, tf.tensor4d([0.2, 0, 0, 0, 0, 0, 0.2, 0, 0, 0, 0, 0], [1, 2, 2, 3])) < 1e-7);
});

test('the decomposer continued from step k of its own canvas (the editor\'s re-run) equals one uninterrupted run', async () => {
  await onBackend('fast');
  const set = deadLeaves({ n: 8, size: 16, seed: 5 });
  const m = new Decomposer(modelConfig({ encoder: 'small', smallChannels: [8, 16, 16, 16], T: 5, size: 16 }), 2);
  // per-step BatchNorm statistics, so a step run with the wrong t would give another layer
  calibrateBatchNorm(m, set, 2, 4);
  tf.tidy(() => {
    const x = batchTensor(set, [0, 1, 2]);
    const full = m.forward(x, newCtx(false), true);
    const predict = m.predictor(x, newCtx(false));
    let canvas = full.steps[1]!.canvas;
    for (let t = 2; t < 5; t++) canvas = layerStep(canvas, t, predict, (p) => m.masks(p)).canvas;
    assert.ok(maxDiff(canvas, full.canvas) < 1e-6, `continued run differs by ${maxDiff(canvas, full.canvas)}`);
    let wrong = full.steps[1]!.canvas;
    for (let t = 2; t < 5; t++) wrong = layerStep(wrong, 0, predict, (p) => m.masks(p)).canvas;
    assert.ok(maxDiff(wrong, full.canvas) > 1e-4, 'step t must use step t\'s statistics');
  });
  m.dispose();
});
