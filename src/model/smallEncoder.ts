/**
 * A small encoder for CPU training: four 3×3 stride-2 convolutions (+ BatchNorm + ReLU) and global
 * average pooling. Same as the PyTorch reference's SmallEncoder.
 */
import * as tf from '../core/tf.js';
import type { ParamStore } from '../core/params.js';
import type { EncoderNorm } from '../config.js';
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

/** features [B, C] from the output of the first convolution */
export function smallEncoderFrom(store: ParamStore, prefix: string, stem: tf.Tensor4D, chans: number[], ctx: Ctx): tf.Tensor2D {
  let h = tf.relu(bn(store, `${prefix}.bn0`, stem, ctx));
  for (let i = 1; i < chans.length; i++) {
    h = tf.relu(bn(store, `${prefix}.bn${i}`, conv(store, `${prefix}.conv${i}`, h, 2, 1), ctx));
  }
  return tf.mean(h, [1, 2]) as tf.Tensor2D;
}
