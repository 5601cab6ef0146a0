/**
 * BatchNorm with batch statistics (training mode of src/model/nn.ts bn()) as one native forward
 * and one native backward call, instead of tfjs's ~25 composed ops per layer for moments,
 * normalisation and their gradients. Same math; test/native.test.ts compares both.
 */
import { NORM_EPS } from '../config.js';
import * as tf from '../core/tf.js';
import { fusedBatchNorm } from '../model/nn.js';
import type { NativeAddon } from './nativeAddon.js';
import { values } from './tensorValues.js';

export function registerNativeBatchNorm(n: NativeAddon, backend: string): void {
  function run(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
    const C = x.shape[3];
    const rows = x.size / C;
    const mean = new Float32Array(C);
    const variance = new Float32Array(C);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, g, b] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const y = new Float32Array(xi!.size);
      n.bnForward(values(xi!), rows, C, values(g!), values(b!), NORM_EPS, y, mean, variance);
      save([xi!, g!]);
      return {
        value: tf.tensor4d(y, x.shape),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const [sx, sg] = saved;
          const dx = new Float32Array(sx!.size);
          const dg = new Float32Array(C);
          const db = new Float32Array(C);
          n.bnBackward(values(sx!), values(dy as tf.Tensor), rows, C, values(sg!), mean, variance, NORM_EPS, dx, dg, db);
          return [tf.tensor4d(dx, x.shape), tf.tensor1d(dg), tf.tensor1d(db)];
        },
      };
    });
    const y = op(x, gamma, beta) as tf.Tensor4D;
    return { y, mean: tf.tensor1d(mean), variance: tf.tensor1d(variance) };
  }
  fusedBatchNorm.register([backend], run);
}
