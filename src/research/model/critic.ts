/**
 * Patch discriminator (critic) for WGAN-GP: stride-2 4×4 convolutions with LeakyReLU(0.2) and no
 * normalisation (batch statistics would break the per-sample gradient penalty), then a 3×3
 * convolution to one score per patch. 3 convolutions in all at 32 px, 5 at 128 px
 * (log2(size) − 2). The critic's value for an image is the mean of its patch scores.
 *
 * Minibatch standard deviation (Karras et al. 2018, ProGAN §3), optional (`mbstd`, a group size G):
 * before the last convolution, one more channel holds, for each group of G samples, the standard
 * deviation over the group of every feature, averaged over features and positions:
 *   s_g = mean_{h,w,c} sqrt(var_{i∈g} F_i(h, w, c) + 1e-8)
 * A generator whose samples are alike gives a small s, which the critic can learn to score as fake:
 * a handle on mode collapse (docs/results.md, the GAN on photos). Sample i is in group i mod (B/G),
 * and G is the largest divisor of the batch not above the one asked for.
 */
import { normal, ParamStore } from '../../core/params.js';
import { mulberry32 } from '../../core/random.js';
import * as tf from '../../core/tf.js';
import { leakyRelu } from '../../model/nn.js';

export interface CriticConfig {
  size: number;
  /** channels of the first convolution (doubles each layer, at most 512) */
  width: number;
  /** minibatch-sd group size (absent or 0: off) */
  mbstd?: number;
}

/** the largest divisor of `batch` not above `want` */
export function groupSize(batch: number, want: number): number {
  for (let g = Math.min(want, batch); g > 1; g--) if (batch % g === 0) return g;
  return 1;
}

/** [B, H, W, C] → [B, H, W, 1]: each sample's group's feature standard deviation, averaged (see above) */
export function minibatchStd(h: tf.Tensor4D, want: number): tf.Tensor4D {
  const [B, H, W, C] = h.shape;
  const G = groupSize(B, want);
  const y = h.reshape([G, B / G, H, W, C]);
  const centred = y.sub(y.mean(0, true));
  const sd = tf.sqrt(tf.square(centred).mean(0).add(1e-8)).mean([1, 2, 3]); // [B/G]
  // (rank-2 tile and a broadcast: tfjs has no gradient for a rank-5 tile)
  return tf.tile(sd.reshape([1, B / G]), [G, 1]).reshape([B, 1, 1, 1]).mul(tf.ones([1, H, W, 1]));
}

export class PatchCritic {
  readonly store = new ParamStore();
  readonly layers: number;

  constructor(readonly cfg: CriticConfig, seed = 0) {
    const rng = mulberry32(seed);
    this.layers = Math.round(Math.log2(cfg.size)) - 2;
    if (this.layers < 2 || 2 ** (this.layers + 2) !== cfg.size) throw new Error(`patch critic needs a power-of-two size ≥ 16, got ${cfg.size}`);
    const mbstd = cfg.mbstd ?? 0;
    if (!Number.isInteger(mbstd) || mbstd < 0 || mbstd > 1024) throw new Error(`critic minibatch-sd group size must be an integer in [0, 1024], got ${cfg.mbstd}`);
    let cin = 3;
    for (let i = 0; i < this.layers; i++) {
      const last = i === this.layers - 1;
      if (last && mbstd) cin += 1;
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
      if (last && this.cfg.mbstd) h = tf.concat([h, minibatchStd(h, this.cfg.mbstd)], 3);
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
