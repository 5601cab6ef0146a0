/**
 * Baseline auto-encoders of the paper (Table 2; architectures of the supplementary's Tables 4–7):
 * the same encoder as ours, on the target alone, gives a latent z with |z| = T·(K+3) (what our T
 * layers of K parameters + RGB amount to), and a conventional decoder turns z into the image:
 *   mlp    3 × (Linear 512 + BatchNorm + ReLU), Linear → S·S·3, sigmoid
 *   mlpxy  per pixel, the mask generator's network on (x, y, z): 3 × (Linear 128 + GroupNorm(32) per
 *          image + tanh), Linear → RGB, sigmoid — our f(x, y, p) with z for p and colour for the mask
 *   convt  Linear → 512 × (S/16)², then stride-2 transposed 4×4 convolutions 512 → 256 → 128 → 64
 *          (+BN, ReLU) and a last one to RGB, sigmoid
 *   resup  ResNet upsampling: Linear → 512 × (S/32)², then blocks of 512, 256, 256, 128, 64 channels
 *          (nearest ×2, 3×3 conv, BN, ReLU, 3×3 conv, BN, + 1×1-conv + BN skip of the upsampled
 *          input, ReLU), 3×3 conv to RGB, sigmoid. The skip is normalised as in torchvision's
 *          projection shortcuts, and the RGB conv is initialised for a linear output (fan-in, gain
 *          1): without both, the logits start with a standard deviation of ~12, most outputs sit in
 *          the sigmoid's flat tails and it never learns.
 * DECODER_TABLES holds these numbers once; test/baselines.test.ts checks every weight's shape.
 */
import { MASK_NET_DEFAULTS, type EncoderKind } from '../../config.js';
import { pixelGrid } from '../../core/grid.js';
import { groupNorm } from '../../core/groupNorm.js';
import { linearInit, normal, ParamStore } from '../../core/params.js';
import { mulberry32 } from '../../core/random.js';
import * as tf from '../../core/tf.js';
import { addBn, addConv, addLinear, bn, conv, linear, upsampleNearest2x, type Ctx } from '../../model/nn.js';
import { encode, encoderFeatures, initEncoder } from '../../model/encoder.js';

export type BaselineKind = 'mlp' | 'mlpxy' | 'convt' | 'resup';
export const BASELINES: BaselineKind[] = ['mlp', 'mlpxy', 'convt', 'resup'];

/** the supplementary's decoder tables: where each decoder starts and the channels of its stages */
export const DECODER_TABLES = {
  mlpxy: { hidden: MASK_NET_DEFAULTS.hidden, depth: MASK_NET_DEFAULTS.depth, groups: MASK_NET_DEFAULTS.groups },
  convt: { startDivisor: 16, startChannels: 512, channels: [256, 128, 64] },
  resup: { startDivisor: 32, startChannels: 512, channels: [512, 256, 256, 128, 64] },
} as const;

export interface BaselineConfig {
  kind: BaselineKind;
  size: number;
  latent: number;
  encoder: EncoderKind;
  smallChannels: number[];
  /** the plain MLP decoder's width */
  hidden: number;
}

/** |z| = T·(K+3) */
export const latentSize = (T: number, K: number) => T * (K + 3);

/** where a convolutional decoder starts: its side S/d and channels */
function decoderStart(kind: 'convt' | 'resup', size: number): { side: number; channels: number } {
  const t = DECODER_TABLES[kind];
  const side = size / t.startDivisor;
  if (!Number.isInteger(side) || side < 1) throw new Error(`${kind} decoder starts at S/${t.startDivisor}: the image size must be a multiple of ${t.startDivisor}, got ${size}`);
  return { side, channels: t.startChannels };
}

export class BaselineAE {
  readonly store = new ParamStore();
  private grid: tf.Tensor2D | null = null;

  constructor(readonly cfg: BaselineConfig, seed = 0) {
    const rng = mulberry32(seed);
    const { kind, size, latent, hidden } = cfg;
    initEncoder(this.store, cfg, 3, rng);
    const feat = encoderFeatures(cfg);
    addLinear(this.store, 'z', feat, latent, rng);
    if (kind === 'mlp') {
      let d = latent;
      for (let i = 0; i < 3; i++) {
        addLinear(this.store, `dec.l${i}`, d, hidden, rng);
        addBn(this.store, `dec.bn${i}`, hidden);
        d = hidden;
      }
      addLinear(this.store, 'dec.out', d, size * size * 3, rng);
    } else if (kind === 'mlpxy') {
      const { hidden: Hm, depth } = DECODER_TABLES.mlpxy;
      this.store.add('dec.l0.w', linearInit(latent + 2, [latent + 2, Hm], rng));
      this.store.add('dec.l0.b', linearInit(latent + 2, [Hm], rng));
      for (let i = 0; i < depth; i++) {
        if (i > 0) addLinear(this.store, `dec.l${i}`, Hm, Hm, rng);
        this.store.add(`dec.gn${i}.gamma`, tf.ones([Hm]));
        this.store.add(`dec.gn${i}.beta`, tf.zeros([Hm]));
      }
      addLinear(this.store, 'dec.out', Hm, 3, rng);
    } else {
      const start = decoderStart(kind, size);
      addLinear(this.store, 'dec.fc', latent, start.side * start.side * start.channels, rng);
      addBn(this.store, 'dec.fcbn', start.channels);
      let c: number = start.channels;
      const stages: number[] = kind === 'convt' ? [...DECODER_TABLES.convt.channels, 3] : [...DECODER_TABLES.resup.channels];
      stages.forEach((co, i) => {
        if (kind === 'convt') {
          // transposed conv filter [kh, kw, out, in]
          this.store.add(`dec.up${i}.w`, normal([4, 4, co, c], Math.sqrt(2 / (16 * c)), rng));
          if (i < stages.length - 1) addBn(this.store, `dec.up${i}.bn`, co);
        } else {
          addConv(this.store, `dec.up${i}.conv1`, 3, c, co, rng);
          addBn(this.store, `dec.up${i}.bn1`, co);
          addConv(this.store, `dec.up${i}.conv2`, 3, co, co, rng);
          addBn(this.store, `dec.up${i}.bn2`, co);
          addConv(this.store, `dec.up${i}.skip`, 1, c, co, rng);
          addBn(this.store, `dec.up${i}.skipbn`, co);
        }
        c = co;
      });
      if (kind === 'resup') this.store.add('dec.rgb.w', normal([3, 3, c, 3], Math.sqrt(1 / (9 * c)), rng));
    }
  }

