/**
 * The layer stack on plain arrays (paper eq. 3), the one place its arithmetic is written. From a
 * black canvas each visible layer paints its colour c_t through its mask M_t:
 *
 *   I_t = I_{t−1} · (1 − M_t) + c_t · M_t,   so   I = Σ_t c_t · w_t,
 *   w_t = M_t · K_t,   K_t = Π_{s>t} (1 − M_s)   (what the layers above t let through)
 *
 * and without layer t alone the image is exactly J_t = I − w_t · (c_t − I_{t−1}).
 *
 * Why this shape: the per-image algorithms (rendering, contributions, the order search, shape swaps,
 * greedy layers, pruning, refinement's colours, the editor's view) all work on masks computed once,
 * one Float32Array of P pixels per layer, bottom first, and change only the blending: the canvases,
 * the keep-products K_t and the weights w_t give every leave-one-out image in O(P) and the best
 * colours as a T×T least-squares problem, without running the mask network again. The same blend
 * as tensors, for gradients, is src/core/blend.ts; over masks that live in boxes (placed layers),
 * src/core/boxStack.ts.
 */
import { dbLost, psnrOf } from './psnr.js';
import { boxLeastSquares } from './solve.js';

export type RGB = [number, number, number];

/** one layer blended in place: rgb [P·3] ← rgb · (1 − m) + colour · m, mask [P], colour [3] */
export function blendLayerInto(rgb: Float32Array, mask: Float32Array, colour: ArrayLike<number>): void {
  const r = colour[0]!, g = colour[1]!, b = colour[2]!;
  for (let i = 0, j = 0; i < mask.length; i++, j += 3) {
    const m = mask[i]!;
    const k = 1 - m;
    rgb[j] = rgb[j]! * k + r * m;
    rgb[j + 1] = rgb[j + 1]! * k + g * m;
    rgb[j + 2] = rgb[j + 2]! * k + b * m;
  }
}

/** the canvas after the visible layers, blended in order over black; maskOf(layer, t): its mask [P] */
export function compositeLayers<L extends { colour: ArrayLike<number>; visible?: boolean }>(pixels: number, layers: L[], maskOf: (layer: L, t: number) => Float32Array): Float32Array {
  const rgb = new Float32Array(pixels * 3);
  layers.forEach((l, t) => {
    if (l.visible !== false) blendLayerInto(rgb, maskOf(l, t), l.colour);
  });
  return rgb;
}

/** the canvas after each layer, from black: masks[t] [P] blended in order with colours[t] (a hidden layer leaves it as it was) */
export function canvasAfterEachLayer(masks: Float32Array[], colours: ArrayLike<number>[], visible?: boolean[]): Float32Array[] {
  let canvas = new Float32Array((masks[0]?.length ?? 0) * 3);
  return masks.map((mask, t) => {
    canvas = canvas.slice();
    if (visible?.[t] !== false) blendLayerInto(canvas, mask, colours[t]!);
    return canvas;
  });
}

/** K_t = Π_{s>t, visible} (1 − M_s) for every layer: what the visible layers above it let through */
export function keepAbove(masks: ArrayLike<number>[], visible?: boolean[]): Float32Array[] {
  const n = masks[0]?.length ?? 0;
  const keep = new Float32Array(n).fill(1);
  const out: Float32Array[] = new Array(masks.length);
  for (let t = masks.length - 1; t >= 0; t--) {
    out[t] = keep.slice();
    if (visible?.[t] === false) continue;
    const m = masks[t]!;
    for (let i = 0; i < n; i++) keep[i] = keep[i]! * (1 - m[i]!);
  }
  return out;
}

/** w_t = M_t · K_t for the visible layers (hidden ones get w = 0) */
export function layerWeights(masks: ArrayLike<number>[], visible: boolean[] = masks.map(() => true)): Float32Array[] {
  const out = keepAbove(masks, visible);
  out.forEach((w, t) => {
    if (!visible[t]) return w.fill(0);
    const m = masks[t]!;
    for (let i = 0; i < w.length; i++) w[i] = m[i]! * w[i]!;
  });
  return out;
}

