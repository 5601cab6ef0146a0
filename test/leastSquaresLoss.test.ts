import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastSquaresBlend } from '../src/core/blend.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { boxLeastSquares, boxSolve, choleskySolve } from '../src/core/solve.js';
import * as tf from '../src/core/tf.js';
import { layerWeights } from '../src/core/stack.js';
import { gradCheck, onBackend } from './support/helpers.js';

const rand = (n: number, seed: number, lo = 0, hi = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
};

/** A = Mᵀ M + I per item (symmetric positive definite), B random */
function problem(bt: number, n: number, m: number, seed: number, bScale: number) {
  const M = tf.tensor3d(rand(bt * n * n, seed, -1, 1), [bt, n, n]);
  const A = tf.matMul(M, M, true, false).add(tf.eye(n).expandDims(0)) as tf.Tensor3D;
  return { A, B: tf.tensor3d(rand(bt * n * m, seed + 1, -bScale, bScale), [bt, n, m]) };
}

test('boxSolve: the normal-equation solution when it lies inside [0, 1]; otherwise the box optimum (KKT); gradients equal finite differences', async () => {
  await onBackend('cpu');
  const n = 4, m = 3, bt = 2;
  // inside the box: B = A X* with X* in (0.2, 0.8)
  const { A } = problem(bt, n, m, 1, 1);
  const Xin = tf.tensor3d(rand(bt * n * m, 9, 0.2, 0.8), [bt, n, m]);
  const got = boxSolve(A, tf.matMul(A, Xin));
  assert.ok(got.sub(Xin).abs().max().dataSync()[0]! < 1e-5, 'inside the box it is A⁻¹B');
  // in general (B large: many entries clamped) the KKT conditions of min ½cᵀAc − bᵀc on [0, 1]
  const p = problem(bt, n, m, 3, 6);
  const C = boxSolve(p.A, p.B).dataSync();
  const grad = tf.matMul(p.A, tf.tensor3d(C, [bt, n, m])).sub(p.B).dataSync(); // ∇ = A c − b
  let clamped = 0;
  C.forEach((c, i) => {
    const g = grad[i]!;
    if (c <= 1e-7) (clamped++, assert.ok(g >= -1e-4, `at 0 the gradient must be ≥ 0, got ${g}`));
    else if (c >= 1 - 1e-7) (clamped++, assert.ok(g <= 1e-4, `at 1 the gradient must be ≤ 0, got ${g}`));
    else assert.ok(Math.abs(g) < 1e-4, `inside, the gradient must vanish, got ${g}`);
  });
  assert.ok(clamped > 2 && clamped < C.length - 2, `a mix of free and clamped entries (${clamped}/${C.length} clamped)`);
  // gradients in A and B at that point (the active set is locally constant)
  const store = new ParamStore();
  store.add('A', p.A);
  store.add('B', p.B);
  store.add('w', tf.tensor3d(rand(bt * n * m, 5, -1, 1), [bt, n, m]), false);
  const err = gradCheck(store, ['A', 'B'], () => tf.sum(boxSolve(store.get('A') as tf.Tensor3D, store.get('B') as tf.Tensor3D).mul(store.get('w'))), 1e-3, 32);
  assert.ok(err < 5e-3, `relative gradient error ${err}`);
  assert.throws(() => boxSolve(A, tf.zeros([bt, n + 1, m]) as tf.Tensor3D), /do not match/);
  // the Cholesky solve itself
  const a = Float64Array.from([4, 2, 2, 3]);
  assert.deepEqual(Array.from(choleskySolve(a, Float64Array.from([8, 7]), 2, 1), (v) => +v.toFixed(9)), [1.25, 1.5]);
});

