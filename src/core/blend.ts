/**
 * Layer blending (paper eq. 3). The canvas starts black and each layer paints its colour c_t
 * through its mask M_t:
 *
 *   I_0 = 0,    I_t = I_{t-1} · (1 − M_t) + c_t · M_t
 *
 * here as tensors, for what needs gradients or batches (the layer loop, training's loss,
 * refinement's step); the same stack on plain arrays, for the per-image algorithms on masks
 * computed once, is src/core/stack.ts.
 */
import { boxSolve } from './solve.js';
import * as tf from './tf.js';

/** canvas [B, H, W, 3], mask [B, H, W, 1], colour [B, 3] -> new canvas */
export function blendLayer(canvas: tf.Tensor4D, mask: tf.Tensor4D, colour: tf.Tensor2D): tf.Tensor4D {
  const c = colour.reshape([colour.shape[0], 1, 1, 3]);
  return canvas.mul(tf.sub(1, mask)).add(c.mul(mask));
}

/**
 * The blend from black in closed form, a handful of ops whatever the layer count (the loop over
 * layers was 5 ops per layer, forward and backward, and op dispatch dominated a refinement step):
 *   I = Σ_t c_t · w_t,   w_t = M_t · Π_{s>t} (1 − M_s) = M_t · exp(Σ_{s>t} log(1 − M_s))
 * masks [V, n], colours [V, 3] -> [n, 3]. M is capped at 1 − 1e-6 inside the log only.
 */
export function closedFormBlend(masks: tf.Tensor2D, colours: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(blendWeights(masks.transpose() as tf.Tensor2D), colours));
}

/**
 * Each layer's weight in the blend from black, w_t = M_t · exp(Σ_{s>t} log(1 − M_s)), for masks
 * with the layers along the last axis (tfjs's cumsum gradient assumes it). M is capped at 1 − 1e-6
 * inside the log only.
 */
function blendWeights<R extends tf.Rank>(m: tf.Tensor<R>): tf.Tensor<R> {
  const axis = m.rank - 1;
  const logKeep = tf.log(tf.sub(1, tf.minimum(m, 1 - 1e-6)));
  return m.mul(tf.exp(tf.cumsum(logKeep, axis, true, true))); // Σ_{s>t}: exclusive, reversed
}

/**
 * The blend with least-squares colours, differentiable in the masks (the training loss with
 * `lsLoss`, src/research/train/step.ts, and held-out evaluation). The image is linear in the colours,
 * I = Σ_t c_t w_t with w_t = M_t Π_{s>t} (1 − M_s), so for given masks the best colours a document
 * can hold minimise ‖W C − y‖² over C in [0, 1] (core/solve.ts boxSolve, from the T×T
 * A = WᵀW and B = Wᵀy): a document can only hold colours in [0, 1], and without the box ten soft
 * masks could learn to be a basis that out-of-range colours combine into detail no document holds.
 * (The photo model's held-out crops: 23.5 dB with the encoder's colours, 28.3 with boxed
 * least-squares colours, 29.3 with unconstrained ones and the image clipped afterwards.) masks [B, P, T] (layers along the last axis), target [B, P, 3] ->
 * image [B, P, 3], colours [B, T, 3]; `ridge` is relative (boxSolve).
 */
export function leastSquaresBlend(masks: tf.Tensor3D, target: tf.Tensor3D, ridge = 1e-4): { image: tf.Tensor3D; colours: tf.Tensor3D } {
  return tf.tidy(() => {
    const w = blendWeights(masks); // [B, P, T]
    const colours = boxSolve(tf.matMul(w, w, true, false), tf.matMul(w, target, true, false), ridge);
    return { image: tf.matMul(w, colours), colours };
  });
}

/**
 * leastSquaresBlend for a layer loop's masks, one [B, H, W, 1] per step, and its target
 * [B, H, W, 3]: the canvas painted with the least-squares colours, [B, H, W, 3]
 */
export function leastSquaresCanvas(masks: tf.Tensor4D[], target: tf.Tensor4D, ridge?: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W] = target.shape;
    const m = tf.concat(masks, 3).reshape([B, H * W, masks.length]) as tf.Tensor3D;
    return leastSquaresBlend(m, target.reshape([B, H * W, 3]), ridge).image.reshape(target.shape) as tf.Tensor4D;
  });
}
