/**
 * Render a stack of layers at any resolution.
 *
 * A layer is (p, colour): K mask parameters and an RGB colour. All layers share the mask MLP.
 * Large images are rendered in tiles so a 4096² render never holds more than one tile of
 * activations. In 'image' GroupNorm mode each layer's statistics are computed once, on the
 * model's reference grid (its training size), and reused by every tile: tiled == untiled,
 * and the image is the same continuous function whatever the output size.
 *
 * Two ways to evaluate the masks: 'dense' runs the MLP at every pixel (the reference), and
 * 'adaptive' (default) runs it coarse to fine and only where a mask has structure at pixel scale,
 * interpolating elsewhere (src/core/adaptive.ts): within 1/255 of 'dense', and its cost grows with
 * the masks' edges rather than the area.
 */
import * as tf from './tf.js';
import type { MaskNetConfig } from '../config.js';
import { ADAPTIVE_RENDER_DEFAULTS, RENDER_TILE } from '../config.js';
import { adaptiveComposite, adaptiveMask, adaptiveScratch, compositeScratch, type CompositeScratch, type MaskSampler } from './adaptive.js';
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
  /** tile edge in pixels (default RENDER_TILE, or ADAPTIVE_RENDER_DEFAULTS.tile when adaptive) */
  tile?: number;
  /** also return every layer's mask at this resolution */
  keepMasks?: boolean;
  /** 'adaptive' (default) or 'dense' (the MLP at every pixel: the reference) */
  method?: 'adaptive' | 'dense';
  /** adaptive: interpolation tolerance per mask (default ADAPTIVE_RENDER_DEFAULTS.tol) */
  tol?: number;
  /** adaptive: largest coarse stride in pixels, a power of 2 (default ADAPTIVE_RENDER_DEFAULTS.maxCoarse) */
  maxCoarse?: number;
}

export interface Rendered {
  width: number;
  height: number;
  /** RGB, row-major, values in [0, 1] */
  rgb: Float32Array;
  /** per-layer masks [width*height] when keepMasks */
  masks?: Float32Array[];
  /** how many (pixel, layer) mask values the MLP evaluated */
  evaluated: number;
  /** how many (pixel, layer) mask values the image needed (width · height · layers computed) */
  needed: number;
  /** the method actually used ('adaptive' falls back to 'dense' when the output is too small to gain) */
  method: 'adaptive' | 'dense';
}

/** GroupNorm statistics for each layer on the reference grid (empty arrays in 'pixel' mode). */
export function referenceStats(store: ParamStore, cfg: MaskNetConfig, ps: tf.Tensor2D, referenceSize: number): GroupStats[] {
  if (cfg.norm !== 'image') return [];
  return tf.tidy(() => {
    const stats = maskNetStats(store, cfg, pixelGrid(referenceSize, referenceSize), ps);
    return stats.map((s) => ({ mean: tf.keep(s.mean), rstd: tf.keep(s.rstd) }));
  });
}

/** the coarse lattice stride of an adaptive render, or 0 when adaptive rendering would not gain */
export function adaptiveStride(opt: RenderOptions): number {
  const maxCoarse = opt.maxCoarse ?? ADAPTIVE_RENDER_DEFAULTS.maxCoarse;
  // about two lattice nodes per reference pixel: the masks' detail is at the reference scale
  const perRef = Math.min(opt.width, opt.height) / (2 * opt.referenceSize);
  let s = 1;
  while (s * 2 <= Math.min(perRef, maxCoarse)) s *= 2;
  return s >= 4 ? s : 0; // at stride 2 the midpoints alone are every pixel
}

export function renderLayers(store: ParamStore, cfg: MaskNetConfig, layers: Layer[], opt: RenderOptions): Rendered {
  if (!Number.isInteger(opt.width) || !Number.isInteger(opt.height) || opt.width < 1 || opt.height < 1) {
    throw new Error(`render size must be positive whole numbers of pixels, got ${opt.width}×${opt.height}`);
  }
  if (opt.tile !== undefined && (!Number.isInteger(opt.tile) || opt.tile < 1)) throw new Error(`render tile must be a positive whole number, got ${opt.tile}`);
  if (opt.tol !== undefined && !(opt.tol >= 0 && opt.tol < 1)) throw new Error(`render tolerance must lie in [0, 1), got ${opt.tol}`);
  if ((opt.method ?? 'adaptive') === 'adaptive' && adaptiveStride(opt) > 0) return renderAdaptive(store, cfg, layers, opt);
  return renderDense(store, cfg, layers, opt);
}

