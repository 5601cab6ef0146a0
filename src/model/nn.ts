/**
 * Building blocks in NHWC layout on top of a ParamStore: conv, BatchNorm (batch statistics in
 * training with PyTorch-style running averages for inference), linear, stopGradient.
 */
import * as tf from '../core/tf.js';
import { ENCODER_GN_GROUPS, NORM_EPS, type EncoderNorm } from '../config.js';
import { FusedKernel } from '../core/fused.js';
import { linearInit, normal, ParamStore } from '../core/params.js';

/** Per-forward context: training mode and the BatchNorm running-stat updates it produced. */
export interface Ctx {
  training: boolean;
  bnMomentum: number;
  /** kept batch statistics, applied by applyBnUpdates after the optimiser step */
  bnUpdates: { name: string; mean: tf.Tensor; variance: tf.Tensor; count: number; step?: number }[];
  /** which of the T steps is running (the encoder sees a different canvas at each) */
  step?: number;
}

export function newCtx(training: boolean, bnMomentum = 0.1): Ctx {
  return { training, bnMomentum, bnUpdates: [] };
}

/** conv weight [kh, kw, cin, cout], Kaiming-normal fan_out init (torchvision ResNet). */
export function addConv(store: ParamStore, name: string, k: number, cin: number, cout: number, rng: () => number): void {
  store.add(`${name}.w`, normal([k, k, cin, cout], Math.sqrt(2 / (k * k * cout)), rng));
}

export function conv(store: ParamStore, name: string, x: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  return tf.conv2d(x, store.get(`${name}.w`) as tf.Tensor4D, stride, pad);
}

/**
 * A normalisation layer: BatchNorm ('batch', running statistics for inference), or GroupNorm
 * ('group': ENCODER_GN_GROUPS groups per image, the same in training and inference, what the
 * authors' code uses in its encoder). Only BatchNorm stores running statistics, and bn() picks
 * the kind from what the store holds.
 */
export function addBn(store: ParamStore, name: string, c: number, kind: EncoderNorm = 'batch'): void {
  store.add(`${name}.gamma`, tf.ones([c]));
  store.add(`${name}.beta`, tf.zeros([c]));
  if (kind === 'group') {
    if (c % ENCODER_GN_GROUPS !== 0) throw new Error(`${name}: ${c} channels do not split into ${ENCODER_GN_GROUPS} groups`);
    return;
  }
  store.add(`${name}.runMean`, tf.zeros([c]), false);
  store.add(`${name}.runVar`, tf.ones([c]), false);
}

/** GroupNorm of NHWC features: each image's groups of C/G channels normalised over (H, W, C/G) */
function groupNormNhwc(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = ENCODER_GN_GROUPS;
  const xg = x.reshape([n, h * w, g, c / g]);
  const { mean, variance } = tf.moments(xg, [1, 3], true);
  return xg.sub(mean).div(variance.add(NORM_EPS).sqrt()).reshape([n, h, w, c]).mul(gamma).add(beta);
}

/**
 * Row t of per-step statistics [T, C] as a new tensor. The rows are read from an array copy of the
 * variable made once per value (assigning a variable gives it a new dataId): slicing the tensor
 * cost 80 tfjs slices per 32² decomposition, 2.6 of its 19 ms.
 */
const stepStats = new WeakMap<tf.Tensor, { dataId: object; data: Float32Array }>();
function stepRow(v: tf.Tensor, t: number): tf.Tensor1D {
  let e = stepStats.get(v);
  if (!e || e.dataId !== v.dataId) {
    e = { dataId: v.dataId, data: v.dataSync() as Float32Array };
    stepStats.set(v, e);
  }
  const C = v.shape[1]!;
  return tf.tensor1d(e.data.slice(t * C, (t + 1) * C));
}

