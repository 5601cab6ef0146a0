/**
 * Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased squared
 * maximum mean discrepancy between the features of two image sets, with the cubic polynomial kernel
 *
 *   k(x, y) = (x·y / d + 1)³                                     (x, y ∈ ℝ^d, features)
 *   MMD²_u = Σ_{i≠j} k(x_i, x_j) / m(m−1) + Σ_{i≠j} k(y_i, y_j) / n(n−1) − 2 Σ_{i,j} k(x_i, y_j) / mn
 *
 * averaged over `subsets` random subsets of at most `subsetSize` images per side (mean and standard
 * deviation over the subsets; ×10³ is how it is usually printed). The estimator is unbiased, so two
 * draws of one distribution give values scattered around 0, some of them negative.
 *
 * The features are not Inception's: no ImageNet network is shipped or reachable here. They are those
 * of a FIXED network this project ships, the bundled reconstruction model (models/default.stratum,
 * trained on the photo corpus): its encoder at the model's size (32²) on [image ‖ black canvas] — the
 * input it sees at its first step — in inference mode, the pooled vector (Decomposer.featureDim
 * wide). Every image is resized to 32² first (box average when the size is a multiple of 32).
 *
 * What the number can tell: how far two sets are apart in the colour and coarse layout statistics
 * this encoder was trained to see in photos in order to place its first layer (at step 0 the model
 * paints the background: its last feature map is 2×2, a quadrant each); which of several models
 * sampled against the same reference set comes closer, on the scale the calibration rows (real
 * against real, degraded real, noise) computed the same way put down.
 * What it cannot tell: semantics (the encoder was never taught what objects are); texture and edges
 * finer than a quadrant — measured here, a 3×3 box blur, even 8×8 block averaging, and 20-colour
 * quantisation of real photos stay within the estimator's scatter of real photos, while greyscale
 * and noise do not (test/kid.test.ts, docs/results.md); anything about resolution (samples rendered
 * at 1024² are measured at 32²). It is not comparable with published FID/KID values, which use
 * Inception-v3 features of 299² images.
 */
import { KID_DEFAULTS } from '../../config.js';
import * as tf from '../../core/tf.js';
import { mulberry32, shuffleInPlace } from '../../core/random.js';
import type { ImageSet } from '../../data/imageSet.js';
import type { Decomposer } from '../../model/decomposer.js';
import { encode } from '../../model/encoder.js';
import { newCtx } from '../../model/nn.js';

/** features of n images, row-major [n, d] */
export interface Features {
  n: number;
  d: number;
  data: Float32Array;
}

export interface KidOptions {
  subsets?: number;
  subsetSize?: number;
  seed?: number;
}

export interface Kid {
  /** mean of MMD²_u over the subsets (raw; ×10³ for printing) */
  mean: number;
  std: number;
  /** one value per subset */
  values: number[];
  subsetSize: number;
}

export { KID_DEFAULTS };

/** the feature network's image side (the bundled model's size) */
export const KID_FEATURE_SIZE = 32;

/** unbiased MMD² with the cubic polynomial kernel between rows ix of X and rows iy of Y */
export function mmd2Unbiased(X: Features, Y: Features, ix: ArrayLike<number> = range(X.n), iy: ArrayLike<number> = range(Y.n)): number {
  checkPair(X, Y, ix.length, iy.length);
  const d = X.d;
  const k = (A: Float32Array, a: number, B: Float32Array, b: number) => {
    let s = 0;
    const oa = a * d;
    const ob = b * d;
    for (let j = 0; j < d; j++) s += A[oa + j]! * B[ob + j]!;
    const u = s / d + 1;
    return u * u * u;
  };
  const within = (F: Features, idx: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) for (let j = i + 1; j < idx.length; j++) s += k(F.data, idx[i]!, F.data, idx[j]!);
    return (2 * s) / (idx.length * (idx.length - 1));
  };
  let cross = 0;
  for (let i = 0; i < ix.length; i++) for (let j = 0; j < iy.length; j++) cross += k(X.data, ix[i]!, Y.data, iy[j]!);
  return within(X, ix) + within(Y, iy) - (2 * cross) / (ix.length * iy.length);
}

