/**
 * GroupNorm for the mask MLP, with both readings of the paper.
 *
 * Activations are h: [B, P, C] (B images, P pixels, C channels), C split into G groups of C/G.
 *  - 'image' (authors' code, MLP as 1×1 convolutions): a group is normalised over its C/G
 *    channels × all P pixels of the image. Statistics are per (image, group): [B, G].
 *  - 'pixel' (paper's table): a group is normalised over its C/G channels within one pixel.
 *
 * Per-image statistics depend on which pixels are evaluated, so to keep rendering resolution-free
 * callers may pass `stats` computed once on a fixed reference grid (see src/core/render.ts):
 * every tile of a large render is then normalised with the statistics of the whole layer.
 */
import * as tf from './tf.js';
import type { MaskNorm } from '../config.js';
import { NORM_EPS } from '../config.js';

/** per-image statistics of one GroupNorm layer: mean and 1/sqrt(variance + eps), each [B, 1, G, 1] */
export interface GroupStats {
  mean: tf.Tensor4D;
  rstd: tf.Tensor4D;
}

export function groupStats(h: tf.Tensor3D, groups: number): GroupStats {
  const [B, P, C] = h.shape;
  const g = h.reshape([B, P, groups, C / groups]);
  const { mean, variance } = tf.moments(g, [1, 3], true);
  return { mean: mean as tf.Tensor4D, rstd: tf.rsqrt(variance.add(NORM_EPS)) as tf.Tensor4D };
}

export function groupNorm(
  h: tf.Tensor3D,
  groups: number,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  mode: MaskNorm,
  stats?: GroupStats,
): tf.Tensor3D {
  const [B, P, C] = h.shape;
  const g = h.reshape([B, P, groups, C / groups]);
  let mean: tf.Tensor;
  let rstd: tf.Tensor;
  if (mode === 'pixel') {
    const m = tf.moments(g, [3], true);
    mean = m.mean;
    rstd = tf.rsqrt(m.variance.add(NORM_EPS));
  } else {
    ({ mean, rstd } = stats ?? groupStats(h, groups));
  }
  const normed = g.sub(mean).mul(rstd).reshape([B, P, C]);
  return normed.mul(gamma).add(beta) as tf.Tensor3D;
}
