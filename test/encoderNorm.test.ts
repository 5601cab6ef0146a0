import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { modelConfig } from '../src/config.js';
import * as tf from '../src/core/tf.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { batchTensor, range } from '../src/data/imageSet.js';
import { evaluate } from '../src/research/eval/reconstruct.js';
import { loadModel, saveCheckpoint } from '../src/model/checkpoint.js';
import { Decomposer } from '../src/model/decomposer.js';
import { addBn, bn, newCtx } from '../src/model/nn.js';
import { gradCheck, onBackend, tmp } from './support/helpers.js';

test('encoder GroupNorm: each image\'s channel groups normalised over (H, W, C/G), no running state, same in training and inference', async () => {
  await onBackend('cpu');
  const store = new ParamStore();
  addBn(store, 'n', 16, 'group');
  assert.ok(!store.has('n.runMean'), 'GroupNorm keeps no running statistics');
  const rng = mulberry32(3);
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 5 * 3 * 16 }, () => rng() * 4 - 1), [2, 5, 3, 16]);
  store.get('n.gamma').assign(tf.linspace(0.5, 2, 16));
  store.get('n.beta').assign(tf.linspace(-1, 1, 16));
  const yTrain = bn(store, 'n', x, newCtx(true));
  const yEval = bn(store, 'n', x, newCtx(false));
  assert.ok(tf.max(tf.abs(yTrain.sub(yEval))).dataSync()[0]! === 0);
  // independent computation for image 1, group 3 (channels 6, 7)
  const xs = x.arraySync() as number[][][][];
  const vals: number[] = [];
  for (let h = 0; h < 5; h++) for (let w = 0; w < 3; w++) for (const c of [6, 7]) vals.push(xs[1]![h]![w]![c]!);
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  const v = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
  const ys = yTrain.arraySync() as number[][][][];
  const g = store.get('n.gamma').dataSync();
  const b = store.get('n.beta').dataSync();
  const expect = ((xs[1]![2]![1]![7]! - mean) / Math.sqrt(v + 1e-5)) * g[7]! + b[7]!;
  assert.ok(Math.abs(ys[1]![2]![1]![7]! - expect) < 1e-4, `${ys[1]![2]![1]![7]} vs ${expect}`);
  // the other image does not change image 1's output
  const x2 = tf.concat([x.slice([0, 0, 0, 0], [1, 5, 3, 16]).mul(7), x.slice([1, 0, 0, 0], [1, 5, 3, 16])]);
  const y2 = bn(store, 'n', x2 as tf.Tensor4D, newCtx(true));
  assert.ok(tf.max(tf.abs(y2.slice([1, 0, 0, 0], [1, 5, 3, 16]).sub(yTrain.slice([1, 0, 0, 0], [1, 5, 3, 16])))).dataSync()[0]! < 1e-5);
  const err = gradCheck(store, ['n.gamma', 'n.beta'], () => tf.sum(tf.square(bn(store, 'n', x, newCtx(true)))) as tf.Scalar);
  assert.ok(err < 2e-2, `gradient error ${err}`);
  store.dispose();
});

test('a model with a GroupNorm encoder round-trips through a checkpoint and needs no BatchNorm calibration', async () => {
  await onBackend('fast');
  const cfg = modelConfig({ encoder: 'small', smallChannels: [16, 32, 32, 32], T: 3, size: 16, encoderNorm: 'group' });
  const m = new Decomposer(cfg, 2);
  const set = deadLeaves({ n: 8, size: 16, seed: 2 });
  const r = evaluate(m, set);
  assert.ok(Math.abs(r.psnr - r.psnrBatchStats) < 1e-4, 'inference and training mode agree');
  const file = join(tmp(), 'gn.stratum');
  saveCheckpoint(file, m, { weightsOnly: true });
  const { model } = loadModel(file);
  assert.equal(model.cfg.encoderNorm, 'group');
  const x = batchTensor(set, range(0, 8));
  const a = m.forward(x, newCtx(false)).canvas;
  const b2 = model.forward(x, newCtx(false)).canvas;
  assert.ok(tf.max(tf.abs(a.sub(b2))).dataSync()[0]! < 1e-6);
  m.dispose();
  model.dispose();
});
