/**
 * Shape swaps after the forward pass: a bank of learned shapes replaces the layers that are worth
 * least. With C the final image, C_{t−1} the canvas under layer t and K_t = Π_{s>t} (1 − M_s), the
 * image without layer t is exactly
 *
 *   J_t = C − M_t · (c_t − C_{t−1}) · K_t
 *
 * and a shape m from the bank painted on top of J_t with the best colour c (per channel) gives
 *
 *   err(m) = Σ_k ‖r_k + m·J_k − c_k m‖²,   r = target − J_t,   c_k = ⟨r_k + m·J_k, m⟩ / ⟨m, m⟩
 *          = ‖r‖² + Σ_k [ ⟨m, 2 r_k J_k⟩ + ⟨m², J_k²⟩ − (⟨m, r_k⟩ + ⟨m², J_k⟩)² / ⟨m², 1⟩ ]
 *
 * so every (bank shape, removed layer) pair is scored by ONE matrix product: the bank stored as rows
 * [m | m²] (D × 2P) times six columns per candidate layer ([2 r J | J²] and [r | J], 2P × 6): an sgemm
 * in the native loop (src/backend/native.ts), bankScores here. The product runs at half the model's
 * resolution (2 × 2 means of m, m², r, J, rJ, J²: a quarter of the bank's bytes, which is what the
 * product waits for), and the SCORE_EXACTLY best pairs are then scored exactly at full resolution.
 *
 * Why: the encoder paints most of an image well, but on whole held-out photos about a quarter of its
 * layers are worth < 0.1 dB (masks shrunk to nothing, covered ones, details of a few pixels). Greedy
 * shape fitting (geometrize) gets its quality from choosing each shape against the image; here the
 * candidates are masks the model itself paints (its own layers on training photos, chosen by how
 * often they were picked), so a swap keeps the document what it was: layers of the mask MLP with a
 * parameter vector p, resolution-free. The best pair is kept when the image with least-squares
 * colours for all layers gets closer to the target, up to maxSwaps times.
 */
import { SWAP_DEFAULTS as CONFIG_SWAP_DEFAULTS } from '../config.js';
import { FusedKernel } from '../core/fused.js';
import { layerStack, layerWeights, leastSquaresFit, mseOfColours, weakLayers, withoutLayer, type RGB } from '../core/stack.js';

/** masks the model paints, to swap in: D shapes, each a parameter vector p and its mask at the model's size */
export interface ShapeBank {
  /** D × K parameter vectors */
  p: Float32Array;
  K: number;
  /** side of the masks (the model's size) */
  size: number;
  /** D × size² masks */
  masks: Float32Array;
  /** side of the scoring grid: size / 2 when size is even, else size */
  low: number;
  /** D × 2·low² rows [m̄ | m²̄] of 2 × 2 means, for scoring */
  rows: Float32Array;
  /** D: Σ m² at full resolution */
  norms: Float32Array;
}

/** block side of the scoring grid: 2 × 2 blocks when the side is even, single pixels when odd */
const blockOf = (side: number): number => (side % 2 ? 1 : 2);

export function makeShapeBank(p: Float32Array, K: number, masks: Float32Array, size: number): ShapeBank {
  const P = size * size, D = p.length / K;
  if (!Number.isInteger(D) || masks.length !== D * P) throw new Error(`shape bank: ${p.length} parameters (K=${K}) and ${masks.length} mask values (${size}²) do not describe the same shapes`);
  const f = blockOf(size), inv = 1 / (f * f), low = size / f, L = low * low;
  const rows = new Float32Array(D * 2 * L);
  const norms = new Float32Array(D);
  for (let d = 0; d < D; d++) {
    const m = masks.subarray(d * P, (d + 1) * P);
    let s = 0;
    for (let q = 0; q < P; q++) s += m[q]! * m[q]!;
    norms[d] = s;
    for (let y = 0; y < low; y++)
      for (let x = 0; x < low; x++) {
        let a = 0, b = 0;
        for (let dy = 0; dy < f; dy++)
          for (let dx = 0; dx < f; dx++) {
            const v = m[(f * y + dy) * size + f * x + dx]!;
            a += v;
            b += v * v;
          }
        rows[d * 2 * L + y * low + x] = a * inv;
        rows[d * 2 * L + L + y * low + x] = b * inv;
      }
  }
  return { p, K, size, masks, low, rows, norms };
}

export const shapeCount = (bank: ShapeBank): number => bank.norms.length;

