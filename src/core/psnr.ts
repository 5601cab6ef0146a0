/**
 * PSNR, one definition: for images in [0, 1], 10·log10(1 / MSE), with MSE floored at 1e-10
 * (100 dB, so identical images give a number). Over a set it is the mean of per-image PSNRs, as
 * in the paper and the PyTorch reference, not the PSNR of the mean error.
 */
import * as tf from './tf.js';

export function psnrFromMse(mse: number): number {
  return 10 * Math.log10(1 / Math.max(mse, 1e-10));
}

/** how many dB of PSNR an image loses when its squared error goes from `before` to `after` (both floored at 1e-12) */
export function dbLost(after: number, before: number): number {
  return 10 * Math.log10(Math.max(after, 1e-12) / Math.max(before, 1e-12));
}

/**
 * mean PSNR of `n` images stored one after another in a and b; values are multiplied by scaleA
 * and scaleB first (1/255 for bytes)
 */
export function psnrOf(a: ArrayLike<number>, b: ArrayLike<number>, n = 1, scaleA = 1, scaleB = 1): number {
  if (a.length !== b.length || a.length % n !== 0) throw new Error(`PSNR of images of different sizes (${a.length} vs ${b.length} values)`);
  const px = a.length / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let se = 0;
    for (let k = i * px; k < (i + 1) * px; k++) se += (a[k]! * scaleA - b[k]! * scaleB) ** 2;
    sum += psnrFromMse(se / px);
  }
  return sum / n;
}

/** mean PSNR over a batch of images [B, H, W, C] */
export function psnr(a: tf.Tensor4D, b: tf.Tensor4D): number {
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(a, b), [1, 2, 3]).dataSync() as Float32Array);
  return mse.reduce((s, m) => s + psnrFromMse(m), 0) / mse.length;
}
