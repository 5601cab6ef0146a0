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
import { blendLayerInto } from './stack.js';
import type { GroupStats } from './groupNorm.js';
import { pixelGrid } from './grid.js';
import { maskNet, maskNetStats } from './maskNet.js';
import type { ParamStore } from './params.js';
import { isPlacedOrSharp, placedBox, toLayerFrame, withGain, type Placement } from './placement.js';

export interface Layer {
  p: number[];
  colour: [number, number, number];
  /** hidden layers are skipped when blending */
  visible?: boolean;
  /** the layer's own frame (src/core/placement.ts); absent: the whole frame, as in the paper */
  place?: Placement;
  /** gain on the mask's logit, σ(g · z) (default 1: the network's mask itself) */
  gain?: number;
  /** opacity α: the layer blends with α · M (default 1) */
  opacity?: number;
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
  /** the frame's (a_x, a_y) for placed layers (src/core/placement.ts frameAspect; default square) */
  aspect?: [number, number];
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
  // about two lattice nodes per reference pixel: the masks' detail is at the reference scale
  return strideFor(Math.min(opt.width, opt.height) / (2 * opt.referenceSize), opt);
}

/**
 * The lattice stride for one placed or sharpened layer: its reference grid spans only its window,
 * and a gain g sharpens its edges, so its detail is (window side) / (reference size · √g) pixels.
 * 0: evaluate the layer at every pixel of its box.
 */
export function layerStride(layer: Layer, opt: RenderOptions): number {
  const long = Math.max(opt.width, opt.height);
  const side = layer.place ? Math.min(layer.place.sx, layer.place.sy) * long : Math.min(opt.width, opt.height);
  return strideFor(side / (2 * opt.referenceSize * Math.sqrt(Math.max(1, layer.gain ?? 1))), opt);
}