/** sum of squared differences over all values */
function squaredError(a: Float32Array, target: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - target[i]!) ** 2;
  return s;
}

/** PSNR of the visible layers' blend (masks given, [P] each) against target [P·3] */
export function psnrOfMasks(masks: Float32Array[], layers: { colour: ArrayLike<number>; visible?: boolean }[], target: Float32Array): number {
  return psnrOf(compositeLayers(target.length / 3, layers, (_, t) => masks[t]!), target);
}

/**
 * The image without one layer, exactly: with `final` the image, m the layer's mask, c its colour,
 * `under` the canvas under it and K = Π_{s above} (1 − M_s) what the layers above let through,
 *
 *   J = final − m · (c − under) · K
 *
 * Returns J's squared error against `target` (all P·3 values) and writes J when given.
 */
export function imageWithoutLayer(m: Float32Array, K: Float32Array, c: ArrayLike<number>, under: Float32Array, final: Float32Array, target: ArrayLike<number>, J: Float32Array | null): number {
  const c0 = c[0]!, c1 = c[1]!, c2 = c[2]!;
  let se = 0;
  for (let q = 0, i = 0; q < m.length; q++, i += 3) {
    const w = m[q]! * K[q]!;
    const j0 = final[i]! - w * (c0 - under[i]!);
    const j1 = final[i + 1]! - w * (c1 - under[i + 1]!);
    const j2 = final[i + 2]! - w * (c2 - under[i + 2]!);
    if (J) {
      J[i] = j0;
      J[i + 1] = j1;
      J[i + 2] = j2;
    }
    const d0 = j0 - target[i]!, d1 = j1 - target[i + 1]!, d2 = j2 - target[i + 2]!;
    se += d0 * d0 + d1 * d1 + d2 * d2;
  }
  return se;
}

/** a stack's canvases and keep-products, from which every leave-one-out image follows in O(P) */
export interface LayerStack {
  masks: Float32Array[];
  colours: ArrayLike<number>[];
  visible?: boolean[];
  /** canvas after each layer (C_t) */
  canvases: Float32Array[];
  /** K_t per layer */
  above: Float32Array[];
  /** the image (black for an empty stack) */
  final: Float32Array;
  /** its squared error against the target, when one was given */
  se: number;
}

/** the stack of masks [P] with colours, bottom first (hidden layers paint nothing), and its error against target [P·3] */
export function layerStack(masks: Float32Array[], colours: ArrayLike<number>[], target?: ArrayLike<number>, visible?: boolean[]): LayerStack {
  const canvases = canvasAfterEachLayer(masks, colours, visible);
  const final = canvases[canvases.length - 1] ?? new Float32Array(target?.length ?? 0);
  return { masks, colours, visible, canvases, above: keepAbove(masks, visible), final, se: target ? squaredError(final, target) : NaN };
}

/** the squared error against target of the stack without layer t (writes that image into J when given) */
export function withoutLayer(s: LayerStack, t: number, target: ArrayLike<number>, J: Float32Array | null = null): number {
  const under = t > 0 ? s.canvases[t - 1]! : new Float32Array(s.final.length);
  return imageWithoutLayer(s.masks[t]!, s.above[t]!, s.colours[t]!, under, s.final, target, J);
}

/**
 * The visible layers (ascending) whose removal alone, colours kept, costs less than `db`, with the
 * squared error left without each (the order search's and the shape swaps' candidates); `skip(t)`
 * leaves a layer out. All T leave-one-out errors in O(T·P).
 */
export function weakLayers(s: LayerStack, target: ArrayLike<number>, db: number, skip?: (t: number) => boolean): { t: number; se: number }[] {
  const out: { t: number; se: number }[] = [];
  for (let t = 0; t < s.masks.length; t++) {
    if (s.visible?.[t] === false || skip?.(t)) continue;
    const se = withoutLayer(s, t, target);
    if (dbLost(se, s.se) < db) out.push({ t, se });
  }
  return out;
}

