/**
 * Small symmetric positive definite solves, A X = B, by Cholesky: the least-squares colours of a
 * layer stack (the image is linear in the colours, I = Σ_t c_t w_t, so the best colours for given
 * masks solve the T×T normal equations (WᵀW) C = Wᵀ y).
 *
 * `spdSolve` is the batched, differentiable version used inside the training loss: the systems are
 * T×T (T ≈ 10), so they are solved on the CPU in float64 whatever the backend, and the gradient is
 * the textbook one for X = A⁻¹ B, with A read as its symmetric part (A + Aᵀ)/2 so the function
 * and its gradient agree whichever triangle a caller perturbs:
 *   dB = A⁻¹ dX,    dA = −(dB Xᵀ + X dBᵀ) / 2
 * (tfjs has no linear solve op; test/spdSolve.test.ts holds the gradient to finite differences).
 */
import * as tf from './tf.js';

/** solve A X = B for symmetric positive definite A [n×n] and B [n×m] (row-major) */
export function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) L[i * n + i] = Math.sqrt(Math.max(s, 1e-300));
      else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  const X = new Float64Array(n * m);
  for (let c = 0; c < m; c++) {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = B[i * m + c]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
      y[i] = s / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * X[k * m + c]!;
      X[i * m + c] = s / L[i * n + i]!;
    }
  }
  return X;
}

/** A [Bt, n, n] symmetric positive definite, B [Bt, n, m] -> X [Bt, n, m] with A X = B, differentiable in A and B */
export function spdSolve(A: tf.Tensor3D, B: tf.Tensor3D): tf.Tensor3D {
  const [bt, n, n2] = A.shape;
  const [bb, nb] = B.shape;
  if (n !== n2 || bb !== bt || nb !== n) throw new Error(`spdSolve: A [${A.shape}] and B [${B.shape}] do not match`);
  return spdSolveOp(A, B) as tf.Tensor3D;
}

function solveBatch(A: Float32Array | Float64Array, B: Float32Array | Float64Array, bt: number, n: number, m: number): Float32Array {
  const out = new Float32Array(bt * n * m);
  for (let b = 0; b < bt; b++) {
    const a = Float64Array.from(A.subarray(b * n * n, (b + 1) * n * n));
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = (a[i * n + j]! + a[j * n + i]!) / 2;
    const X = choleskySolve(a, Float64Array.from(B.subarray(b * n * m, (b + 1) * n * m)), n, m);
    out.set(X, b * n * m);
  }
  return out;
}

const spdSolveOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const A = args[0] as tf.Tensor3D;
  const B = args[1] as tf.Tensor3D;
  const save = args[2] as tf.GradSaveFunc;
  const [bt, n] = A.shape;
  const m = B.shape[2];
  const a = A.dataSync() as Float32Array;
  const X = tf.tensor3d(solveBatch(a, B.dataSync() as Float32Array, bt, n, m), [bt, n, m]);
  save([A, X]);
  return {
    value: X,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [As, Xs] = saved as [tf.Tensor3D, tf.Tensor3D];
      const dB = tf.tensor3d(solveBatch(As.dataSync() as Float32Array, (dy as tf.Tensor).dataSync() as Float32Array, bt, n, m), [bt, n, m]);
      const outer = tf.matMul(dB, Xs, false, true);
      const dA = tf.neg(outer.add(outer.transpose([0, 2, 1]))).div(2);
      return [dA, dB];
    },
  };
});
