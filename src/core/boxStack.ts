/**
 * The layer stack (src/core/stack.ts) over masks that live in boxes: a placed layer's mask is exactly
 * zero outside its box (src/core/placement.ts), so blending, the weights w_t = M_t · Π_{s>t}(1 − M_s),
 * the least-squares colours and each layer's worth all cost the boxes' pixels, not T frames:
 *
 *   A_ab = Σ_{x ∈ box_a ∩ box_b} w_a w_b,   B_a = Σ_{x ∈ box_a} w_a y,   J_t = I − w_t (c_t − I_{t−1}) on box_t
 *
 * A whole-frame layer is the box that covers the frame.
 */
import { dbLost } from './psnr.js';
import { boxLeastSquares } from './solve.js';

/** blend colour c with α·m over a box of a W-wide RGB canvas (eq. 3): m holds the box row by row */
export function blendBox(canvas: Float32Array, W: number, [i0, i1, j0, j1]: [number, number, number, number], m: ArrayLike<number>, c: ArrayLike<number>, alpha = 1): void {
  const bw = i1 - i0 + 1;
  for (let j = j0; j <= j1; j++) {
    for (let i = i0, q = (j - j0) * bw; i <= i1; i++, q++) {
      const a = alpha * m[q]!;
      if (a === 0) continue;
      const k = 3 * (j * W + i);
      for (let ch = 0; ch < 3; ch++) canvas[k + ch] = canvas[k + ch]! + a * (c[ch]! - canvas[k + ch]!);
    }
  }
}

/** a layer's mask on the fit grid, over its box only (row-major within the box) */
export interface BoxMask {
  box: [number, number, number, number];
  m: Float32Array;
}

/** the blend of box masks with colours, bottom first, into out (W-wide RGB) */
export function compositeBoxes(masks: BoxMask[], colours: ArrayLike<number>[], W: number, out: Float32Array): void {
  masks.forEach(({ box, m }, t) => blendBox(out, W, box, m, colours[t]!));
}

/** each layer's weight w_t = M_t · Π_{s>t} (1 − M_s) over its box (zero outside) */
export function boxWeights(masks: BoxMask[], W: number, H: number): Float32Array[] {
  const keep = new Float32Array(W * H).fill(1);
  const w: Float32Array[] = new Array(masks.length);
  for (let t = masks.length - 1; t >= 0; t--) {
    const { box: [i0, i1, j0, j1], m } = masks[t]!;
    const bw = i1 - i0 + 1;
    const wt = new Float32Array(m.length);
    for (let j = j0; j <= j1; j++) {
      for (let i = i0, q = (j - j0) * bw; i <= i1; i++, q++) {
        const p = j * W + i;
        wt[q] = m[q]! * keep[p]!;
        keep[p] = keep[p]! * (1 - m[q]!);
      }
    }
    w[t] = wt;
  }
  return w;
}

/**
 * Least-squares colours in [0, 1] for box masks (src/core/stack.ts leastSquaresFit's normal
 * equations, summed over box intersections only).
 */
export function boxColours(masks: BoxMask[], target: Float32Array, W: number, H: number, start: ArrayLike<number>[]): [number, number, number][] {
  const N = masks.length;
  const w = boxWeights(masks, W, H);
  const A = new Float64Array(N * N);
  const B = new Float64Array(N * 3);
  for (let a = 0; a < N; a++) {
    const [ai0, ai1, aj0, aj1] = masks[a]!.box;
    const abw = ai1 - ai0 + 1;
    const wa = w[a]!;
    for (let j = aj0; j <= aj1; j++) {
      for (let i = ai0, q = (j - aj0) * abw; i <= ai1; i++, q++) {
        const k = 3 * (j * W + i);
        B[3 * a] = B[3 * a]! + wa[q]! * target[k]!;
        B[3 * a + 1] = B[3 * a + 1]! + wa[q]! * target[k + 1]!;
        B[3 * a + 2] = B[3 * a + 2]! + wa[q]! * target[k + 2]!;
      }
    }
    for (let b = a; b < N; b++) {
      const [bi0, bi1, bj0, bj1] = masks[b]!.box;
      const i0 = Math.max(ai0, bi0), i1 = Math.min(ai1, bi1), j0 = Math.max(aj0, bj0), j1 = Math.min(aj1, bj1);
      if (i0 > i1 || j0 > j1) continue;
      const bbw = bi1 - bi0 + 1;
      const wb = w[b]!;
      let s = 0;
      for (let j = j0; j <= j1; j++) {
        let qa = (j - aj0) * abw + (i0 - ai0);
        let qb = (j - bj0) * bbw + (i0 - bi0);
        for (let i = i0; i <= i1; i++) s += wa[qa++]! * wb[qb++]!;
      }
      A[a * N + b] = s;
      A[b * N + a] = s;
    }
  }
  let trace = 0;
  for (let a = 0; a < N; a++) trace += A[a * N + a]!;
  const X = boxLeastSquares(A, B, N, 3, 1e-9 * Math.max(trace / Math.max(N, 1), 1e-12), (t, k) => start[t]![k]!);
  return Array.from({ length: N }, (_, t) => [X[3 * t]!, X[3 * t + 1]!, X[3 * t + 2]!] as [number, number, number]);
}

/**
 * What each layer is worth (dB lost when it alone is removed) from box masks: without layer t the
 * image is final − w_t · (c_t − C_{t−1}) (src/core/stack.ts imageWithoutLayer), which differs only
 * in its box, so all N cost one pass over the boxes.
 */
export function boxContributions(masks: BoxMask[], colours: ArrayLike<number>[], target: Float32Array, final: Float32Array, W: number, H: number): number[] {
  const w = boxWeights(masks, W, H);
  let E = 0;
  for (let i = 0; i < final.length; i++) E += (target[i]! - final[i]!) ** 2;
  E = Math.max(E, 1e-12);
  const under = new Float32Array(W * H * 3);
  return masks.map(({ box: [i0, i1, j0, j1], m }, t) => {
    const c = colours[t]!;
    const bw = i1 - i0 + 1;
    const wt = w[t]!;
    let dE = 0;
    for (let j = j0; j <= j1; j++) {
      for (let i = i0, q = (j - j0) * bw; i <= i1; i++, q++) {
        const k = 3 * (j * W + i);
        for (let ch = 0; ch < 3; ch++) {
          const e = target[k + ch]! - final[k + ch]!;
          const d = wt[q]! * (c[ch]! - under[k + ch]!);
          dE += 2 * e * d + d * d;
          under[k + ch] = under[k + ch]! + m[q]! * (c[ch]! - under[k + ch]!);
        }
      }
    }
    return dbLost(E + Math.max(dE, 0), E);
  });
}