function strideFor(perRef: number, opt: RenderOptions): number {
  const maxCoarse = opt.maxCoarse ?? ADAPTIVE_RENDER_DEFAULTS.maxCoarse;
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
  const aspect = opt.aspect ?? [1, 1];
  // plain layers share the frame's coordinates and run in one batch; placed or sharpened layers
  // each map the coordinates into their own frame (src/core/placement.ts)
  const plain = layers.map((_, t) => t).filter((t) => !isPlacedOrSharp(layers[t]!));
  const special = layers.map((_, t) => t).filter((t) => isPlacedOrSharp(layers[t]!));
  const slot = layers.map(() => -1);
  plain.forEach((t, k) => (slot[t] = k));
  const own = new Map(special.map((t) => [t, stats.map((g) => ({ mean: g.mean.slice(t, 1), rstd: g.rstd.slice(t, 1) }))]));
  // the plain layers' parameters and statistics, gathered once for every tile
  const gathered = plain.length > 0 && plain.length < layers.length;
  const plainPs = gathered ? tf.gather(ps, plain) : ps;
  const plainStats = gathered ? stats.map((g) => ({ mean: tf.gather(g.mean, plain), rstd: tf.gather(g.rstd, plain) })) : stats;
  try {
    for (let y0 = 0; y0 < height; y0 += tile) {
      for (let x0 = 0; x0 < width; x0 += tile) {
        const w = Math.min(tile, width - x0);
        const h = Math.min(tile, height - y0);
        const grid = pixelGrid(width, height, x0, y0, w, h);
        const m = plain.length ? tf.tidy(() => maskNet(store, cfg, grid, plainPs, plainStats).masks) : null;
        const all = m ? (m.dataSync() as Float32Array) : new Float32Array(0);
        m?.dispose();
        const xy = special.length ? (grid.dataSync() as Float32Array) : null;
        grid.dispose();
        const tileRgb = new Float32Array(w * h * 3);
        const ownMask = new Float32Array(special.length ? w * h : 0);
        layers.forEach((layer, t) => {
          let mt: Float32Array;
          if (slot[t]! >= 0) mt = all.subarray(slot[t]! * w * h, (slot[t]! + 1) * w * h);
          else {
            layerMask(store, cfg, layer, own.get(t)!, aspect, xy!, w * h, ownMask);
            mt = ownMask;
          }
          if (masks) copyTile(mt, 1, masks[t]!, width, x0, y0, w, h);
          if (layer.visible !== false) blendLayerInto(tileRgb, mt, layer.colour);
        });
        copyTile(tileRgb, 3, rgb, width, x0, y0, w, h);
      }
    }
  } finally {
    ps.dispose();
    for (const s of own.values()) for (const g of s) tf.dispose([g.mean, g.rstd]);
    if (gathered) tf.dispose([plainPs, ...plainStats.flatMap((g) => [g.mean, g.rstd])]);
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
  const aspect = opt.aspect ?? [1, 1];
  const ps = layers.map((l) => tf.tensor2d([l.p], [1, cfg.K]));
  // statistics of the wanted layers only (a hidden layer is never looked at, not even batched with the others)
  const wantedIdx = layers.map((_, t) => t).filter((t) => wanted[t]);
  const stats = tf.tidy((): never => {
    const per: GroupStats[][] = layers.map(() => []);
    if (!wantedIdx.length) return per as never;
    const all = tf.tensor2d(wantedIdx.map((t) => layers[t]!.p), [wantedIdx.length, cfg.K]);
    const s = referenceStats(store, cfg, all, opt.referenceSize);
    wantedIdx.forEach((t, k) => (per[t] = s.map((g) => ({ mean: tf.keep(g.mean.slice(k, 1)), rstd: tf.keep(g.rstd.slice(k, 1)) }))));
    for (const g of s) tf.dispose([g.mean, g.rstd]);
    return per as never;
  }) as unknown as GroupStats[][];
  const tw = Math.min(tile, width);
  const th = Math.min(tile, height);
  const scratch = adaptiveScratch(tw * th);
  // placed or sharpened layers: each its own lattice stride, and placed ones their pixel box
  const anySpecial = layers.some((l, t) => wanted[t] && isPlacedOrSharp(l));
  const strides = layers.map((l) => (isPlacedOrSharp(l) ? layerStride(l, opt) : coarse));
  const boxes = layers.map((l) => (l.place ? pixelBoxOf(l.place, aspect, width, height) : null));
  const mask = new Float32Array(masks || anySpecial ? tw * th : 0);
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
          if (isPlacedOrSharp(layers[t]!)) return layerMask(store, cfg, layers[t]!, stats[t]!, aspect, coords, n, out);
          const m = tf.tidy(() => maskNet(store, cfg, tf.tensor2d(coords, [n, 2]), ps[t]!, stats[t]).masks);
          out.set((m.dataSync() as Float32Array).subarray(0, n));
          m.dispose();
        };
        if (!masks && !anySpecial) {
          // only the image is wanted: one quadtree for the whole stack (no per-layer full-size masks)
          const vis = layers.map((_, t) => t).filter((t) => wanted[t]);
          cscratch ??= compositeScratch(vis.length, tw * th);
          evaluated += adaptiveComposite(w, h, vis.map(sampler), vis.map((t) => layers[t]!.colour), { coarse, tol }, rgb, { x0, y0, stride: width }, cscratch);
          continue;
        }
        const tileRgb = new Float32Array(w * h * 3);
        layers.forEach((layer, t) => {
          if (!wanted[t]) return;
          const box = boxes[t];
          if (box) {
            // a placed layer: nothing outside its box; small ones at every pixel of box ∩ tile
            const i0 = Math.max(box[0], x0) - x0, i1 = Math.min(box[1], x0 + w - 1) - x0;
            const j0 = Math.max(box[2], y0) - y0, j1 = Math.min(box[3], y0 + h - 1) - y0;
            if (i0 > i1 || j0 > j1) return;
            if (!strides[t]) {
              tileMask.fill(0);
              const n = (i1 - i0 + 1) * (j1 - j0 + 1);
              const xy = new Int32Array(2 * n);
              let k = 0;
              for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++, k++) (xy[2 * k] = i), (xy[2 * k + 1] = j);
              const vals = new Float32Array(n);
              sampler(t)(xy, n, vals);
              for (k = 0; k < n; k++) tileMask[xy[2 * k + 1]! * w + xy[2 * k]!] = vals[k]!;
              evaluated += n;
            } else evaluated += adaptiveMask(w, h, sampler(t), { coarse: strides[t]!, tol }, tileMask, scratch);
          } else evaluated += adaptiveMask(w, h, sampler(t), { coarse: strides[t] || coarse, tol }, tileMask, scratch);
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

/**
 * One layer's mask at n frame coordinates xy [n, 2] (src/core/placement.ts): f in the layer's own
 * frame where its window is non-zero (the MLP runs only there), times the window, with the gain on
 * the logit. `stats`: the layer's reference-grid statistics ([1, …] each; 'image' mode).
 */
export function layerMask(store: ParamStore, cfg: MaskNetConfig, layer: Layer, stats: GroupStats[], aspect: [number, number], xy: Float32Array, n: number, out: Float32Array): void {
  const g = layer.gain ?? 1;
  const a = layer.opacity ?? 1;
  let uv = xy;
  let k = n;
  let inside: Int32Array | null = null;
  let win: Float32Array | null = null;
  if (layer.place) {
    const [x0, x1, y0, y1] = placedBox(layer.place, aspect);
    uv = new Float32Array(2 * n);
    win = new Float32Array(n);
    inside = new Int32Array(n);
    // points outside the box: the window is 0 there (checked per point below too)
    k = 0;
    let any = false;
    for (let i = 0; i < n && !any; i++) {
      const x = xy[2 * i]!;
      const y = xy[2 * i + 1]!;
      any = x >= x0 && x <= x1 && y >= y0 && y <= y1;
    }
    if (any) k = toLayerFrame(layer.place, aspect, xy, n, uv, win, inside);
    out.fill(0, 0, n);
    if (k === 0) return;
  }
  const m = tf.tidy(() => maskNet(store, cfg, tf.tensor2d(uv.subarray(0, 2 * k), [k, 2]), tf.tensor2d([layer.p], [1, cfg.K]), stats).masks);
  const v = m.dataSync() as Float32Array;
  m.dispose();
  if (inside) for (let j = 0; j < k; j++) out[inside[j]!] = a * win![inside[j]!]! * withGain(v[j]!, g);
  else for (let j = 0; j < n; j++) out[j] = a * withGain(v[j]!, g);
}

/** the pixel box [i0, i1] × [j0, j1] of a width×height render outside which a placed mask is 0 (may be empty) */
export function pixelBoxOf(place: Placement, aspect: [number, number], width: number, height: number): [number, number, number, number] {
  const [x0, x1, y0, y1] = placedBox(place, aspect);
  return [Math.max(0, Math.floor(((x0 + 1) * width - 1) / 2)), Math.min(width - 1, Math.ceil(((x1 + 1) * width - 1) / 2)), Math.max(0, Math.floor(((y0 + 1) * height - 1) / 2)), Math.min(height - 1, Math.ceil(((y1 + 1) * height - 1) / 2))];
}
