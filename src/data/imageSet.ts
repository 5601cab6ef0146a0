/** A set of square RGB images in memory: uint8 [n, size, size, 3]. */
import * as tf from '../core/tf.js';

export interface ImageSet {
  n: number;
  size: number;
  data: Uint8Array;
}

export function imageSet(n: number, size: number, data: Uint8Array): ImageSet {
  if (data.length !== n * size * size * 3) throw new Error(`image data has ${data.length} bytes, expected ${n}×${size}×${size}×3`);
  return { n, size, data };
}

export function subset(set: ImageSet, idx: ArrayLike<number>): ImageSet {
  const px = set.size * set.size * 3;
  const out = new Uint8Array(idx.length * px);
  for (let i = 0; i < idx.length; i++) out.set(set.data.subarray(idx[i]! * px, (idx[i]! + 1) * px), i * px);
  return { n: idx.length, size: set.size, data: out };
}

/** images idx as a float tensor [b, size, size, 3] in [0, 1] */
export function batchTensor(set: ImageSet, idx: ArrayLike<number>): tf.Tensor4D {
  const px = set.size * set.size * 3;
  const out = new Float32Array(idx.length * px);
  for (let i = 0; i < idx.length; i++) {
    const src = set.data.subarray(idx[i]! * px, (idx[i]! + 1) * px);
    for (let j = 0; j < px; j++) out[i * px + j] = src[j]! / 255;
  }
  return tf.tensor4d(out, [idx.length, set.size, set.size, 3]);
}

export function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
