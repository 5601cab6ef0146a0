/**
 * Pixel coordinates in [-1, 1]. We sample pixel centres: column i of a W-wide image has
 * x = (2i + 1) / W − 1, so a 256² render averaged down by 8 matches the 32² render of the same
 * layers (same continuous image, different sampling).
 */
import * as tf from './tf.js';

/** Coordinates [P, 2] (x, y) of the pixels of the tile (x0, y0, w, h) of a width×height image, row-major. */
export function pixelGrid(width: number, height: number, x0 = 0, y0 = 0, w = width, h = height): tf.Tensor2D {
  const d = new Float32Array(w * h * 2);
  let k = 0;
  for (let y = 0; y < h; y++) {
    const cy = (2 * (y0 + y) + 1) / height - 1;
    for (let x = 0; x < w; x++) {
      d[k++] = (2 * (x0 + x) + 1) / width - 1;
      d[k++] = cy;
    }
  }
  return tf.tensor2d(d, [w * h, 2]);
}
