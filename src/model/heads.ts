/**
 * The per-step heads of both generators of layers (the decomposer and the GAN generator): from
 * the step's feature h_t,
 *
 *   p_t = Linear(h_t)             K mask parameters, fed to the mask MLP f(x, y, p_t)
 *   c_t = sigmoid(Linear(h_t))    RGB colour in [0, 1]
 *
 * and the mask MLP itself, initialised after the heads (the order fixes every seeded weight).
 */
import type { ModelConfig } from '../config.js';
import { initMaskNet } from '../core/maskNet.js';
import type { ParamStore } from '../core/params.js';
import * as tf from '../core/tf.js';
import { addLinear, linear } from './nn.js';

export function initLayerHeads(store: ParamStore, cfg: ModelConfig, featureDim: number, rng: () => number): void {
  addLinear(store, 'head.p', featureDim, cfg.mask.K, rng);
  addLinear(store, 'head.c', featureDim, 3, rng);
  initMaskNet(store, cfg.mask, rng);
}

export function layerHeads(store: ParamStore, h: tf.Tensor2D): { p: tf.Tensor2D; c: tf.Tensor2D } {
  return { p: linear(store, 'head.p', h), c: tf.sigmoid(linear(store, 'head.c', h)) as tf.Tensor2D };
}
