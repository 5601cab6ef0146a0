/** One optimisation step: loss, gradients, Adam, BatchNorm running statistics. */
import { COVERAGE_FLOOR, type TrainConfig } from '../../config.js';
import { leastSquaresCanvas } from '../../core/blend.js';
import * as tf from '../../core/tf.js';
import type { ParamStore } from '../../core/params.js';
import type { Decomposer } from '../../model/decomposer.js';
import { applyBnUpdates, discardBnUpdates, newCtx, type Ctx } from '../../model/nn.js';
import type { Adam } from '../../core/adam.js';

export function l1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b)));
}

export function mse(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(a, b));
}

export interface StepResult {
  /** the loss before the update */
  loss: number;
  /** the gradient's global L2 norm (before clipping), for logs and the collapse guard */
  gradNorm: number;
}

/**
 * Minimise `loss` over the trainable parameters of `store` (or those named in `only`) with one
 * Adam step. Returns the loss before the update and the gradient norm; a non-finite loss throws
 * and changes nothing.
 * With `clip` > 0 the gradients are scaled so their global L2 norm is at most `clip`.
 */
export function optimiseStep(store: ParamStore, opt: Adam, loss: (ctx: Ctx) => tf.Scalar, bnMomentum = 0.1, only?: (name: string) => boolean, clip = 0): StepResult {
  const ctx = newCtx(true, bnMomentum);
  const params = new Map([...store.trainable()].filter(([k]) => !only || only(k)));
  try {
    const { value, grads } = tf.variableGrads(() => loss(ctx), [...params.values()]);
    const l = value.dataSync()[0]!;
    value.dispose();
    if (!Number.isFinite(l)) {
      tf.dispose(grads);
      throw new Error(`loss is ${l} (not finite): training diverged; lower --lr or resume from the last checkpoint`);
    }
    const named = new Map<string, tf.Tensor>();
    for (const [name, v] of params) {
      const g = grads[v.name];
      if (g) named.set(name, g);
    }
    const gradNorm = Math.sqrt(tf.tidy(() => tf.addN([...named.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
    if (!Number.isFinite(gradNorm)) {
      tf.dispose(grads);
      throw new Error(`gradient norm is ${gradNorm} (not finite): training diverged; lower --lr or resume from the last checkpoint`);
    }
    if (clip > 0 && gradNorm > clip) {
      const k = clip / gradNorm;
      for (const [name, g] of named) named.set(name, tf.tidy(() => g.mul(k)));
    }
    opt.apply(params, named);
    // the gradients and, when clipped, their scaled copies (disposing a tensor twice is a no-op)
    tf.dispose([...Object.values(grads), ...named.values()]);
    applyBnUpdates(store, ctx);
    return { loss: l, gradNorm };
  } finally {
    discardBnUpdates(ctx);
  }
}

/**
 * The reconstruction loss: L1(I_T, target) with the encoder's colours, or with weight `lsLoss` the
 * L1 of the image with the least-squares colours for the same masks (what `decompose` paints,
 * src/model/decomposeImage.ts; core/blend.ts leastSquaresBlend), plus with weight `stepLoss` the
 * mean L1 of every step's canvas (deep supervision: each layer is asked to improve the image it is
 * painted on, so a layer whose colour matches what lies under it still gets a gradient):
 *   (1 − lsLoss) · L1(I_T, y) + lsLoss · L1(Σ_t c*_t w_t, y) + stepLoss · (1/T) Σ_t L1(I_t, y)
 *     + coverageLoss · mean_{b,t} max(0, COVERAGE_FLOOR − mean_x M_t(x))
 * The last term is a hinge on masks that have shrunk to (almost) nothing: their sigmoid saturates,
 * the reconstruction gradient through them vanishes, and the layer stays dead.
 * The encoder's colours still build the canvases it sees, so its colour head keeps a gradient
 * from the first term.
 */
export type Objective = Partial<Pick<TrainConfig, 'lsLoss' | 'stepLoss' | 'coverageLoss'>>;

export function reconstructionLoss(model: Decomposer, target: tf.Tensor4D, ctx: Ctx, { lsLoss = 0, stepLoss = 0, coverageLoss = 0 }: Objective = {}): tf.Scalar {
  if (!(lsLoss > 0) && !(stepLoss > 0) && !(coverageLoss > 0)) return l1(model.forward(target, ctx).canvas, target);
  const { canvas, steps } = model.forward(target, ctx, true);
  const terms: tf.Scalar[] = [];
  if (lsLoss > 0) terms.push(l1(leastSquaresCanvas(steps.map((s) => s.mask), target), target).mul(lsLoss) as tf.Scalar);
  if (lsLoss < 1) terms.push(l1(canvas, target).mul(1 - lsLoss) as tf.Scalar);
  if (stepLoss > 0) terms.push(tf.addN(steps.map((s) => l1(s.canvas, target))).mul(stepLoss / steps.length) as tf.Scalar);
  if (coverageLoss > 0) {
    const coverage = tf.stack(steps.map((s) => tf.mean(s.mask, [1, 2, 3]))); // [T, B]
    terms.push(tf.mean(tf.relu(tf.sub(COVERAGE_FLOOR, coverage))).mul(coverageLoss) as tf.Scalar);
  }
  return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
}

/** the reconstruction model's step on reconstructionLoss */
export function trainStep(model: Decomposer, opt: Adam, target: tf.Tensor4D, bnMomentum = 0.1, clip = 0, objective: Objective = {}): StepResult {
  return optimiseStep(model.store, opt, (ctx) => reconstructionLoss(model, target, ctx, objective), bnMomentum, undefined, clip);
}
