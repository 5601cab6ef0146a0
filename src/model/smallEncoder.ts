/**
 * A small encoder for CPU training: four 3×3 stride-2 convolutions (+ BatchNorm + ReLU) and global
 * average pooling. Same as the PyTorch reference's SmallEncoder.
 */
import * as tf from '../core/tf.js';
import type { ParamStore } from '../core/params.js';
import { addBn, addConv, bn, conv, type Ctx } from './nn.js';

export function initSmallEncoder(store: ParamStore, prefix: string, inCh: number, chans: number[], rng: () => number): void {
  let cin = inCh;
  chans.forEach((c, i) => {
    addConv(store, `${prefix}.conv${i}`, 3, cin, c, rng);
    addBn(store, `${prefix}.bn${i}`, c);
    cin = c;
  });
}

export function smallEncoder(store: ParamStore, prefix: string, x: tf.Tensor4D, chans: number[], ctx: Ctx): tf.Tensor2D {
  let h = x;
  chans.forEach((_, i) => {
    h = tf.relu(bn(store, `${prefix}.bn${i}`, conv(store, `${prefix}.conv${i}`, h, 2, 1), ctx));
  });
  return tf.mean(h, [1, 2]) as tf.Tensor2D;
}
