/**
 * WGAN-GP (Gulrajani et al. 2017): the critic maximises D(real) − D(fake) with a penalty
 * γ·(‖∇ D(x̂)‖₂ − 1)² at random interpolates x̂ = ε·real + (1 − ε)·fake; the generator minimises
 * −D(fake). Used by adversarial reconstruction (L1 + λ·adv) and by the GAN.
 */
import * as tf from '../../core/tf.js';
import type { PatchCritic } from '../model/critic.js';

/** mean over the batch of (‖∇_x D(x)‖₂ − 1)², differentiable w.r.t. the critic's parameters */
export function gradientPenalty(score: (x: tf.Tensor4D) => tf.Tensor1D, x: tf.Tensor4D): tf.Scalar {
  const g = tf.grad((xi: tf.Tensor) => tf.sum(score(xi as tf.Tensor4D)))(x);
  const norm = tf.sqrt(tf.sum(tf.square(g), [1, 2, 3]).add(1e-12));
  return tf.mean(tf.square(norm.sub(1)));
}

export function interpolate(real: tf.Tensor4D, fake: tf.Tensor4D, eps: tf.Tensor1D): tf.Tensor4D {
  const e = eps.reshape([-1, 1, 1, 1]);
  return real.mul(e).add(fake.mul(tf.sub(1, e)));
}

/** critic loss: D(fake) − D(real) + γ·GP */
export function criticLoss(critic: PatchCritic, real: tf.Tensor4D, fake: tf.Tensor4D, gamma: number, seed?: number): tf.Scalar {
  const eps = tf.randomUniform([real.shape[0]], 0, 1, 'float32', seed) as tf.Tensor1D;
  const xhat = interpolate(real, fake, eps);
  const gp = gradientPenalty((x) => critic.score(x), xhat);
  return tf.mean(critic.score(fake)).sub(tf.mean(critic.score(real))).add(gp.mul(gamma));
}

/** generator's adversarial loss: −D(fake) */
export function generatorLoss(critic: PatchCritic, fake: tf.Tensor4D): tf.Scalar {
  return tf.neg(tf.mean(critic.score(fake)));
}
