/** One training step of the reconstruction model: L1(I_T, target), gradients, Adam, BN stats. */
import * as tf from '../core/tf.js';
import type { Decomposer } from '../model/decomposer.js';
import { applyBnUpdates, discardBnUpdates, newCtx } from '../model/nn.js';
import type { Adam } from './adam.js';

export function l1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b)));
}

/** returns the loss before the update */
export function trainStep(model: Decomposer, opt: Adam, target: tf.Tensor4D, bnMomentum = 0.1): number {
  const ctx = newCtx(true, bnMomentum);
  const params = model.store.trainable();
  try {
    const { value, grads } = tf.variableGrads(() => l1(model.forward(target, ctx).canvas, target), [...params.values()]);
    const loss = value.dataSync()[0]!;
    value.dispose();
    if (!Number.isFinite(loss)) {
      tf.dispose(grads);
      throw new Error(`loss is ${loss} (not finite): training diverged; lower --lr or resume from the last checkpoint`);
    }
    const named = new Map<string, tf.Tensor>();
    for (const [name, v] of params) {
      const g = grads[v.name];
      if (g) named.set(name, g);
    }
    opt.apply(params, named);
    tf.dispose(grads);
    applyBnUpdates(model.store, ctx);
    return loss;
  } finally {
    discardBnUpdates(ctx);
  }
}
