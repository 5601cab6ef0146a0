import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastSquaresBlend } from '../src/core/blend.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { spdSolve } from '../src/core/solve.js';
import * as tf from '../src/core/tf.js';
import { layerWeights } from '../src/model/refine.js';
import { gradCheck, onBackend } from './helpers.js';

const rand = (n: number, seed: number, lo = 0, hi = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
};

test('spdSolve: A X = B per batch item; gradients in A and B equal finite differences', async () => {
  await onBackend('cpu');
  const n = 4, m = 3, bt = 2;
  // A = Mᵀ M + I (symmetric positive definite)
  const M = tf.tensor3d(rand(bt * n * n, 1, -1, 1), [bt, n, n]);
  const A0 = tf.matMul(M, M, true, false).add(tf.eye(n).expandDims(0)) as tf.Tensor3D;
  const store = new ParamStore();
  store.add('A', A0);
  store.add('B', tf.tensor3d(rand(bt * n * m, 2, -1, 1), [bt, n, m]));
  store.add('w', tf.tensor3d(rand(bt * n * m, 3, -1, 1), [bt, n, m]), false);
  const X = spdSolve(store.get('A') as tf.Tensor3D, store.get('B') as tf.Tensor3D);
  const residual = tf.matMul(store.get('A') as tf.Tensor3D, X).sub(store.get('B')).abs().max().dataSync()[0]!;
  assert.ok(residual < 1e-5, `residual ${residual}`);
  // a loss whose gradient reaches every entry of X: Σ w ⊙ X²
  const err = gradCheck(store, ['A', 'B'], () => tf.sum(spdSolve(store.get('A') as tf.Tensor3D, store.get('B') as tf.Tensor3D).square().mul(store.get('w'))), 1e-3, 32);
  assert.ok(err < 2e-3, `relative gradient error ${err}`);
  assert.throws(() => spdSolve(A0, tf.zeros([bt, n + 1, m]) as tf.Tensor3D), /do not match/);
});

test('leastSquaresBlend: the colours solve the normal equations, beat every perturbed colour set, and the loss gradient in the masks equals finite differences', async () => {
  await onBackend('cpu');
  const B = 2, P = 36, T = 4;
  const masks = rand(B * P * T, 4, 0.05, 0.95);
  const target = rand(B * P * 3, 5);
  const mt = tf.tensor3d(masks, [B, P, T]);
  const yt = tf.tensor3d(target, [B, P, 3]);
  const { image, colours } = leastSquaresBlend(mt, yt, 0);
  const C = colours.dataSync();
  const img = image.dataSync();
  for (let b = 0; b < B; b++) {
    // normal equations from the plain-array weights of src/model/refine.ts (w_t = M_t Π_{s>t}(1 − M_s))
    const perLayer = Array.from({ length: T }, (_, t) => Float32Array.from({ length: P }, (_, i) => masks[b * P * T + i * T + t]!));
    const w = layerWeights(perLayer);
    const y = target.subarray(b * P * 3, (b + 1) * P * 3);
    for (let a = 0; a < T; a++) {
      for (let k = 0; k < 3; k++) {
        // (WᵀW c)_a = (Wᵀy)_a
        let lhs = 0, rhs = 0;
        for (let i = 0; i < P; i++) {
          let pred = 0;
          for (let t = 0; t < T; t++) pred += w[t]![i]! * C[b * T * 3 + t * 3 + k]!;
          lhs += w[a]![i]! * pred;
          rhs += w[a]![i]! * y[i * 3 + k]!;
        }
        assert.ok(Math.abs(lhs - rhs) < 1e-3 * Math.max(1, Math.abs(rhs)), `normal equation b${b} a${a} k${k}: ${lhs} vs ${rhs}`);
      }
    }
    const sse = (cols: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < P; i++) for (let k = 0; k < 3; k++) {
        let pred = 0;
        for (let t = 0; t < T; t++) pred += w[t]![i]! * cols[t * 3 + k]!;
        s += (pred - y[i * 3 + k]!) ** 2;
      }
      return s;
    };
    const best = sse(C.subarray(b * T * 3, (b + 1) * T * 3));
    // the image is the blend with those colours
    let maxDiff = 0;
    for (let i = 0; i < P; i++) for (let k = 0; k < 3; k++) {
      let pred = 0;
      for (let t = 0; t < T; t++) pred += w[t]![i]! * C[b * T * 3 + t * 3 + k]!;
      maxDiff = Math.max(maxDiff, Math.abs(pred - img[b * P * 3 + i * 3 + k]!));
    }
    assert.ok(maxDiff < 1e-5, `image vs blend ${maxDiff}`);
    const rng = mulberry32(6 + b);
    for (let trial = 0; trial < 20; trial++) {
      const c = Float32Array.from(C.subarray(b * T * 3, (b + 1) * T * 3), (v) => v + 0.05 * (rng() - 0.5));
      assert.ok(sse(c) > best, `perturbed colours ${sse(c)} ≤ least squares ${best}`);
    }
  }
  // gradient of the L1 loss through the solve, in the masks
  const store = new ParamStore();
  store.add('m', mt);
  const err = gradCheck(store, ['m'], () => tf.mean(leastSquaresBlend(store.get('m') as tf.Tensor3D, yt).image.sub(yt).square()), 1e-3, 24);
  assert.ok(err < 5e-3, `relative gradient error ${err}`);
});