/** out[D × N] = rows[D × L] · v[L × N] (row-major) */
export function bankScores(rows: Float32Array, D: number, L: number, v: Float32Array, N: number, out: Float32Array): void {
  // v's columns made contiguous, then one dot product per (shape, column) with four partial sums
  const vt = new Float32Array(N * L);
  for (let i = 0; i < L; i++) for (let j = 0; j < N; j++) vt[j * L + i] = v[i * N + j]!;
  for (let d = 0; d < D; d++) {
    const r = d * L;
    for (let j = 0; j < N; j++) {
      const c = j * L;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
      for (; i + 3 < L; i += 4) {
        s0 += rows[r + i]! * vt[c + i]!;
        s1 += rows[r + i + 1]! * vt[c + i + 1]!;
        s2 += rows[r + i + 2]! * vt[c + i + 2]!;
        s3 += rows[r + i + 3]! * vt[c + i + 3]!;
      }
      for (; i < L; i++) s0 += rows[r + i]! * vt[c + i]!;
      out[d * N + j] = s0 + s1 + s2 + s3;
    }
  }
}

export interface SwapOptions {
  /** swaps kept at most */
  maxSwaps?: number;
  /** only layers worth less than this (dB lost when removed alone) are swapped out */
  db?: number;
  /** the weakest this many layers are scored against the bank at each round */
  candidates?: number;
}

export const SWAP_DEFAULTS: Required<SwapOptions> = CONFIG_SWAP_DEFAULTS;

/** pairs (shape, layer) scored exactly after the half-resolution product */
export const SCORE_EXACTLY = 8;

export interface Swapped {
  masks: Float32Array[];
  colours: RGB[];
  /** per layer, bottom first: ≥ 0 the input layer it is, < 0 bank shape −1 − value */
  origin: number[];
  swaps: number;
}

/** the whole swap loop in one call where the backend has it (src/backend/native.ts); the same result as the definition */
export type SwapShapes = (masks: Float32Array[], target: Float32Array, colours: RGB[], bank: ShapeBank, o: Required<SwapOptions>) => Swapped;
export const fusedSwapShapes = new FusedKernel<SwapShapes>('swapShapes');

/**
 * Replace weak layers of `masks` (bank.size² values each, bottom first) by bank shapes painted on
 * top, with least-squares colours (`colours`: those of the given masks, e.g. least squares).
 */
export function swapShapes(masks: Float32Array[], target: Float32Array, colours: RGB[], bank: ShapeBank, o: SwapOptions = {}): Swapped {
  const opt = { ...SWAP_DEFAULTS, ...o };
  const S = bank.size, P = S * S;
  if (target.length !== 3 * P) throw new Error(`shape swaps: target has ${target.length} values, the bank's masks are ${S}×${S}`);
  if (masks.some((m) => m.length !== P)) throw new Error(`shape swaps: every mask must have ${P} values (${S}×${S})`);
  if (colours.length !== masks.length) throw new Error(`shape swaps: ${colours.length} colours for ${masks.length} masks`);
  if (!Number.isInteger(opt.maxSwaps) || opt.maxSwaps < 0 || !Number.isInteger(opt.candidates) || opt.candidates < 1) throw new Error('shape swaps: maxSwaps must be a whole number ≥ 0 and candidates ≥ 1');
  return (fusedSwapShapes.active() ?? swapShapesDefinition)(masks, target, colours, bank, opt);
}

/** swapShapes' plain definition (checked arguments) */
export function swapShapesDefinition(masks0: Float32Array[], target: Float32Array, colours0: RGB[], bank: ShapeBank, o: Required<SwapOptions>): Swapped {
  const { maxSwaps, db, candidates } = o;
  const T = masks0.length, S = bank.size, P = S * S, D = shapeCount(bank), L = bank.low * bank.low;
  let masks = masks0.slice();
  let colours = colours0.slice();
  let origin = masks.map((_, t) => t);
  let mse = mseOfColours(layerWeights(masks), colours, target);
  const failed = new Set<Float32Array>();
  let swaps = 0;
  while (swaps < maxSwaps && T > 0) {
    // the canvases and keep-products; J_t (the image without layer t) and its squared error, for every weak layer
    const stack = layerStack(masks, colours, target);
    const loo = weakLayers(stack, target, db, (t) => failed.has(masks[t]!));
    if (loo.length === 0) break;
    const weak = loo.sort((a, b) => a.se - b.se).slice(0, candidates);
    // per candidate: J, and the half-resolution columns [2 r J | J²], [r | J] for each channel
    const N = 6 * weak.length;
    const v = new Float32Array(2 * L * N);
    const Js = weak.map(({ t }, j) => {
      const J = new Float32Array(3 * P);
      withoutLayer(stack, t, target, J);
      scoringColumns(S, J, target, v, N, 6 * j, L);
      return J;
    });
    const out = new Float32Array(D * N);
    bankScores(bank.rows, D, 2 * L, v, N, out);
    // the SCORE_EXACTLY best pairs at half resolution (err − ‖r‖², up to the grid's scale)
    const scale = P / L;
    const top: { d: number; j: number; e: number }[] = [];
    for (let d = 0; d < D; d++) {
      const n2 = Math.max(bank.norms[d]! / scale, 1e-9);
      for (let j = 0; j < weak.length; j++) {
        const b = d * N + 6 * j;
        let e = weak[j]!.se / scale;
        for (let k = 0; k < 3; k++) e += out[b + k]! - out[b + 3 + k]! ** 2 / n2;
        if (top.length < SCORE_EXACTLY || e < top[top.length - 1]!.e) {
          top.push({ d, j, e });
          top.sort((a, b) => a.e - b.e);
          if (top.length > SCORE_EXACTLY) top.pop();
        }
      }
    }
    let best = { d: -1, j: -1, e: Infinity, colour: [0, 0, 0] as RGB };
    for (const { d, j } of top) {
      const x = exactScore(bank.masks.subarray(d * P, (d + 1) * P), Math.max(bank.norms[d]!, 1e-9), Js[j]!, target);
      if (weak[j]!.se + x.e < best.e) best = { d, j, e: weak[j]!.se + x.e, colour: x.colour };
    }
    const u = weak[best.j]!.t;
    const shape = bank.masks.subarray(best.d * P, (best.d + 1) * P);
    const m2 = [...masks.filter((_, k) => k !== u), shape];
    const fit = leastSquaresFit(layerWeights(m2), target, [...colours.filter((_, k) => k !== u), colours[u]!]);
    if (fit.mse < mse * (1 - 1e-6)) {
      masks = m2;
      colours = fit.colours;
      origin = [...origin.filter((_, k) => k !== u), -1 - best.d];
      mse = fit.mse;
      swaps++;
    } else failed.add(masks[u]!);
  }
  return { masks, colours, origin, swaps };
}