/** the reference: the mask MLP at every pixel, tile by tile */
export function renderDense(store: ParamStore, cfg: MaskNetConfig, layers: Layer[], opt: RenderOptions): Rendered {
  const { width, height } = opt;
  const tile = opt.tile ?? RENDER_TILE;
  const rgb = new Float32Array(width * height * 3);
  const masks = opt.keepMasks ? layers.map(() => new Float32Array(width * height)) : undefined;
  const needed = width * height * layers.length;
  if (layers.length === 0) return { width, height, rgb, masks, evaluated: 0, needed, method: 'dense' };
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
  return { width, height, rgb, masks, evaluated: needed, needed, method: 'dense' };
}

/**
 * Masks coarse to fine (src/core/adaptive.ts), tile by tile; hidden layers are skipped unless
 * their masks are asked for.
 */
export function renderAdaptive(store: ParamStore, cfg: MaskNetConfig, layers: Layer[], opt: RenderOptions): Rendered {
  const { width, height } = opt;
  const coarse = adaptiveStride(opt) || 1;
  const tol = opt.tol ?? ADAPTIVE_RENDER_DEFAULTS.tol;
  // the image-only path keeps no per-layer full-size masks: larger tiles, fewer MLP calls
  const tile = opt.tile ?? (opt.keepMasks ? ADAPTIVE_RENDER_DEFAULTS.tile : ADAPTIVE_RENDER_DEFAULTS.compositeTile);
  const rgb = new Float32Array(width * height * 3);
  const masks = opt.keepMasks ? layers.map(() => new Float32Array(width * height)) : undefined;
  const wanted = layers.map((l) => !!masks || l.visible !== false);
  const needed = width * height * wanted.filter(Boolean).length;
  let evaluated = 0;
  if (layers.length === 0) return { width, height, rgb, masks, evaluated, needed, method: 'adaptive' };
  const ps = layers.map((l) => tf.tensor2d([l.p], [1, cfg.K]));
  const stats = tf.tidy(() => {
    const all = tf.tensor2d(layers.map((l) => l.p), [layers.length, cfg.K]);
    const s = referenceStats(store, cfg, all, opt.referenceSize);
    const per = layers.map((_, t) => s.map((g) => ({ mean: tf.keep(g.mean.slice(t, 1)), rstd: tf.keep(g.rstd.slice(t, 1)) })));
    for (const g of s) tf.dispose([g.mean, g.rstd]);
    return per;
  }) as unknown as GroupStats[][];
  const tw = Math.min(tile, width);
  const th = Math.min(tile, height);
  const scratch = adaptiveScratch(tw * th);
  const mask = new Float32Array(masks ? tw * th : 0);
  let cscratch: CompositeScratch | undefined;
  try {
    for (let y0 = 0; y0 < height; y0 += tile) {
      for (let x0 = 0; x0 < width; x0 += tile) {
        const w = Math.min(tile, width - x0);
        const h = Math.min(tile, height - y0);
        const tileMask = mask.subarray(0, w * h);
        const sampler = (t: number): MaskSampler => (xy, n, out) => {
          const coords = new Float32Array(2 * n);
          for (let k = 0; k < n; k++) {
            coords[2 * k] = (2 * (x0 + xy[2 * k]!) + 1) / width - 1;
            coords[2 * k + 1] = (2 * (y0 + xy[2 * k + 1]!) + 1) / height - 1;
          }
          const m = tf.tidy(() => maskNet(store, cfg, tf.tensor2d(coords, [n, 2]), ps[t]!, stats[t]).masks);
          out.set((m.dataSync() as Float32Array).subarray(0, n));
          m.dispose();
        };
        if (!masks) {
          // only the image is wanted: one quadtree for the whole stack (no per-layer full-size masks)
          const vis = layers.map((_, t) => t).filter((t) => wanted[t]);
          cscratch ??= compositeScratch(vis.length, tw * th);
          evaluated += adaptiveComposite(w, h, vis.map(sampler), vis.map((t) => layers[t]!.colour), { coarse, tol }, rgb, { x0, y0, stride: width }, cscratch);
          continue;
        }
        const tileRgb = new Float32Array(w * h * 3);
        layers.forEach((layer, t) => {
          if (!wanted[t]) return;
          evaluated += adaptiveMask(w, h, sampler(t), { coarse, tol }, tileMask, scratch);
          if (masks) copyTile(tileMask, 1, masks[t]!, width, x0, y0, w, h);
          if (layer.visible !== false) blendLayerInto(tileRgb, tileMask, layer.colour);
        });
        copyTile(tileRgb, 3, rgb, width, x0, y0, w, h);
      }
    }
  } finally {
    tf.dispose(ps);
    for (const s of stats) for (const g of s) tf.dispose([g.mean, g.rstd]);
  }
  return { width, height, rgb, masks, evaluated, needed, method: 'adaptive' };
}

function copyTile(src: Float32Array, ch: number, dst: Float32Array, width: number, x0: number, y0: number, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    dst.set(src.subarray(y * w * ch, (y + 1) * w * ch), ((y0 + y) * width + x0) * ch);
  }
}