  encode(x: tf.Tensor4D, ctx: Ctx): tf.Tensor2D {
    const f = encode(this.store, this.cfg, x, ctx);
    return linear(this.store, 'z', f);
  }

  decode(z: tf.Tensor2D, ctx: Ctx): tf.Tensor4D {
    const { kind, size: S, hidden } = this.cfg;
    const B = z.shape[0];
    const s = this.store;
    if (kind === 'mlp') {
      let h = z;
      for (let i = 0; i < 3; i++) h = tf.relu(bn(s, `dec.bn${i}`, linear(s, `dec.l${i}`, h).reshape([B, 1, 1, hidden]), ctx)).reshape([B, hidden]);
      return tf.sigmoid(linear(s, 'dec.out', h)).reshape([B, S, S, 3]);
    }
    if (kind === 'mlpxy') {
      // the mask generator's network (src/core/maskNet.ts) with z in place of p and RGB out
      const { hidden: Hm, depth, groups } = DECODER_TABLES.mlpxy;
      this.grid ??= tf.keep(pixelGrid(S, S));
      const w0 = s.get('dec.l0.w');
      const L = this.cfg.latent;
      const perPixel = tf.matMul(this.grid, w0.slice([0, 0], [2, Hm]) as tf.Tensor2D);
      const perImage = tf.matMul(z, w0.slice([2, 0], [L, Hm]) as tf.Tensor2D).add(s.get('dec.l0.b'));
      let h = perPixel.expandDims(0).add(perImage.expandDims(1)) as tf.Tensor3D; // [B, P, H]
      for (let i = 0; i < depth; i++) {
        if (i > 0) h = linear(s, `dec.l${i}`, h.reshape([B * S * S, Hm]) as tf.Tensor2D).reshape([B, S * S, Hm]);
        h = tf.tanh(groupNorm(h, groups, s.get(`dec.gn${i}.gamma`) as tf.Tensor1D, s.get(`dec.gn${i}.beta`) as tf.Tensor1D, 'image'));
      }
      return tf.sigmoid(linear(s, 'dec.out', h.reshape([B * S * S, Hm]) as tf.Tensor2D)).reshape([B, S, S, 3]);
    }
    const start = decoderStart(kind, S);
    let h = tf.relu(bn(s, 'dec.fcbn', linear(s, 'dec.fc', z).reshape([B, start.side, start.side, start.channels]), ctx));
    const ups = kind === 'convt' ? DECODER_TABLES.convt.channels.length + 1 : DECODER_TABLES.resup.channels.length;
    for (let i = 0; i < ups; i++) {
      if (kind === 'convt') {
        const w = s.get(`dec.up${i}.w`) as tf.Tensor4D;
        const co = w.shape[2];
        const y = tf.conv2dTranspose(h, w, [B, h.shape[1] * 2, h.shape[2] * 2, co], 2, 'same');
        h = i < ups - 1 ? tf.relu(bn(s, `dec.up${i}.bn`, y, ctx)) : tf.sigmoid(y);
      } else {
        const up = upsampleNearest2x(h);
        const a = tf.relu(bn(s, `dec.up${i}.bn1`, conv(s, `dec.up${i}.conv1`, up, 1, 1), ctx));
        const b = bn(s, `dec.up${i}.bn2`, conv(s, `dec.up${i}.conv2`, a, 1, 1), ctx);
        h = tf.relu(b.add(bn(s, `dec.up${i}.skipbn`, conv(s, `dec.up${i}.skip`, up, 1, 0), ctx)));
      }
    }
    return kind === 'resup' ? tf.sigmoid(conv(s, 'dec.rgb', h, 1, 1)) : h;
  }

  forward(x: tf.Tensor4D, ctx: Ctx): tf.Tensor4D {
    return this.decode(this.encode(x, ctx), ctx);
  }

  dispose(): void {
    this.store.dispose();
    this.grid?.dispose();
    this.grid = null;
  }
}
