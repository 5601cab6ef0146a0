/**
 * The GAN generator of the paper: the same layer-by-layer construction as the reconstruction
 * model, but with no target. At each step t an encoder looks at the current canvas (3 channels),
 * its feature is concatenated with fresh noise η_t ~ N(0, 1), and linear heads predict p_t and c_t:
 *
 *   h_t = [Encoder(canvas_{t−1}) ‖ η_t],  p_t = Linear(h_t),  c_t = sigmoid(Linear(h_t))
 *   canvas_t = blendLayer(canvas_{t−1}, f(x, y, p_t), c_t)
 *
 * The loop is src/core/layerLoop.ts; this file supplies its `predict` (the first line).
 *
 * A sample is a list of layers, so it renders at any resolution (trained at 32, written at 1024).
 */
import type { ModelConfig } from '../../config.js';
import { pixelGrid } from '../../core/grid.js';
import { layerLoop, type LayerStep } from '../../core/layerLoop.js';
import { maskNet } from '../../core/maskNet.js';
import { ParamStore } from '../../core/params.js';
import { mulberry32 } from '../../core/random.js';
import type { Layer } from '../../core/render.js';
import * as tf from '../../core/tf.js';
import { initLayerHeads, layerHeads } from '../../model/heads.js';
import type { Ctx } from '../../model/nn.js';
import { encode, encoderFeatures, initEncoder } from '../../model/encoder.js';

export interface GanConfig extends ModelConfig {
  /** size of the noise η_t */
  noise: number;
}

export class GanGenerator {
  readonly store = new ParamStore();
  private gridCache: tf.Tensor2D | null = null;

  constructor(readonly cfg: GanConfig, seed = 0) {
    const rng = mulberry32(seed);
    initEncoder(this.store, cfg, 3, rng);
    initLayerHeads(this.store, cfg, encoderFeatures(cfg) + cfg.noise, rng);
  }

  private encode(x: tf.Tensor4D, ctx: Ctx): tf.Tensor2D {
    return encode(this.store, this.cfg, x, ctx);
  }

  /** B samples: final canvas [B, S, S, 3] and each step's (p, c, mask, canvas) */
  generate(B: number, ctx: Ctx, seed?: number): { canvas: tf.Tensor4D; steps: LayerStep[] } {
    const S = this.cfg.size;
    const grid = (this.gridCache ??= tf.keep(pixelGrid(S, S)));
    const predict = (canvas: tf.Tensor4D, t: number) => {
      ctx.step = t;
      const eta = tf.randomNormal([B, this.cfg.noise], 0, 1, 'float32', seed === undefined ? undefined : seed * 1000 + t);
      const h = tf.concat([this.encode(canvas, ctx), eta], 1) as tf.Tensor2D;
      return layerHeads(this.store, h);
    };
    const maskOf = (p: tf.Tensor2D) => maskNet(this.store, this.cfg.mask, grid, p).masks.reshape([B, S, S, 1]) as tf.Tensor4D;
    return layerLoop(tf.zeros([B, S, S, 3]) as tf.Tensor4D, this.cfg.T, predict, maskOf, true);
  }

  /** samples as layer lists (for rendering at any size) */
  sampleLayers(B: number, ctx: Ctx, seed?: number): Layer[][] {
    return tf.tidy(() => {
      const { steps } = this.generate(B, ctx, seed);
      const ps = steps.map((s) => s.p.arraySync() as number[][]);
      const cs = steps.map((s) => s.c.arraySync() as number[][]);
      return Array.from({ length: B }, (_, b) => steps.map((_, t) => ({ p: ps[t]![b]!, colour: cs[t]![b] as [number, number, number], visible: true })));
    });
  }

  dispose(): void {
    this.store.dispose();
    this.gridCache?.dispose();
    this.gridCache = null;
  }
}