/** KID: MMD²_u over random subsets of at most subsetSize per side, each side drawn without replacement */
export function kid(X: Features, Y: Features, o: KidOptions = {}): Kid {
  const { subsets, subsetSize, seed } = { ...KID_DEFAULTS, ...o };
  checkPair(X, Y, X.n, Y.n);
  if (!Number.isInteger(subsets) || subsets < 1) throw new Error(`KID: subsets must be a positive integer, got ${subsets}`);
  const m = Math.min(subsetSize, X.n, Y.n);
  const rng = mulberry32(seed ^ 0x4b1d);
  const values: number[] = [];
  const draw = (n: number) => {
    const idx = range(n);
    shuffleInPlace(idx, rng);
    return idx.slice(0, m);
  };
  for (let s = 0; s < subsets; s++) values.push(mmd2Unbiased(X, Y, draw(X.n), draw(Y.n)));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return { mean, std, values, subsetSize: m };
}

function checkPair(X: Features, Y: Features, m: number, n: number): void {
  if (X.d !== Y.d) throw new Error(`KID: feature widths differ (${X.d} and ${Y.d}): both sets must go through the same network`);
  if (!(X.d > 0)) throw new Error('KID: features of width 0');
  if (m < 2 || n < 2) throw new Error(`KID: needs at least 2 images per side, got ${m} and ${n}`);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Features of a set: the model's encoder on [image resized to its size ‖ black canvas] (step 0's
 * input, step 0's BatchNorm statistics), inference mode, in batches.
 */
export function kidFeatures(model: Decomposer, set: ImageSet, batch = 64): Features {
  const S = model.cfg.size;
  const d = model.featureDim;
  const out = new Float32Array(set.n * d);
  const px = set.size * set.size * 3;
  for (let b0 = 0; b0 < set.n; b0 += batch) {
    const B = Math.min(batch, set.n - b0);
    const f = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(set.data.subarray(b0 * px, (b0 + B) * px), (v) => v / 255), [B, set.size, set.size, 3]);
      const target = resizeTo(x, S);
      const ctx = newCtx(false);
      ctx.step = 0;
      return encode(model.store, model.cfg, tf.concat([target, tf.zerosLike(target)], 3) as tf.Tensor4D, ctx).dataSync() as Float32Array;
    });
    out.set(f, b0 * d);
  }
  return { n: set.n, d, data: out };
}

/** x [B, s, s, 3] at side S: unchanged, box-averaged for a multiple of S, bilinear otherwise */
function resizeTo(x: tf.Tensor4D, S: number): tf.Tensor4D {
  const s = x.shape[1];
  if (s === S) return x;
  if (s % S === 0) return tf.avgPool(x, s / S, s / S, 'valid');
  return tf.image.resizeBilinear(x, [S, S], false, true);
}

/** the calibration transforms of a uint8 set at its size */
export function boxBlur3(set: ImageSet): ImageSet {
  const S = set.size;
  const out = new Uint8Array(set.data.length);
  const at = (i: number, y: number, x: number, c: number) => set.data[((i * S + Math.min(S - 1, Math.max(0, y))) * S + Math.min(S - 1, Math.max(0, x))) * 3 + c]!;
  for (let i = 0; i < set.n; i++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += at(i, y + dy, x + dx, c);
          out[((i * S + y) * S + x) * 3 + c] = Math.round(s / 9);
        }
  return { n: set.n, size: S, data: out };
}

/** every pixel replaced by the mean of its three channels */
export function greyscale(set: ImageSet): ImageSet {
  const out = new Uint8Array(set.data.length);
  for (let p = 0; p < out.length; p += 3) out[p] = out[p + 1] = out[p + 2] = Math.round((set.data[p]! + set.data[p + 1]! + set.data[p + 2]!) / 3);
  return { n: set.n, size: set.size, data: out };
}

/** n images of uniform noise in [0, 255] */
export function uniformNoise(n: number, size: number, seed = 0): ImageSet {
  const rng = mulberry32(seed ^ 0x0b5e);
  return { n, size, data: Uint8Array.from({ length: n * size * size * 3 }, () => Math.floor(rng() * 256)) };
}
