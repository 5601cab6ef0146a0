/**
 * The mask blending module's MLP (paper eq. 2): M(x, y) = f(x, y, p), shared by every layer.
 *
 *   [x, y, p_1..p_K] -> Linear(K+2, 128) -> GroupNorm(32) -> tanh
 *                    -> Linear(128, 128) -> GroupNorm(32) -> tanh      (×3 hidden layers in all)
 *                    -> Linear(128, 1) -> sigmoid
 *
 * Because f is a continuous function of (x, y), a layer can be evaluated on any set of pixel
 * coordinates: the same parameters render at 32² or 4096².
 *
 * The first Linear is split into its (x, y) and p columns: W·[x, y, p] = W_xy·[x, y] + W_p·p, so
 * the per-image part (W_p·p) is computed once per image, not once per pixel.
 */
import * as tf from './tf.js';
import type { MaskNetConfig } from '../config.js';
import { FusedKernel } from './fused.js';
import { groupNorm, groupStats, type GroupStats } from './groupNorm.js';
import { maskParamSpecs } from './maskSpec.js';
import { linearInit, ParamStore } from './params.js';

export const MASK_PREFIX = 'mask.';

export function initMaskNet(store: ParamStore, cfg: MaskNetConfig, rng: () => number): void {
  for (const s of maskParamSpecs(cfg)) {
    store.add(s.name, s.init === 'linear' ? linearInit(s.fanIn, s.shape, rng) : s.init === 'ones' ? tf.ones(s.shape) : tf.zeros(s.shape));
  }
}

export interface MaskNetResult {
  /** masks in [0, 1], [B, P] */
  masks: tf.Tensor2D;
  /** GroupNorm statistics actually used, one per hidden layer ('image' mode; empty for 'pixel') */
  stats: GroupStats[];
}

/** f on pixel coordinates `coords` [P, 2] for each image's parameters `p` [B, K], with optional reference statistics */
export type MaskNetFn = (store: ParamStore, cfg: MaskNetConfig, coords: tf.Tensor2D, p: tf.Tensor2D, stats?: GroupStats[]) => MaskNetResult;

/**
 * Evaluate f on pixel coordinates `coords` [P, 2] for each image's parameters `p` [B, K].
 * With `stats` (from a reference grid) per-image GroupNorm uses them instead of statistics of
 * these P pixels, which makes tiled evaluation exact.
 */
export const maskNet: MaskNetFn = (store, cfg, coords, p, stats) => {
  const fused = fusedMaskNet.active();
  if (fused) return { masks: fused.run(store, cfg, coords, p, stats), stats: stats ?? [] };
  return maskNetOps(store, cfg, coords, p, stats);
};

/** per-image GroupNorm statistics of every hidden layer over these pixels ('image' mode) */
export function maskNetStats(store: ParamStore, cfg: MaskNetConfig, coords: tf.Tensor2D, p: tf.Tensor2D): GroupStats[] {
  if (cfg.norm !== 'image') return [];
  const fused = fusedMaskNet.active();
  if (fused) return fused.stats(store, cfg, coords, p);
  return maskNetOps(store, cfg, coords, p).stats;
}

/**
 * Masks on `coords` [P, 2] whose per-image GroupNorm statistics are those of the reference grid
 * `ref` [R, 2] (how a document renders at any size, src/core/render.ts), differentiable in p and
 * the weights through both the pixels and the statistics. Refinement at 128² uses it to fit the
 * full-resolution target (or a random subset of its pixels) while keeping exactly the function
 * the document renders. 'pixel' mode has no per-image statistics and ignores `ref`.
 */
export function maskNetWithReference(store: ParamStore, cfg: MaskNetConfig, ref: tf.Tensor2D, coords: tf.Tensor2D, p: tf.Tensor2D): tf.Tensor2D {
  if (cfg.norm !== 'image') return maskNet(store, cfg, coords, p).masks;
  const R = ref.shape[0];
  const P = coords.shape[0];
  const fused = fusedMaskNet.active();
  if (fused) {
    // one fused call over [ref; coords] whose statistics come from the first R pixels
    const all = fused.run(store, cfg, tf.concat([ref, coords], 0) as tf.Tensor2D, p, undefined, R);
    return all.slice([0, R], [p.shape[0], P]) as tf.Tensor2D;
  }
  const stats = maskNetOps(store, cfg, ref, p).stats;
  return maskNetOps(store, cfg, coords, p, stats).masks;
}

/**
 * An optional fused implementation of exactly this function for one backend (Node's native
 * kernels, src/backend/nativeMaskNet.ts). It must agree with maskNetOps in value and gradient;
 * test/maskNet.test.ts checks that.
 */
export interface FusedMaskNet {
  /** statsPixels R: per-image statistics over the first R coordinates only ('image' mode) */
  run: (store: ParamStore, cfg: MaskNetConfig, coords: tf.Tensor2D, p: tf.Tensor2D, stats?: GroupStats[], statsPixels?: number) => tf.Tensor2D;
  stats: typeof maskNetStats;
}

export const fusedMaskNet = new FusedKernel<FusedMaskNet>('maskNet');

/** maskNet written with plain tfjs ops: runs on every backend (WebGL in the browser). */
export const maskNetOps: MaskNetFn = (store, cfg, coords, p, stats) => {
  const [B] = p.shape;
  const [P] = coords.shape;
  const { K, hidden, depth, groups, norm } = cfg;
  const w0 = store.get('mask.l0.w');
  const wxy = w0.slice([0, 0], [2, hidden]) as tf.Tensor2D;
  const wp = w0.slice([2, 0], [K, hidden]) as tf.Tensor2D;
  const perPixel = tf.matMul(coords, wxy); // [P, H]
  const perImage = tf.matMul(p, wp).add(store.get('mask.l0.b')); // [B, H]
  let h = perPixel.expandDims(0).add(perImage.expandDims(1)) as tf.Tensor3D; // [B, P, H]
  const used: GroupStats[] = [];
  for (let i = 0; i < depth; i++) {
    if (i > 0) {
      h = tf
        .matMul(h.reshape([B * P, hidden]), store.get(`mask.l${i}.w`) as tf.Tensor2D)
        .add(store.get(`mask.l${i}.b`))
        .reshape([B, P, hidden]);
    }
    const s = norm === 'image' ? (stats?.[i] ?? groupStats(h, groups)) : undefined;
    if (s) used.push(s);
    h = tf.tanh(
      groupNorm(h, groups, store.get(`mask.gn${i}.gamma`) as tf.Tensor1D, store.get(`mask.gn${i}.beta`) as tf.Tensor1D, norm, s),
    );
  }
  const out = tf
    .matMul(h.reshape([B * P, hidden]), store.get('mask.out.w') as tf.Tensor2D)
    .add(store.get('mask.out.b'))
    .sigmoid()
    .reshape([B, P]) as tf.Tensor2D;
  return { masks: out, stats: used };
};
