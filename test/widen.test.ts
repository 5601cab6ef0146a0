import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelConfig } from '../src/config.js';
import * as tf from '../src/core/tf.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { batchTensor } from '../src/data/imageSet.js';
import { Decomposer } from '../src/model/decomposer.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { newCtx } from '../src/model/nn.js';
import { widenModel, widenProblem } from '../src/research/model/widen.js';
import { calibrateBatchNorm } from '../src/research/train/calibrate.js';
import { onBackend } from './support/helpers.js';

const cfg = (smallChannels: number[], T = 4) => modelConfig({ encoder: 'small', smallChannels, T, size: 16, mask: { K: 5 } });
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

/** a model with channels 8,16,16 and non-trivial BatchNorm statistics and affine parameters, per-step statistics too */
function sourceModel(set: ReturnType<typeof deadLeaves>, seed: number): Decomposer {
  const src = new Decomposer(cfg([8, 16, 16]), seed);
  for (const name of src.store.names('enc.bn')) {
    const v = src.store.get(name);
    v.assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', name.length));
  }
  calibrateBatchNorm(src, set, 1, 4);
  return src;
}

test('a widened small encoder paints the same layers (inference and batch statistics), and its copies learn apart', async () => {
  await onBackend('fast');
  const set = deadLeaves({ n: 8, size: 16, seed: 3 });
  const src = sourceModel(set, 5);
  const wide = widenModel(src, cfg([12, 32, 20]), 9);
  assert.deepEqual(wide.cfg.smallChannels, [12, 32, 20]);
  assert.equal(wide.store.get('enc.conv1.w').shape.join(','), '3,3,12,32');
  assert.equal(wide.store.get('enc.bn2.stepMean').shape.join(','), `${src.cfg.T},20`);
  // one image through decompose (the fused native forward), with the encoder's colours
  const rgb = set.data.subarray(0, 16 * 16 * 3);
  const a = decomposeImage(src, rgb, { layers: 4, leastSquares: false });
  const b = decomposeImage(wide, rgb, { layers: 4, leastSquares: false });
  assert.ok(maxDiff(a.canvas, b.canvas) < 1e-4, `canvas differs by ${maxDiff(a.canvas, b.canvas)}`);
  a.doc.layers.forEach((l, t) => assert.ok(maxDiff(l.p, b.doc.layers[t]!.p) < 1e-4, `p of layer ${t}`));
  // a batch in training mode (batch statistics), through the tfjs forward
  const x = batchTensor(set, [0, 1, 2, 3]);
  const ya = tf.tidy(() => src.forward(x, newCtx(true)).canvas.dataSync());
  const yb = tf.tidy(() => wide.forward(x, newCtx(true)).canvas.dataSync());
  assert.ok(maxDiff(ya, yb) < 1e-4, `training-mode canvas differs by ${maxDiff(ya, yb)}`);
  // a copied channel and its source get different gradients (unequal shares of the next layer)
  const w = wide.store.get('enc.conv0.w');
  const grads = tf.tidy(() => tf.variableGrads(() => tf.sum(tf.abs(tf.sub(wide.forward(x, newCtx(true)).canvas, x))) as tf.Scalar, [w]).grads[w.name]!.dataSync());
  const col = (j: number) => Array.from({ length: 3 * 3 * 6 }, (_, r) => grads[r * 12 + j]!);
  const copies = Array.from({ length: 4 }, (_, k) => 8 + k);
  assert.ok(copies.every((j) => col(j).some((v) => v !== 0)), 'copies take part in training');
  const source = (j: number) => {
    const wc = wide.store.get('enc.conv0.w').dataSync();
    return Array.from({ length: 8 }, (_, s) => s).find((s) => Array.from({ length: 54 }, (_, r) => wc[r * 12 + j]! === wc[r * 12 + s]!).every(Boolean))!;
  };
  for (const j of copies) assert.ok(maxDiff(col(j), col(source(j))) > 1e-7, `copy ${j} gets its source's gradient`);
  src.dispose();
  wide.dispose();
  tf.dispose(x);
});

test("growing the pooling from 'mean' to 'flatten' (and widening at once, or widening a flattened model) paints the same layers; the heads then tell positions apart", async () => {
  await onBackend('fast');
  const set = deadLeaves({ n: 8, size: 16, seed: 4 });
  const src = sourceModel(set, 6);
  const flat = (c: number[]) => ({ ...cfg(c), smallPool: 'flatten' as const });
  const rgb = set.data.subarray(0, 16 * 16 * 3);
  const x = batchTensor(set, [0, 1, 2, 3]);
  const a = decomposeImage(src, rgb, { layers: 4, leastSquares: false });
  const ya = tf.tidy(() => src.forward(x, newCtx(true)).canvas.dataSync());
  const same = (m: Decomposer, what: string) => {
    const b = decomposeImage(m, rgb, { layers: 4, leastSquares: false });
    assert.ok(maxDiff(a.canvas, b.canvas) < 1e-4, `${what}: canvas differs by ${maxDiff(a.canvas, b.canvas)}`);
    a.doc.layers.forEach((l, t) => assert.ok(maxDiff(l.p, b.doc.layers[t]!.p) < 1e-4, `${what}: p of layer ${t}`));
    const yb = tf.tidy(() => m.forward(x, newCtx(true)).canvas.dataSync());
    assert.ok(maxDiff(ya, yb) < 1e-4, `${what}: training-mode canvas differs by ${maxDiff(ya, yb)}`);
  };
  // 16² → 8 → 4 → 2: four positions of 16 channels
  const f1 = widenModel(src, flat([8, 16, 16]), 3);
  assert.equal(f1.store.get('head.p.w').shape.join(','), '64,5');
  same(f1, 'flattened');
  const f2 = widenModel(src, flat([8, 24, 20]), 3);
  assert.equal(f2.store.get('head.p.w').shape.join(','), '80,5');
  same(f2, 'flattened and widened');
  const f3 = widenModel(f1, flat([12, 16, 24]), 5);
  assert.equal(f3.store.get('head.c.w').shape.join(','), '96,3');
  same(f3, 'a flattened model widened');
  // the flattened heads get a different gradient at each position: they can learn where
  const w = f1.store.get('head.p.w');
  const g = tf.tidy(() => tf.variableGrads(() => tf.sum(tf.abs(tf.sub(f1.forward(x, newCtx(true)).canvas, x))) as tf.Scalar, [w]).grads[w.name]!.dataSync());
  const block = (q: number) => Array.from(g.subarray(q * 16 * 5, (q + 1) * 16 * 5));
  assert.ok(maxDiff(block(0), block(3)) > 1e-7, 'positions 0 and 3 get the same gradient');
  assert.match(widenProblem(flat([8, 16, 16]), cfg([8, 16, 16])), /'flatten' pooling cannot go back to 'mean'/);
  for (const m of [src, f1, f2, f3]) m.dispose();
  tf.dispose(x);
});

test('widening refuses what it cannot keep equal', () => {
  assert.match(widenProblem(cfg([8, 16]), cfg([8, 8])), /layer 1 would shrink from 16 to 8/);
  assert.match(widenProblem(cfg([8, 16]), cfg([8, 16, 16])), /2 layers in the model file and 3/);
  assert.match(widenProblem(cfg([8, 16]), modelConfig({ encoder: 'resnet18', T: 4, size: 16 })), /only the small encoder/);
  assert.equal(widenProblem(cfg([8, 16]), cfg([8, 24])), '');
});
