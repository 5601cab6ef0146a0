/**
 * ResNet-18 (torchvision layout, no pretraining, no final fc), NHWC. The first convolution takes
 * `inCh` channels: 6 for the reconstruction model (target ‖ canvas), 3 for the GAN generator.
 */
import * as tf from '../core/tf.js';
import type { ParamStore } from '../core/params.js';
import type { EncoderNorm } from '../config.js';
import { addBn, addConv, bn, conv, type Ctx } from './nn.js';

const STAGES: [number, number][] = [
  [64, 1],
  [128, 2],
  [256, 2],
  [512, 2],
];

export const RESNET18_FEATURES = 512;

export function initResNet18(store: ParamStore, prefix: string, inCh: number, rng: () => number, norm: EncoderNorm = 'batch'): void {
  addConv(store, `${prefix}.conv1`, 7, inCh, 64, rng);
  addBn(store, `${prefix}.bn1`, 64, norm);
  let cin = 64;
  STAGES.forEach(([cout, stride], s) => {
    for (let b = 0; b < 2; b++) {
      const n = `${prefix}.layer${s + 1}.${b}`;
      const st = b === 0 ? stride : 1;
      const ci = b === 0 ? cin : cout;
      addConv(store, `${n}.conv1`, 3, ci, cout, rng);
      addBn(store, `${n}.bn1`, cout, norm);
      addConv(store, `${n}.conv2`, 3, cout, cout, rng);
      addBn(store, `${n}.bn2`, cout, norm);
      if (st !== 1 || ci !== cout) {
        addConv(store, `${n}.down`, 1, ci, cout, rng);
        addBn(store, `${n}.downbn`, cout, norm);
      }
    }
    cin = cout;
  });
}

function basicBlock(store: ParamStore, n: string, x: tf.Tensor4D, stride: number, ctx: Ctx): tf.Tensor4D {
  const idt = store.has(`${n}.down.w`) ? bn(store, `${n}.downbn`, conv(store, `${n}.down`, x, stride, 0), ctx) : x;
  const out = tf.relu(bn(store, `${n}.bn1`, conv(store, `${n}.conv1`, x, stride, 1), ctx));
  return tf.relu(bn(store, `${n}.bn2`, conv(store, `${n}.conv2`, out, 1, 1), ctx).add(idt));
}

/** the 7×7 stride-2 first convolution (applied by the caller: see src/model/encoder.ts) */
export const RESNET18_STEM = { name: 'conv1', stride: 2, pad: 3 };

/** output of the first convolution [B, H/2, W/2, 64] -> features [B, 512] */
export function resNet18From(store: ParamStore, prefix: string, stem: tf.Tensor4D, ctx: Ctx): tf.Tensor2D {
  let h = tf.relu(bn(store, `${prefix}.bn1`, stem, ctx));
  h = tf.maxPool(h, 3, 2, 1);
  STAGES.forEach(([, stride], s) => {
    h = basicBlock(store, `${prefix}.layer${s + 1}.0`, h, stride, ctx);
    h = basicBlock(store, `${prefix}.layer${s + 1}.1`, h, 1, ctx);
  });
  return tf.mean(h, [1, 2]) as tf.Tensor2D;
}
