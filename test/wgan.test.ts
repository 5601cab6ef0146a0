import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParamStore } from '../src/core/params.js';
import * as tf from '../src/core/tf.js';
import { groupSize, minibatchStd, PatchCritic } from '../src/research/model/critic.js';
import { gradientPenalty } from '../src/research/train/wgan.js';
import { gradCheck, onBackend } from './support/helpers.js';

test('WGAN-GP penalty equals its definition on a linear critic, value and gradient', async () => {
  await onBackend('fast');
  const store = new ParamStore();
  const w = store.add('w', tf.randomNormal([1, 3, 3, 2], 0, 0.4, 'float32', 1));
  const x = tf.randomUniform([5, 3, 3, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
  const score = (xi: tf.Tensor4D) => tf.sum(tf.mul(xi, w), [1, 2, 3]) as tf.Tensor1D;
  // D(x) = <w, x>: ∇_x D = w for every sample, so GP = (‖w‖ − 1)²
  const n = Math.hypot(...w.dataSync());
  const gp = tf.tidy(() => gradientPenalty(score, x).dataSync()[0]!);
  assert.ok(Math.abs(gp - (n - 1) ** 2) < 1e-5, `${gp} vs ${(n - 1) ** 2}`);
  // d GP / d w = 2 (‖w‖ − 1) w / ‖w‖
  const { grads } = tf.variableGrads(() => gradientPenalty(score, x), [w]);
  const g = grads[w.name]!.dataSync();
  w.dataSync().forEach((wi, i) => assert.ok(Math.abs(g[i]! - (2 * (n - 1) * wi) / n) < 1e-4));
  tf.dispose(grads);
  x.dispose();
  store.dispose();
});

test('gradient penalty of a patch critic: second-order autodiff matches finite differences', async () => {
  await onBackend('cpu');
  const critic = new PatchCritic({ size: 16, width: 4 }, 3);
  assert.equal(critic.layers, 2);
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const f = () => tf.tidy(() => gradientPenalty((xi) => critic.score(xi), x));
  const err = gradCheck(critic.store, critic.store.names('critic.'), f, 1e-3, 6);
  assert.ok(err < 3e-2, `relative error ${err}`);
  assert.equal(new PatchCritic({ size: 32, width: 8 }).layers, 3, '3 convolutions at 32 px');
  assert.equal(new PatchCritic({ size: 128, width: 8 }).layers, 5, '5 convolutions at 128 px');
  x.dispose();
  critic.dispose();
});

test('minibatch standard deviation: its definition on groups of the batch (sample i in group i mod B/G)', async () => {
  await onBackend('fast');
  assert.deepEqual([groupSize(32, 4), groupSize(6, 4), groupSize(7, 4), groupSize(2, 4), groupSize(1, 4)], [4, 3, 1, 2, 1]);
  const [B, H, W, C] = [6, 2, 2, 3];
  const h = tf.randomNormal([B, H, W, C], 0, 1, 'float32', 5) as tf.Tensor4D;
  const v = h.dataSync();
  const s = tf.tidy(() => minibatchStd(h, 4)).arraySync() as number[][][][]; // G = 3, groups {0,2,4} and {1,3,5}
  for (let i = 0; i < B; i++) {
    const mates = [0, 1, 2].map((k) => (i % 2) + 2 * k);
    let sum = 0;
    for (let j = 0; j < H * W * C; j++) {
      const xs = mates.map((m) => v[m * H * W * C + j]!);
      const mean = xs.reduce((a, b) => a + b, 0) / 3;
      sum += Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 3 + 1e-8);
    }
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.ok(Math.abs(s[i]![y]![x]![0]! - sum / (H * W * C)) < 1e-5, `sample ${i}`);
  }
  const same = tf.tidy(() => minibatchStd(tf.tile(h.slice([0], [1]), [4, 1, 1, 1]) as tf.Tensor4D, 4).max().dataSync()[0]!);
  assert.ok(same < 1e-3, `a batch of one image repeated has no spread (${same})`);
  h.dispose();
});

test('a critic with minibatch-sd: one more input channel at its last convolution, a score that depends on the group, and a gradient penalty whose second-order autodiff matches finite differences', async () => {
  await onBackend('cpu');
  const plain = new PatchCritic({ size: 16, width: 4 }, 3);
  const critic = new PatchCritic({ size: 16, width: 4, mbstd: 2 }, 3);
  assert.deepEqual(critic.store.get('critic.c1.w').shape, [3, 3, 5, 1]);
  assert.deepEqual(plain.store.get('critic.c1.w').shape, [3, 3, 4, 1]);
  const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  // sample 0's group mate is sample 2: changing it moves sample 0's score under minibatch-sd only
  const y = tf.concat([x.slice([0], [2]), tf.zerosLike(x.slice([2], [1])), x.slice([3], [1])]) as tf.Tensor4D;
  const first = (c: PatchCritic, b: tf.Tensor4D) => tf.tidy(() => c.score(b).dataSync()[0]!);
  assert.ok(Math.abs(first(critic, x) - first(critic, y)) > 1e-6, 'the group mate changes the score');
  assert.equal(first(plain, x), first(plain, y), 'without minibatch-sd a sample is scored alone');
  // the penalty on one group of 2 (on 4, finite differences step over LeakyReLU's kinks: errors ~0.1 with or without minibatch-sd)
  const pair = x.slice([0], [2]) as tf.Tensor4D;
  const f = () => tf.tidy(() => gradientPenalty((xi) => critic.score(xi), pair));
  const err = gradCheck(critic.store, critic.store.names('critic.'), f, 1e-3, 6);
  assert.ok(err < 3e-2, `relative error ${err}`);
  assert.throws(() => new PatchCritic({ size: 16, width: 4, mbstd: 1.5 }), /minibatch-sd group size must be an integer in \[0, 1024\], got 1\.5/);
  tf.dispose([x, y, pair]);
  critic.dispose();
  plain.dispose();
});
