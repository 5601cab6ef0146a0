/**
 * Render a stack of layers at any resolution.
 *
 * A layer is (p, colour): K mask parameters and an RGB colour. All layers share the mask MLP.
 * Large images are rendered in tiles so a 4096² render never holds more than one tile of
 * activations. In 'image' GroupNorm mode each layer's statistics are computed once, on the
 * model's reference grid (its training size), and reused by every tile: tiled == untiled,
 * and the image is the same continuous function whatever the output size.
 */
import * as tf from './tf.js';
import type { MaskNetConfig } from '../config.js';
import { RENDER_TILE } from '../config.js';
import { blendLayerInto } from './blend.js';
import type { GroupStats } from './groupNorm.js';
import { pixelGrid } from './grid.js';
import { maskNet, maskNetStats } from './maskNet.js';
import type { ParamStore } from './params.js';

export interface Layer {
  p: number[];
  colour: [number, number, number];
  /** hidden layers are skipped when blending */
  visible?: boolean;
}

export interface RenderOptions {
  width: number;
  height: number;
  /** reference grid edge for per-image GroupNorm statistics */
  referenceSize: number;
  /** tile edge in pixels (default RENDER_TILE) */
  tile?: number;
  /** also return every layer's mask at this resolution */
  keepMasks?: boolean;
}

export interface Rendered {
  width: number;
  height: number;
  /** RGB, row-major, values in [0, 1] */
  rgb: Float32Array;
  /** per-layer masks [width*height] when keepMasks */
  masks?: Float32Array[];
}

/** GroupNorm statistics for each layer on the reference grid (empty arrays in 'pixel' mode). */
export function referenceStats(store: ParamStore, cfg: MaskNetConfig, ps: tf.Tensor2D, referenceSize: number): GroupStats[] {
  if (cfg.norm !== 'image') return [];
  return tf.tidy(() => {
    const stats = maskNetStats(store, cfg, pixelGrid(referenceSize, referenceSize), ps);
    return stats.map((s) => ({ mean: tf.keep(s.mean), rstd: tf.keep(s.rstd) }));
  });
}

export function renderLayers(store: ParamStore, cfg: MaskNetConfig, layers: Layer[], opt: RenderOptions): Rendered {
  const { width, height } = opt;
  const tile = opt.tile ?? RENDER_TILE;
  const rgb = new Float32Array(width * height * 3);
  const masks = opt.keepMasks ? layers.map(() => new Float32Array(width * height)) : undefined;
  if (layers.length === 0) return { width, height, rgb, masks };
  const ps = tf.tensor2d(layers.map((l) => l.p), [layers.length, cfg.K]);
  const stats = referenceStats(store, cfg, ps, opt.referenceSize);
  try {
    for (let y0 = 0; y0 < height; y0 += tile) {
      for (let x0 = 0; x0 < width; x0 += tile) {
        const w = Math.min(tile, width - x0);
        const h = Math.min(tile, height - y0);
        const m = tf.tidy(() => maskNet(store, cfg, pixelGrid(width, height, x0, y0, w, h), ps, stats).masks);
        const all = m.dataSync() as Float32Array;
        m.dispose();
        const tileRgb = new Float32Array(w * h * 3);
        layers.forEach((layer, t) => {
          const mt = all.subarray(t * w * h, (t + 1) * w * h);
          if (masks) copyTile(mt, 1, masks[t]!, width, x0, y0, w, h);
          if (layer.visible !== false) blendLayerInto(tileRgb, mt, layer.colour);
        });
        copyTile(tileRgb, 3, rgb, width, x0, y0, w, h);
      }
    }
  } finally {
    ps.dispose();
    for (const s of stats) {
      s.mean.dispose();
      s.rstd.dispose();
    }
  }
  return { width, height, rgb, masks };
}

function copyTile(src: Float32Array, ch: number, dst: Float32Array, width: number, x0: number, y0: number, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    dst.set(src.subarray(y * w * ch, (y + 1) * w * ch), ((y0 + y) * width + x0) * ch);
  }
}
