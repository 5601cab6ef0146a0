/** Run a trained model over a set of images and measure it. */
import { leastSquaresCanvas } from '../../core/blend.js';
import * as tf from '../../core/tf.js';
import { batchTensor, range, type ImageSet } from '../../data/imageSet.js';
import type { Decomposer } from '../../model/decomposer.js';
import { newCtx } from '../../model/nn.js';
import { psnr } from '../../core/psnr.js';

export interface EvalResult {
  /** PSNR with BatchNorm running statistics (inference mode: what decompose uses) */
  psnr: number;
  /** PSNR with per-batch BatchNorm statistics (as during training) */
  psnrBatchStats: number;
  /**
   * PSNR (inference mode) with the least-squares colours in [0, 1] for the encoder's masks
   * (core/blend.ts leastSquaresCanvas): close to what decompose paints
   */
  psnrLs: number;
  n: number;
}

export function evaluate(model: Decomposer, set: ImageSet, batch = 64, T?: number): EvalResult {
  let sumEval = 0;
  let sumBatch = 0;
  let sumLs = 0;
  for (let i = 0; i < set.n; i += batch) {
    const idx = range(i, Math.min(set.n, i + batch));
    tf.tidy(() => {
      const x = batchTensor(set, idx);
      const { canvas, steps } = model.forward(x, newCtx(false), true, T);
      sumEval += psnr(canvas, x) * idx.length;
      sumLs += psnr(leastSquaresCanvas(steps.map((s) => s.mask), x, 1e-6), x) * idx.length;
      const ctx = newCtx(true);
      sumBatch += psnr(model.forward(x, ctx, false, T).canvas, x) * idx.length;
      for (const u of ctx.bnUpdates) tf.dispose([u.mean, u.variance]);
    });
  }
  return { psnr: sumEval / set.n, psnrBatchStats: sumBatch / set.n, psnrLs: sumLs / set.n, n: set.n };
}

/**
 * How alive the masks are, over the first `n` images (inference mode): a mask whose values vary
 * across the image by less than 0.02 (spatial standard deviation) is flat — it paints the whole
 * image or nothing, and carries almost no gradient for its shape. A run whose masks go flat is
 * collapsing, whatever its loss says yet.
 */
export interface MaskHealth {
  /** mean over (image, layer) of the mask's spatial standard deviation */
  spatialStd: number;
  /** share of (image, layer) masks that are flat */
  flat: number;
  /** share of masks that are flat and almost fully on (mean > 0.98) / off (mean < 0.02) */
  on: number;
  off: number;
}

export function maskHealth(model: Decomposer, set: ImageSet, n = 64): MaskHealth {
  return tf.tidy(() => {
    const x = batchTensor(set, range(0, Math.min(n, set.n)));
    const { steps } = model.forward(x, newCtx(false), true);
    const masks = tf.stack(steps.map((s) => s.mask)); // [T, B, S, S, 1]
    const { mean, variance } = tf.moments(masks, [2, 3, 4]);
    const std = variance.sqrt();
    const flat = std.less(0.02);
    const share = (t: tf.Tensor) => tf.mean(tf.cast(t, 'float32')).dataSync()[0]!;
    return { spatialStd: tf.mean(std).dataSync()[0]!, flat: share(flat), on: share(tf.logicalAnd(flat, mean.greater(0.98))), off: share(tf.logicalAnd(flat, mean.less(0.02))) };
  });
}
