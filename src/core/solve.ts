/**
 * The least-squares colours of a layer stack. The image is linear in the colours,
 * I = Σ_t c_t w_t, so the best colours for given masks minimise ‖W C − y‖² over C in the box
 * [0, 1] (colours a document can hold): with A = WᵀW (T×T) and B = Wᵀy (T×3) a small convex
 * quadratic program, solved by Cholesky on the normal equations A C = B, clamped, then projected
 * coordinate descent (exact when the unconstrained solution lies inside the box).
 *
 * `boxSolve` is the batched, differentiable version inside the training loss (T ≈ 10: solved on
 * the CPU in float64 whatever the backend). Its gradient comes from the solution's free set F
 * (entries strictly inside the box; the clamped ones do not move under a small change of A, B):
 * C_F = A_FF⁻¹ (B_F − A_FĀ C_Ā), so with u = A_FF⁻¹ dC_F per colour channel
 *   dB_F = u,   dB_Ā = 0,   dA_F· = −u Cᵀ
 * and A is read as its symmetric part (A + Aᵀ)/2, so dA is symmetrised too.
 * (tfjs has no linear solve op; test/leastSquaresLoss.test.ts holds the gradient to finite differences.)
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

/**
 * min ‖W C − y‖² over C in [0, 1]^{n×m}, given A = WᵀW [n×n] and B = Wᵀy [n×m] (row-major).
 * `ridge` is added to A's diagonal for the starting solve only; a row whose A_tt ≤ ridge (a layer
 * covering nothing) keeps `start` (or 0). Returns C [n×m].
 */
export function boxLeastSquares(A: Float64Array, B: Float64Array, n: number, m: number, ridge: number, start?: (t: number, k: number) => number): Float64Array {
  const Ar = A.slice();
  for (let a = 0; a < n; a++) Ar[a * n + a] = Ar[a * n + a]! + ridge;
  const X = choleskySolve(Ar, B, n, m);
  const C = new Float64Array(n * m);
  for (let t = 0; t < n; t++) {
    const empty = A[t * n + t]! <= ridge;
    // a Gram matrix made indefinite by rounding can overflow the starting solve to NaN: start that
    // colour at 0 (as the native loop's std::max(0.0, NaN) does); the descent below still finds it
    for (let k = 0; k < m; k++) C[t * m + k] = empty ? (start?.(t, k) ?? 0) : Math.min(1, Math.max(0, X[t * m + k]! || 0));
  }
  // projected coordinate descent: c_t ← clamp(c_t + (B_t − Σ_s A_ts c_s) / A_tt)
  for (let sweep = 0; sweep < 50; sweep++) {
    let moved = 0;
    for (let t = 0; t < n; t++) {
      const d = A[t * n + t]!;
      if (d <= ridge) continue;
      for (let k = 0; k < m; k++) {
        let r = B[t * m + k]!;
        for (let s2 = 0; s2 < n; s2++) r -= A[t * n + s2]! * C[s2 * m + k]!;
        const next = Math.min(1, Math.max(0, C[t * m + k]! + r / d));
        moved = Math.max(moved, Math.abs(next - C[t * m + k]!));
        C[t * m + k] = next;
      }
    }
    if (moved < 1e-9) break;
  }
  return C;
}

/**
 * A [Bt, n, n] (read as its symmetric part) and B [Bt, n, m] -> C [Bt, n, m] = boxLeastSquares per
 * item, differentiable in A and B; `ridge` is relative to A's mean diagonal (starting solve, empty
 * layers, and the gradient's solve)
 */
export function boxSolve(A: tf.Tensor3D, B: tf.Tensor3D, ridge = 1e-9): tf.Tensor3D {
  const [bt, n, n2] = A.shape;
  const [bb, nb] = B.shape;
  if (n !== n2 || bb !== bt || nb !== n) throw new Error(`boxSolve: A [${A.shape}] and B [${B.shape}] do not match`);
  return boxSolveOp(A, B, tf.scalar(ridge)) as tf.Tensor3D;
}

/** item b of a batch of n×n matrices, symmetrised, in float64 */
function symmetricItem(A: ArrayLike<number>, b: number, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (A[b * n * n + i * n + j]! + A[b * n * n + j * n + i]!) / 2;
  return a;
}

const boxSolveOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const A = args[0] as tf.Tensor3D;
  const B = args[1] as tf.Tensor3D;
  const ridge = (args[2] as tf.Scalar).dataSync()[0]!;
  const save = args[3] as tf.GradSaveFunc;
  const [bt, n] = A.shape;
  const m = B.shape[2];
  const a = A.dataSync();
  const bd = B.dataSync();
  const out = new Float32Array(bt * n * m);
  for (let b = 0; b < bt; b++) {
    const Ab = symmetricItem(a, b, n);
    out.set(boxLeastSquares(Ab, Float64Array.from(bd.subarray(b * n * m, (b + 1) * n * m)), n, m, ridgeOf(Ab, n, ridge)), b * n * m);
  }
  const C = tf.tensor3d(out, [bt, n, m]);
  save([A, C]);
  return {
    value: C,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [As, Cs] = saved as [tf.Tensor3D, tf.Tensor3D];
      const aa = As.dataSync();
      const cc = Cs.dataSync();
      const dc = (dy as tf.Tensor).dataSync();
      const dA = new Float32Array(bt * n * n);
      const dB = new Float32Array(bt * n * m);
      for (let b = 0; b < bt; b++) {
        const Ab = symmetricItem(aa, b, n);
        const r = ridgeOf(Ab, n, ridge);
        const o = b * n * m;
        for (let k = 0; k < m; k++) {
          const F: number[] = [];
          for (let t = 0; t < n; t++) {
            const c = cc[o + t * m + k]!;
            if (c > 1e-7 && c < 1 - 1e-7 && Ab[t * n + t]! > r) F.push(t);
          }
          if (!F.length) continue;
          const f = F.length;
          const Aff = new Float64Array(f * f);
          // the same relative ridge as the starting solve keeps u bounded when two free layers nearly coincide
          F.forEach((i, p) => F.forEach((j, q) => (Aff[p * f + q] = Ab[i * n + j]! + (p === q ? r : 0))));
          const u = choleskySolve(Aff, Float64Array.from(F, (t) => dc[o + t * m + k]!), f, 1);
          F.forEach((i, p) => {
            dB[o + i * m + k] = u[p]!;
            for (let j = 0; j < n; j++) {
              const g = -u[p]! * cc[o + j * m + k]! / 2;
              dA[b * n * n + i * n + j] = dA[b * n * n + i * n + j]! + g;
              dA[b * n * n + j * n + i] = dA[b * n * n + j * n + i]! + g;
            }
          });
        }
      }
      return [tf.tensor3d(dA, [bt, n, n]), tf.tensor3d(dB, [bt, n, m]), tf.scalar(0)];
    },
  };
});

/** `ridge` relative to the mean diagonal of a (n×n) */
function ridgeOf(a: Float64Array, n: number, ridge: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i]!;
  return ridge * Math.max(s / n, 1e-12);
}