export function bn(store: ParamStore, name: string, x: tf.Tensor4D, ctx: Ctx): tf.Tensor4D {
  const gamma = store.get(`${name}.gamma`) as tf.Tensor1D;
  const beta = store.get(`${name}.beta`) as tf.Tensor1D;
  if (!store.has(`${name}.runMean`)) return groupNormNhwc(x, gamma, beta);
  if (!ctx.training) {
    // per-step statistics from calibrateBatchNorm (src/research/train/calibrate.ts) when present
    if (ctx.step !== undefined && store.has(`${name}.stepMean`)) {
      const sm = store.get(`${name}.stepMean`);
      const t = Math.min(ctx.step, sm.shape[0]! - 1);
      return tf.batchNorm4d(x, stepRow(sm, t), stepRow(store.get(`${name}.stepVar`), t), beta, gamma, NORM_EPS);
    }
    return tf.batchNorm4d(x, store.get(`${name}.runMean`) as tf.Tensor1D, store.get(`${name}.runVar`) as tf.Tensor1D, beta, gamma, NORM_EPS);
  }
  const [n, h, w] = x.shape;
  const fused = fusedBatchNorm.active();
  if (fused) {
    const r = fused(x, gamma, beta);
    ctx.bnUpdates.push({ name, mean: tf.keep(r.mean), variance: tf.keep(r.variance), count: n * h * w, step: ctx.step });
    return r.y;
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  ctx.bnUpdates.push({ name, mean: tf.keep(mean.clone()), variance: tf.keep(variance.clone()), count: n * h * w, step: ctx.step });
  return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta, gamma, NORM_EPS);
}

/** training-mode BatchNorm: normalised x and the batch statistics */
export type BatchNormTraining = (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D };

/** An optional fused training-mode BatchNorm (src/backend/nativeBatchNorm.ts). */
export const fusedBatchNorm = new FusedKernel<BatchNormTraining>('batchNorm');

/** running = (1 − m)·running + m·batch (unbiased variance), in forward order, as PyTorch does */
export function applyBnUpdates(store: ParamStore, ctx: Ctx): void {
  const m = ctx.bnMomentum;
  for (const u of ctx.bnUpdates) {
    const rm = store.get(`${u.name}.runMean`);
    const rv = store.get(`${u.name}.runVar`);
    const unbias = u.count > 1 ? u.count / (u.count - 1) : 1;
    tf.tidy(() => {
      rm.assign(rm.mul(1 - m).add(u.mean.mul(m)));
      rv.assign(rv.mul(1 - m).add(u.variance.mul(m * unbias)));
    });
    u.mean.dispose();
    u.variance.dispose();
  }
  ctx.bnUpdates.length = 0;
}

export function discardBnUpdates(ctx: Ctx): void {
  for (const u of ctx.bnUpdates) {
    u.mean.dispose();
    u.variance.dispose();
  }
  ctx.bnUpdates.length = 0;
}

export function addLinear(store: ParamStore, name: string, cin: number, cout: number, rng: () => number): void {
  store.add(`${name}.w`, linearInit(cin, [cin, cout], rng));
  store.add(`${name}.b`, linearInit(cin, [cout], rng));
}

export function linear(store: ParamStore, name: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(x, store.get(`${name}.w`) as tf.Tensor2D).add(store.get(`${name}.b`));
}

/** identity forward, zero gradient (tfjs-core has no stop_gradient op) */
const stopGradientOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
});
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

/**
 * LeakyReLU, written as a·x + (1 − a)·relu(x) (equal to tf.leakyRelu up to rounding) so that it and
 * its gradient run on the native backend's element-wise kernels (Relu, Step, Multiply, Add):
 * tfjs's LeakyRelu kernel and its gradient's Greater and Select run in JavaScript, as slow as
 * the convolutions around them in the enhancer's U-Net.
 */
export function leakyRelu(x: tf.Tensor4D, a: number): tf.Tensor4D {
  return x.mul(a).add(tf.relu(x).mul(1 - a));
}

/**
 * Nearest-neighbour ×2 upsampling, [B, H, W, C] -> [B, 2H, 2W, C], written as a broadcast so its
 * gradient is a plain broadcast-sum on every backend. (tfjs-backend-cpu 4.22's
 * ResizeNearestNeighborGrad offsets dy by the input's batch stride, so every image after the first
 * in a batch gets another image's gradient, and it ignores halfPixelCenters; the native backend
 * inherits that kernel.)
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return tf.mul(x.reshape([B, H, 1, W, 1, C]), tf.ones([1, 1, 2, 1, 2, 1])).reshape([B, 2 * H, 2 * W, C]);
}
