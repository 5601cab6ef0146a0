/**
 * Patch discriminator (critic) for WGAN-GP: stride-2 4×4 convolutions with LeakyReLU(0.2) and no
 * normalisation (batch statistics would break the per-sample gradient penalty), then a 3×3
 * convolution to one score per patch. 3 convolutions in all at 32 px, 5 at 128 px
 * (log2(size) − 2). The critic's value for an image is the mean of its patch scores.
 */
import { normal, ParamStore } from '../../core/params.js';
import { mulberry32 } from '../../core/random.js';
import * as tf from '../../core/tf.js';
import { leakyRelu } from '../../model/nn.js';

export interface CriticConfig {
  size: number;
  /** channels of the first convolution (doubles each layer, at most 512) */
  width: number;
}

export class PatchCritic {
  readonly store = new ParamStore();
  readonly layers: number;

  constructor(readonly cfg: CriticConfig, seed = 0) {
    const rng = mulberry32(seed);
    this.layers = Math.round(Math.log2(cfg.size)) - 2;
    if (this.layers < 2 || 2 ** (this.layers + 2) !== cfg.size) throw new Error(`patch critic needs a power-of-two size ≥ 16, got ${cfg.size}`);
    let cin = 3;
    for (let i = 0; i < this.layers; i++) {
      const last = i === this.layers - 1;
      const k = last ? 3 : 4;
      const cout = last ? 1 : Math.min(512, cfg.width * 2 ** i);
      this.store.add(`critic.c${i}.w`, normal([k, k, cin, cout], Math.sqrt(2 / (k * k * cin)), rng));
      this.store.add(`critic.c${i}.b`, tf.zeros([cout]));
      cin = cout;
    }
  }

  /** patch scores [B, h, w, 1] */
  patches(x: tf.Tensor4D): tf.Tensor4D {
    let h = x;
    for (let i = 0; i < this.layers; i++) {
      const last = i === this.layers - 1;
      const y = tf.conv2d(h, this.store.get(`critic.c${i}.w`) as tf.Tensor4D, last ? 1 : 2, 1).add(this.store.get(`critic.c${i}.b`)) as tf.Tensor4D;
      h = last ? y : leakyRelu(y, 0.2);
    }
    return h;
  }

  /** one score per image [B] */
  score(x: tf.Tensor4D): tf.Tensor1D {
    return tf.mean(this.patches(x), [1, 2, 3]) as tf.Tensor1D;
  }

  dispose(): void {
    this.store.dispose();
  }
}
