/** Image quality metrics. PSNR is averaged per image, as in the paper and the PyTorch reference. */
import * as tf from '../core/tf.js';

/** mean over images of 10·log10(1 / MSE) for images in [0, 1], [B, H, W, C] */
export function psnr(a: tf.Tensor4D, b: tf.Tensor4D): number {
  return tf.tidy(() => {
    const mse = tf.mean(tf.squaredDifference(a, b), [1, 2, 3]).maximum(1e-10);
    return tf.mean(tf.log(tf.div(1, mse)).div(Math.log(10)).mul(10)).dataSync()[0]!;
  });
}

/** PSNR of uint8 arrays of the same shape */
export function psnrBytes(a: Uint8Array, b: Uint8Array): number {
  return psnrArrays(a, b, 255);
}

/** PSNR of one image given as two arrays of the same length with values in [0, peak] (MSE floored at 1e-10 like psnr) */
export function psnrArrays(a: ArrayLike<number>, b: ArrayLike<number>, peak = 1): number {
  if (a.length !== b.length) throw new Error(`PSNR of arrays of different lengths (${a.length} and ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i]! - b[i]!) / peak) ** 2;
  return 10 * Math.log10(1 / Math.max(s / a.length, 1e-10));
}
