/** Run a trained model over a set of images and measure it. */
import * as tf from '../core/tf.js';
import { batchTensor, range, type ImageSet } from '../data/imageSet.js';
import type { Decomposer } from '../model/decomposer.js';
import { newCtx } from '../model/nn.js';
import { psnr } from '../core/psnr.js';

export interface EvalResult {
  /** PSNR with BatchNorm running statistics (inference mode: what decompose uses) */
  psnr: number;
  /** PSNR with per-batch BatchNorm statistics (as during training) */
  psnrBatchStats: number;
  n: number;
}

export function evaluate(model: Decomposer, set: ImageSet, batch = 64, T?: number): EvalResult {
  let sumEval = 0;
  let sumBatch = 0;
  for (let i = 0; i < set.n; i += batch) {
    const idx = range(i, Math.min(set.n, i + batch));
    tf.tidy(() => {
      const x = batchTensor(set, idx);
      sumEval += psnr(model.forward(x, newCtx(false), false, T).canvas, x) * idx.length;
      const ctx = newCtx(true);
      sumBatch += psnr(model.forward(x, ctx, false, T).canvas, x) * idx.length;
      for (const u of ctx.bnUpdates) tf.dispose([u.mean, u.variance]);
    });
  }
  return { psnr: sumEval / set.n, psnrBatchStats: sumBatch / set.n, n: set.n };
}
