/**
 * Adam (Kingma & Ba) with bias correction, matching torch.optim.Adam. Its state (step count and
 * moments) is plain named tensors so checkpoints can save and resume it exactly.
 */
import { FusedKernel } from './fused.js';
import * as tf from './tf.js';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * The share of the base learning rate at fraction t ∈ [0, 1] of a cosine decay that ends at
 * `finalShare`: m + (1 − m) · ½(1 + cos(π t)). Training's schedule and refinement's decay both use it.
 */
export function cosineShare(t: number, finalShare: number): number {
  return finalShare + (1 - finalShare) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** an in-place update of p, m and v by one Adam step; returns false to decline (then the plain update runs) */
export type AdamUpdate = (p: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, stepSize: number, beta1: number, beta2: number, eps: number, bc2: number) => boolean;

/** the fused update (src/backend/nativeAdam.ts) */
export const fusedAdam = new FusedKernel<AdamUpdate>('adam');

export class Adam {
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(public cfg: AdamConfig) {}

  apply(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>): void {
    this.step++;
    const { lr, beta1, beta2, eps } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    const stepSize = lr / bc1;
    const fused = fusedAdam.active();
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`gradient for unknown parameter ${name}`);
      let m = this.m.get(name);
      let v = this.v.get(name);
      if (!m || !v) {
        // the zeros the variables are made from are freed; the variables keep their data
        m = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
        v = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
        this.m.set(name, m);
        this.v.set(name, v);
      }
      if (fused?.(p, g, m, v, stepSize, beta1, beta2, eps, bc2)) continue;
      const mm = m;
      const vv = v;
      tf.tidy(() => {
        const m1 = mm.mul(beta1).add(g.mul(1 - beta1));
        const v1 = vv.mul(beta2).add(g.square().mul(1 - beta2));
        mm.assign(m1);
        vv.assign(v1);
        p.assign(p.sub(m1.mul(stepSize).div(v1.div(bc2).sqrt().add(eps))));
      });
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
