/**
 * Per-step BatchNorm statistics for inference.
 *
 * The encoder runs T times per image, on canvases that go from black to nearly the target, so one
 * set of running statistics (PyTorch's default, what the reference reports as "eval BN") averages
 * very different distributions and inference quality lags training quality. After (or during)
 * training we measure, for every BatchNorm layer and every step t, the population mean and
 * variance over a few training batches, and inference uses the statistics of its own step.
 */
import * as tf from '../../core/tf.js';
import { batchTensor, type ImageSet } from '../../data/imageSet.js';
import type { Decomposer } from '../../model/decomposer.js';
import { newCtx } from '../../model/nn.js';
import { batchIndices } from './batches.js';

export function calibrateBatchNorm(model: Decomposer, set: ImageSet, batches = 8, batch = 32, seed = 1234): void {
  const T = model.cfg.T;
  const sums = new Map<string, { mean: Float64Array; sq: Float64Array; n: Float64Array }>();
  for (let b = 0; b < batches; b++) {
    const ctx = newCtx(true);
    tf.tidy(() => {
      model.forward(batchTensor(set, batchIndices(set.n, Math.min(batch, set.n), seed, b)), ctx);
    });
    for (const u of ctx.bnUpdates) {
      const m = u.mean.dataSync();
      const v = u.variance.dataSync();
      const C = m.length;
      let s = sums.get(u.name);
      if (!s) {
        s = { mean: new Float64Array(T * C), sq: new Float64Array(T * C), n: new Float64Array(T) };
        sums.set(u.name, s);
      }
      const t = u.step ?? 0;
      for (let c = 0; c < C; c++) {
        s.mean[t * C + c]! += m[c]!;
        s.sq[t * C + c]! += v[c]! + m[c]! * m[c]!;
      }
      s.n[t]! += 1;
      tf.dispose([u.mean, u.variance]);
    }
  }
  for (const [name, s] of sums) {
    const C = s.mean.length / T;
    const mean = new Float32Array(T * C);
    const variance = new Float32Array(T * C);
    for (let t = 0; t < T; t++)
      for (let c = 0; c < C; c++) {
        const k = t * C + c;
        const m = s.mean[k]! / Math.max(1, s.n[t]!);
        mean[k] = m;
        variance[k] = Math.max(0, s.sq[k]! / Math.max(1, s.n[t]!) - m * m);
      }
    for (const [suffix, data] of [['stepMean', mean], ['stepVar', variance]] as const) {
      const key = `${name}.${suffix}`;
      const value = tf.tensor2d(data, [T, C]);
      if (model.store.has(key)) {
        model.store.get(key).assign(value);
        value.dispose();
      } else model.store.add(key, value, false);
    }
  }
}
