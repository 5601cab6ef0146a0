import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParamStore } from '../src/core/params.js';
import * as tf from '../src/core/tf.js';
import { PatchCritic } from '../src/research/model/critic.js';
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
