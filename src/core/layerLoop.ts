/**
 * The paper's layer loop (eqs. 2–3), written once. From a canvas I_0 (black, or the layers so far):
 *
 *   (p_t, c_t) = predict(I_{t−1}, t)
 *   M_t        = f(x, y, p_t)                        mask(p_t): src/core/maskNet.ts
 *   I_t        = I_{t−1} · (1 − M_t) + c_t · M_t      src/core/blend.ts
 *
 * What differs between its users is only `predict`: the decomposer's encoder on [target ‖ canvas]
 * (src/model/decomposer.ts), the GAN generator's encoder on the canvas plus noise
 * (src/research/model/ganGenerator.ts), refinement's layers being optimised (src/model/refine.ts), and the
 * web editor, which takes one step at a time between frames (web/main.ts). So a change to how a
 * step works (the canvas it starts from, what the predictor sees, T) is made here or in a predict.
 */
import { blendLayer } from './blend.js';
import * as tf from './tf.js';

/** layer t's mask parameters p [B, K] and colour c [B, 3] from the canvas before it [B, S, S, 3] */
export type Predict = (canvas: tf.Tensor4D, t: number) => { p: tf.Tensor2D; c: tf.Tensor2D };
/** masks [B, S, S, 1] of parameters p [B, K] */
export type MaskOf = (p: tf.Tensor2D) => tf.Tensor4D;

export interface LayerStep {
  p: tf.Tensor2D;
  c: tf.Tensor2D;
  mask: tf.Tensor4D;
  /** the canvas after this layer */
  canvas: tf.Tensor4D;
}

/** step t: the layer predicted from `canvas` and the canvas with it blended on top */
export function layerStep(canvas: tf.Tensor4D, t: number, predict: Predict, maskOf: MaskOf): LayerStep {
  const { p, c } = predict(canvas, t);
  const mask = maskOf(p);
  return { p, c, mask, canvas: blendLayer(canvas, mask, c) };
}

/** steps 0..T−1 from `canvas`; with `keep`, every step (the caller owns them) */
export function layerLoop(canvas: tf.Tensor4D, T: number, predict: Predict, maskOf: MaskOf, keep = false): { canvas: tf.Tensor4D; steps: LayerStep[] } {
  const steps: LayerStep[] = [];
  for (let t = 0; t < T; t++) {
    const s = layerStep(canvas, t, predict, maskOf);
    canvas = s.canvas;
    if (keep) steps.push(s);
  }
  return { canvas, steps };
}