test('leastSquaresBlend: colours in [0, 1] that beat every perturbed feasible colour set, the image is their blend, and the loss gradient in the masks equals finite differences', async () => {
  await onBackend('cpu');
  const B = 2, P = 36, T = 4;
  const masks = rand(B * P * T, 4, 0.05, 0.95);
  const target = rand(B * P * 3, 5);
  const mt = tf.tensor3d(masks, [B, P, T]);
  const yt = tf.tensor3d(target, [B, P, 3]);
  const { image, colours } = leastSquaresBlend(mt, yt, 1e-9);
  const C = colours.dataSync();
  const img = image.dataSync();
  assert.ok(C.every((v) => v >= 0 && v <= 1));
  for (let b = 0; b < B; b++) {
    // weights from the plain-array definition of src/core/stack.ts (w_t = M_t Π_{s>t}(1 − M_s))
    const w = layerWeights(Array.from({ length: T }, (_, t) => Float32Array.from({ length: P }, (_, i) => masks[b * P * T + i * T + t]!)));
    const y = target.subarray(b * P * 3, (b + 1) * P * 3);
    const blend = (cols: ArrayLike<number>, i: number, k: number) => {
      let pred = 0;
      for (let t = 0; t < T; t++) pred += w[t]![i]! * cols[t * 3 + k]!;
      return pred;
    };
    const sse = (cols: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < P; i++) for (let k = 0; k < 3; k++) s += (blend(cols, i, k) - y[i * 3 + k]!) ** 2;
      return s;
    };
    const mine = C.subarray(b * T * 3, (b + 1) * T * 3);
    let maxDiff = 0;
    for (let i = 0; i < P; i++) for (let k = 0; k < 3; k++) maxDiff = Math.max(maxDiff, Math.abs(blend(mine, i, k) - img[b * P * 3 + i * 3 + k]!));
    assert.ok(maxDiff < 1e-5, `image vs blend of the colours: ${maxDiff}`);
    const best = sse(mine);
    const rng = mulberry32(6 + b);
    for (let trial = 0; trial < 30; trial++) {
      const c = Float32Array.from(mine, (v) => Math.min(1, Math.max(0, v + 0.1 * (rng() - 0.5))));
      assert.ok(sse(c) >= best - 1e-6, `perturbed colours ${sse(c)} < least squares ${best}`);
    }
  }
  const store = new ParamStore();
  store.add('m', mt);
  const err = gradCheck(store, ['m'], () => tf.mean(leastSquaresBlend(store.get('m') as tf.Tensor3D, yt, 1e-9).image.sub(yt).abs()), 1e-3, 24);
  assert.ok(err < 5e-3, `relative gradient error ${err}`);
});

test('boxLeastSquares: a Gram matrix made indefinite by rounding gives colours in [0, 1] that minimise the error, not NaN (the starting solve overflows there)', () => {
  // pivot 2 is −1e-10 (floored to 1e-300), so L32 ≈ 1e140 and the forward substitution overflows
  const e = 1e-10;
  const A = Float64Array.from([1, 1, 1, 1, 1 - e, 1 + e, 1, 1 + e, 1]);
  const B = Float64Array.from([0.3, 0.5, 0.2, 0.6, 0.4, 0.1, 0.9, 0.2, 0.3]);
  assert.ok(Array.from(choleskySolve(A, B, 3, 3)).some((v) => !Number.isFinite(v)), 'the case still overflows the plain solve');
  const C = boxLeastSquares(A, B, 3, 3, 0);
  assert.ok(C.every((v) => v >= 0 && v <= 1), `colours ${Array.from(C)}`);
  // the quadratic ½cᵀAc − bᵀc per channel: no feasible point on a grid beats the solution
  const f = (c: number[], k: number) => 0.5 * c.reduce((s, ci, i) => s + ci * c.reduce((t, cj, j) => t + A[i * 3 + j]! * cj, 0), 0) - c.reduce((s, ci, i) => s + ci * B[i * 3 + k]!, 0);
  for (let k = 0; k < 3; k++) {
    const got = f([C[k]!, C[3 + k]!, C[6 + k]!], k);
    for (let a = 0; a <= 10; a++) for (let b = 0; b <= 10; b++) for (let c = 0; c <= 10; c++) assert.ok(got <= f([a / 10, b / 10, c / 10], k) + 1e-6, `channel ${k}: (${a / 10}, ${b / 10}, ${c / 10}) beats the solution`);
  }
});