/**
 * The scoring grid's columns for one candidate (image J without it, r = target − J), block means:
 * rows 0..L−1 hold [2 r J (3 channels), r (3)], rows L..2L−1 hold [J² (3), J (3)], at column `col`
 */
function scoringColumns(side: number, J: Float32Array, target: Float32Array, v: Float32Array, N: number, col: number, L: number): void {
  const f = blockOf(side), low = side / f, inv = 1 / (f * f);
  for (let y = 0; y < low; y++)
    for (let x = 0; x < low; x++) {
      const o = (y * low + x) * N + col, o2 = o + L * N;
      for (let k = 0; k < 3; k++) {
        let rj = 0, r = 0, jj = 0, j = 0;
        for (let dy = 0; dy < f; dy++)
          for (let dx = 0; dx < f; dx++) {
            const i = 3 * ((f * y + dy) * side + f * x + dx) + k;
            const Jv = J[i]!, rv = target[i]! - Jv;
            rj += rv * Jv;
            r += rv;
            jj += Jv * Jv;
            j += Jv;
          }
        v[o + k] = 2 * rj * inv;
        v[o + 3 + k] = r * inv;
        v[o2 + k] = jj * inv;
        v[o2 + 3 + k] = j * inv;
      }
    }
}

/** ‖target − (J·(1 − m) + c·m)‖² with the best colour c in [0, 1] per channel: what the scoring computes for one shape */
export function errorOnTop(m: Float32Array, J: Float32Array, target: Float32Array): number {
  let r2 = 0, n2 = 0;
  for (let i = 0; i < J.length; i++) r2 += (target[i]! - J[i]!) ** 2;
  for (let q = 0; q < m.length; q++) n2 += m[q]! * m[q]!;
  return r2 + exactScore(m, Math.max(n2, 1e-9), J, target).e;
}

/**
 * err − ‖r‖² of shape m (Σ m² = n2) painted on J with its best colour in [0, 1] (per channel the
 * clamp of the unconstrained optimum c* = E/n2, whose error is the unconstrained one + n2·(c − c*)²),
 * at full resolution; and that colour
 */
function exactScore(m: Float32Array, n2: number, J: Float32Array, target: Float32Array): { e: number; colour: RGB } {
  let a = 0, e0 = 0, e1 = 0, e2 = 0;
  for (let q = 0, i = 0; q < m.length; q++, i += 3) {
    const mq = m[q]!;
    if (mq === 0) continue;
    const J0 = J[i]!, J1 = J[i + 1]!, J2 = J[i + 2]!;
    const r0 = target[i]! - J0, r1 = target[i + 1]! - J1, r2 = target[i + 2]! - J2;
    a += mq * (2 * (r0 * J0 + r1 * J1 + r2 * J2) + mq * (J0 * J0 + J1 * J1 + J2 * J2));
    e0 += mq * (r0 + mq * J0);
    e1 += mq * (r1 + mq * J1);
    e2 += mq * (r2 + mq * J2);
  }
  let e = a - (e0 * e0 + e1 * e1 + e2 * e2) / n2;
  const colour = [e0, e1, e2].map((E) => {
    const c = E / n2, k = Math.min(1, Math.max(0, c));
    e += n2 * (k - c) ** 2;
    return k;
  }) as RGB;
  return { e, colour };
}
