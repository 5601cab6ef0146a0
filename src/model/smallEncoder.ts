/**
 * A small encoder for CPU training: four 3×3 stride-2 convolutions (+ BatchNorm + ReLU) and global
 * average pooling (the PyTorch reference's SmallEncoder), or with pool 'flatten' the last feature
 * map kept whole (32² → 2×2×C: the heads see which quadrant a feature is in, which the average
 * throws away; a few hundred features, so the heads stay cheap).
 */
import * as tf from '../core/tf.js';
import type { ParamStore } from '../core/params.js';
import type { EncoderNorm, SmallPool } from '../config.js';
import { addBn, addConv, bn, conv, type Ctx } from './nn.js';

export function initSmallEncoder(store: ParamStore, prefix: string, inCh: number, chans: number[], rng: () => number, norm: EncoderNorm = 'batch'): void {
  let cin = inCh;
  chans.forEach((c, i) => {
    addConv(store, `${prefix}.conv${i}`, 3, cin, c, rng);
    addBn(store, `${prefix}.bn${i}`, c, norm);
    cin = c;
  });
}

/** the first convolution (applied by the caller: see src/model/encoder.ts) */
export const SMALL_STEM = { name: 'conv0', stride: 2, pad: 1 };

/** side of the last feature map for images of side `size`: each 3×3 stride-2 convolution (padding 1) halves it, rounding up */
export function smallFeatureSide(size: number, layers: number): number {
  let s = size;
  for (let i = 0; i < layers; i++) s = Math.floor((s - 1) / 2) + 1;
  return s;
}

/** features [B, C] (pool 'mean') or [B, h·w·C] ('flatten', NHWC order) from the output of the first convolution */
export function smallEncoderFrom(store: ParamStore, prefix: string, stem: tf.Tensor4D, chans: number[], ctx: Ctx, pool: SmallPool = 'mean'): tf.Tensor2D {
  let h = tf.relu(bn(store, `${prefix}.bn0`, stem, ctx));
  for (let i = 1; i < chans.length; i++) {
    h = tf.relu(bn(store, `${prefix}.bn${i}`, conv(store, `${prefix}.conv${i}`, h, 2, 1), ctx));
  }
  return pool === 'flatten' ? (h.reshape([h.shape[0], -1]) as tf.Tensor2D) : (tf.mean(h, [1, 2]) as tf.Tensor2D);
}
