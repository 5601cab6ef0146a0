/**
 * The enhancer of the paper's Fig. 6: an image-to-image U-Net (pix2pix's generator, small) that
 * takes a Stratum render R and adds back the details a few layers cannot hold:
 *
 *   E(R) = clip(R + U(R), 0, 1)
 *
 * U: `depth` levels; level i has two 3×3 convolutions of width·2^i channels with LeakyReLU(0.2),
 * then a stride-2 3×3 convolution down; on the way up a nearest-neighbour 2× upsampling, a 3×3
 * convolution, concatenation with the skip of that level and two 3×3 convolutions; a last 1×1
 * convolution to RGB, initialised at zero so that training starts from the identity E(R) = R
 * (the render's PSNR) and only has to learn the residual. No normalisation: the network is fully
 * convolutional and sees images of any size (a multiple of 2^depth, reflect-padded otherwise), so
 * an enhancer trained on 64² crops runs on a 1024² render.
 */
import { normal, ParamStore } from '../../core/params.js';
import { mulberry32 } from '../../core/random.js';
import * as tf from '../../core/tf.js';
import { enhancerConfigProblem } from '../../core/validate.js';
import { leakyRelu, upsampleNearest2x } from '../../model/nn.js';

export interface UNetConfig {
  kind: 'unet';
  /** channels of the first level (doubling per level) */
  width: number;
  /** levels below the input resolution */
  depth: number;
}

export function checkUNetConfig(c: unknown, where: string): UNetConfig {
  const problem = enhancerConfigProblem(c);
  if (problem) throw new Error(`${where}: ${problem}`);
  const o = c as UNetConfig;
  return { kind: 'unet', width: o.width, depth: o.depth };
}

export class UNet {
  readonly store = new ParamStore();

  constructor(readonly cfg: UNetConfig, seed = 0) {
    checkUNetConfig(cfg, 'UNet');
    const rng = mulberry32(seed);
    const add = (name: string, k: number, cin: number, cout: number, zero = false) => {
      this.store.add(`${name}.w`, zero ? tf.zeros([k, k, cin, cout]) : normal([k, k, cin, cout], Math.sqrt(2 / (k * k * cin)), rng));
      this.store.add(`${name}.b`, tf.zeros([cout]));
    };
    const ch = (i: number) => cfg.width * 2 ** i;
    let cin = 3;
    for (let i = 0; i <= cfg.depth; i++) {
      add(`enc${i}.a`, 3, cin, ch(i));
      add(`enc${i}.b`, 3, ch(i), ch(i));
      if (i < cfg.depth) add(`down${i}`, 3, ch(i), ch(i));
      cin = ch(i);
    }
    for (let i = cfg.depth - 1; i >= 0; i--) {
      add(`up${i}`, 3, ch(i + 1), ch(i));
      add(`dec${i}.a`, 3, 2 * ch(i), ch(i));
      add(`dec${i}.b`, 3, ch(i), ch(i));
    }
    add('out', 1, ch(0), 3, true);
  }

  private conv(name: string, x: tf.Tensor4D, stride = 1, act = true): tf.Tensor4D {
    const w = this.store.get(`${name}.w`) as tf.Tensor4D;
    const y = tf.conv2d(x, w, stride, 'same').add(this.store.get(`${name}.b`)) as tf.Tensor4D;
    return act ? leakyRelu(y, 0.2) : y;
  }

  /** U(R): the residual, same shape as x [B, H, W, 3]; H and W multiples of 2^depth */
  residual(x: tf.Tensor4D): tf.Tensor4D {
    const skips: tf.Tensor4D[] = [];
    let h = x;
    for (let i = 0; i <= this.cfg.depth; i++) {
      h = this.conv(`enc${i}.b`, this.conv(`enc${i}.a`, h));
      if (i < this.cfg.depth) {
        skips.push(h);
        h = this.conv(`down${i}`, h, 2);
      }
    }
    for (let i = this.cfg.depth - 1; i >= 0; i--) {
      h = this.conv(`up${i}`, upsampleNearest2x(h));
      h = this.conv(`dec${i}.b`, this.conv(`dec${i}.a`, tf.concat([h, skips[i]!], 3)));
    }
    return this.conv('out', h, 1, false);
  }

  /** E(R) = clip(R + U(R), 0, 1) for a batch whose sides are multiples of 2^depth */
  enhance(x: tf.Tensor4D): tf.Tensor4D {
    return tf.clipByValue(x.add(this.residual(x)), 0, 1);
  }

  /**
   * E(R) for one image of any size [H, W, 3] (floats in [0, 1]): mirror-padded up to multiples
   * of 2^depth, run in horizontal bands of about `band` rows (with 2^depth·4 rows of context each
   * side) so a 4096² render does not need the whole pyramid in memory, then cropped back.
   */
  enhanceImage(rgb: Float32Array, width: number, height: number, band = 256): Float32Array {
    const m = 2 ** this.cfg.depth;
    const ctxRows = 8 * m;
    const out = new Float32Array(width * height * 3);
    const step = Math.max(m, Math.ceil(band / m) * m);
    for (let y0 = 0; y0 < height; y0 += step) {
      const y1 = Math.min(height, y0 + step);
      const a = Math.max(0, y0 - ctxRows);
      const b = Math.min(height, y1 + ctxRows);
      const piece = tf.tidy(() => {
        const x = tf.tensor4d(rgb.subarray(a * width * 3, b * width * 3), [1, b - a, width, 3]);
        const ph = (m - ((b - a) % m)) % m;
        const pw = (m - (width % m)) % m;
        const padded = ph || pw ? tf.mirrorPad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], 'symmetric') : x;
        return this.enhance(padded as tf.Tensor4D).slice([0, y0 - a, 0, 0], [1, y1 - y0, width, 3]).dataSync() as Float32Array;
      });
      out.set(piece, y0 * width * 3);
    }
    return out;
  }

  dispose(): void {
    this.store.dispose();
  }
}