/** mean squared error of Σ_t c_t w_t against target [n·3] */
export function mseOfColours(weights: Float32Array[], colours: ArrayLike<number>[], target: Float32Array): number {
  const n = target.length / 3;
  const img = new Float32Array(n * 3);
  weights.forEach((w, t) => {
    const c = colours[t]!;
    for (let i = 0; i < n; i++) {
      img[3 * i] = img[3 * i]! + c[0]! * w[i]!;
      img[3 * i + 1] = img[3 * i + 1]! + c[1]! * w[i]!;
      img[3 * i + 2] = img[3 * i + 2]! + c[2]! * w[i]!;
    }
  });
  return squaredError(img, target) / img.length;
}

/**
 * Colours minimising Σ_x ‖Σ_t c_t w_t(x) − target(x)‖² with every c_t in [0, 1]: the normal
 * equations A C = B (A = Σ w wᵀ, T×T; B = Σ w targetᵀ, T×3) solved by Cholesky (a tiny ridge keeps
 * layers that cover nothing solvable), clamped, then projected coordinate descent on the same
 * convex problem until it settles (exact when the unconstrained solution lies inside the box).
 * `previous` colours are kept for layers with no weight at all.
 */
export function leastSquaresColours(weights: Float32Array[], target: Float32Array, previous?: ArrayLike<number>[]): RGB[] {
  return leastSquaresFit(weights, target, previous).colours;
}

/** leastSquaresColours and the mean squared error they leave, from the same normal equations (no image is built) */
export function leastSquaresFit(weights: Float32Array[], target: Float32Array, previous?: ArrayLike<number>[]): { colours: RGB[]; mse: number } {
  const T = weights.length;
  const n = target.length / 3;
  const A = new Float64Array(T * T);
  const Bm = new Float64Array(T * 3);
  for (let a = 0; a < T; a++) {
    const wa = weights[a]!;
    for (let b = a; b < T; b++) {
      const wb = weights[b]!;
      let s = 0;
      for (let i = 0; i < n; i++) s += wa[i]! * wb[i]!;
      A[a * T + b] = s;
      A[b * T + a] = s;
    }
    let r = 0, g = 0, bl = 0;
    for (let i = 0; i < n; i++) {
      r += wa[i]! * target[3 * i]!;
      g += wa[i]! * target[3 * i + 1]!;
      bl += wa[i]! * target[3 * i + 2]!;
    }
    Bm[a * 3] = r;
    Bm[a * 3 + 1] = g;
    Bm[a * 3 + 2] = bl;
  }
  let trace = 0;
  for (let a = 0; a < T; a++) trace += A[a * T + a]!;
  const X = boxLeastSquares(A, Bm, T, 3, 1e-9 * Math.max(trace / Math.max(T, 1), 1e-12), (t, k) => (previous ? previous[t]![k]! : 0));
  // ‖W X − y‖² = yᵀy − 2 Σ X·B + Σ_k X_kᵀ A X_k
  let se = 0;
  for (let i = 0; i < 3 * n; i++) se += target[i]! * target[i]!;
  for (let a = 0; a < T; a++)
    for (let k = 0; k < 3; k++) {
      const xa = X[a * 3 + k]!;
      let ax = 0;
      for (let b = 0; b < T; b++) ax += A[a * T + b]! * X[b * 3 + k]!;
      se += xa * (ax - 2 * Bm[a * 3 + k]!);
    }
  return { colours: Array.from({ length: T }, (_, t) => [X[t * 3]!, X[t * 3 + 1]!, X[t * 3 + 2]!] as RGB), mse: Math.max(se, 0) / Math.max(3 * n, 1) };
}

/** the colour c in [0, 1] of a layer m [P] painted on top of `canvas` [P·3] minimising Σ ‖(1−m)·canvas + c·m − y‖² */
export function bestTopColour(m: Float32Array, canvas: Float32Array, y: Float32Array): RGB {
  let mm = 0;
  const num = [0, 0, 0];
  for (let i = 0; i < m.length; i++) {
    const mi = m[i]!;
    mm += mi * mi;
    for (let ch = 0; ch < 3; ch++) num[ch] = num[ch]! + (mi * (y[3 * i + ch]! - (1 - mi) * canvas[3 * i + ch]!));
  }
  return num.map((v) => (mm > 1e-12 ? Math.min(1, Math.max(0, v / mm)) : 0)) as RGB;
}
