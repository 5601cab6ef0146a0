/**
 * Memory estimates, made before any work so that a job too large for the machine is refused with
 * one line instead of being killed half-way (src/io/memoryLimit.ts compares them with the limit).
 *
 * They follow the big arrays the code allocates, with coefficients fitted to the peak resident
 * size of real runs (native backend) so that each estimate lies within 10% above the measured
 * peak; the measurements are the table of test/memory.test.ts, which holds the estimates to it.
 *   - training (2025-11): batch 32 at 32², T=10, mask MLP 3×128: small encoder 1.42 GB measured /
 *     1.45 estimated, ResNet-18 2.36 / 2.39. Mask MLP (fused native kernels): per step t the
 *     backward pass keeps xhat and tanh output of every hidden layer, [B, P, H] each, plus ~5
 *     scratch arrays of that size; encoder: ~760 floats per image pixel and step for ResNet-18
 *     (720 left the estimate 1% under the measured peak), ~48 for the small encoder.
 *   - rendering (issue 20, 1024² to 4096², 3 to 20 layers): below 8× the reference size the
 *     renderer is dense: the mask MLP on a tile of all layers at once, about 3.25 floats per
 *     (layer, tile pixel, hidden unit); above it adaptive (src/core/render.ts), whose working set
 *     is small: what grows is the output — the float image and PNG (13.5 bytes per pixel) and the
 *     composite's per-layer scratch on one tile (4 bytes per layer and tile pixel), or with every
 *     mask kept, 4 bytes per layer and pixel.
 *   - layered exports: every mask (float32) and every layer's RGBA raster (8 bytes per layer and
 *     pixel), then the file being built: PSD 20, ORA 19 bytes per pixel; SVG 7 bytes per layer and
 *     pixel and 31 per pixel (the rasters' alpha turned back into masks one layer at a time, and
 *     the contours).
 * Non-fused backends (cpu, wasm, the browser) keep every intermediate instead: ~6 arrays of
 * [B, P, H] per hidden layer (not measured again: the old tile rule, which errs high).
 */
import type { MaskNetConfig, ModelConfig } from '../config.js';

/** Node, tfjs and the addon before any array of ours (measured RSS of a started CLI) */
export const BASE_BYTES = 300e6;

/** a rendering command's base: Node, tfjs, the addon, the document and the renderer under way (fitted; `export --size 16` alone is 225 MB) */
export const RENDER_BASE_BYTES = 250e6;
/** the dense renderer's further fixed share (tfjs kernels at tile size) */
const DENSE_FIXED_BYTES = 35e6;
/** floats per (layer, tile pixel, hidden unit) of the dense renderer's fused mask MLP (fitted: 3.25) */
const DENSE_COPIES = 3.25;
/**
 * decompose beyond its render: the model, its shape bank, the photo at its own size and at the fit
 * size, the soft share's and the grid's renders, the input read again at the render size for the
 * PSNR (3 bytes per render pixel: decomposeExtraBytes). Fitted to `stratum decompose
 * samples/sunset.jpg --size S` at S = 1024, 2048, 4096 (test/memory.test.ts)
 */
export const DECOMPOSE_BYTES = 180e6;
export const decomposeExtraBytes = (width: number, height: number): number => DECOMPOSE_BYTES + 3 * width * height;
/** the adaptive renderer's composite tile (src/config.ts ADAPTIVE_RENDER_DEFAULTS.compositeTile) */
const COMPOSITE_TILE_PX = 1024 * 1024;

export { MAX_IMAGE_PIXELS } from '../config.js';

const F32 = 4;

/** arrays of [B, P, H] the mask MLP holds at once in inference */
function maskCopies(mask: MaskNetConfig, fused: boolean): number {
  return fused ? 3 : 6 * mask.depth;
}

export interface RenderJob {
  mask: MaskNetConfig;
  layers: number;
  width: number;
  height: number;
  referenceSize: number;
  tile: number;
  keepMasks?: boolean;
  fused: boolean;
}

/** whether the renderer takes its adaptive path (src/core/render.ts adaptiveStride > 0: a coarse stride of 4 or more) */
export const adaptiveRender = (j: Pick<RenderJob, 'width' | 'height' | 'referenceSize'>): boolean => Math.min(j.width, j.height) >= 8 * j.referenceSize;

/**
 * bytes of rendering `layers` layers at width × height (src/core/render.ts) and writing the PNG;
 * with keepMasks, of keeping every mask (edit --brighten/--tint, measured with its image and the
 * adjusted copy: 54 bytes per pixel besides the masks)
 */
export function renderBytes(j: RenderJob): number {
  const px = j.width * j.height;
  const N = Math.max(1, j.layers);
  if (j.fused && adaptiveRender(j)) {
    if (j.keepMasks) return RENDER_BASE_BYTES + px * (N * F32 + 54);
    return RENDER_BASE_BYTES + px * 13.5 + N * Math.min(px, COMPOSITE_TILE_PX) * 4;
  }
  const H = j.mask.hidden;
  const copies = j.fused ? DENSE_COPIES : maskCopies(j.mask, j.fused);
  const stats = j.mask.norm === 'image' ? (copies + 1) * N * j.referenceSize ** 2 * H * F32 : 0;
  const tilePx = Math.min(j.tile, j.width) * Math.min(j.tile, j.height);
  const tile = copies * N * tilePx * H * F32 + N * tilePx * F32;
  const output = px * 3 * F32 + px * 3 * 2 + (j.keepMasks ? N * px * F32 : 0);
  return RENDER_BASE_BYTES + DENSE_FIXED_BYTES + Math.max(stats, tile) + output;
}

/** the layered formats' bytes per pixel beyond the masks and rasters (8 per layer; SVG's own per-layer share) */
const LAYERED: Record<'psd' | 'ora' | 'svg', { perLayer: number; perPixel: number }> = {
  psd: { perLayer: 8, perPixel: 20 },
  ora: { perLayer: 8, perPixel: 19 },
  svg: { perLayer: 7, perPixel: 31 },
};

/** bytes of exporting to a layered format (src/export/layerImages.ts, psd.ts, ora.ts, svg.ts) */
export function exportBytes(j: RenderJob, format: 'png' | 'psd' | 'ora' | 'svg'): number {
  if (format === 'png') return renderBytes({ ...j, keepMasks: false });
  const f = LAYERED[format];
  const px = j.width * j.height;
  const N = Math.max(1, j.layers);
  const layered = RENDER_BASE_BYTES + px * (f.perLayer * N + f.perPixel);
  // below the adaptive size (or off the fused kernels) the masks come from the dense renderer, whose tile can be the larger share
  return adaptiveRender(j) && j.fused ? layered : Math.max(layered, renderBytes({ ...j, keepMasks: true }));
}

export interface TrainJob {
  model: ModelConfig;
  batch: number;
  /** bytes of the data set held in memory */
  dataBytes: number;
  fused: boolean;
}

/** bytes of one training step (forward with gradient tape and backward) */
export function trainBytes(j: TrainJob): number {
  const { model: m, batch: B } = j;
  const P = m.size * m.size;
  const H = m.mask.hidden;
  const L = m.mask.depth;
  const maskArrays = j.fused ? 2 * L * m.T + 5 : 6 * L * m.T;
  const mask = maskArrays * B * P * H * F32;
  const encoder = m.T * B * P * F32 * (m.encoder === 'resnet18' ? 760 : 48);
  const batch = 4 * B * P * 3 * F32; // batch, canvases and their gradients
  return BASE_BYTES + j.dataBytes + mask + encoder + batch;
}

/** a picture grid (src/eval/grid.ts): tiles of tile² pixels, upscaled by `scale`, `gap` pixels apart, with a caption band */
export interface GridJob {
  columns: number;
  rows: number;
  tile: number;
  scale?: number;
  gap?: number;
  labels?: boolean;
}

/** the grid image's size in pixels (the layout of src/eval/grid.ts) */
export function gridSize(g: GridJob): { width: number; height: number } {
  const scale = g.scale ?? 1;
  const gap = g.gap ?? 2;
  return { width: g.columns * (g.tile * scale + gap) + gap, height: (g.labels ? 16 : 0) + g.rows * (g.tile * scale + gap) + gap };
}

/**
 * bytes of a grid beyond the work before it: its tiles (float RGB, all kept until the grid is
 * written), the grid's RGB bytes, and sharp's PNG encode and caption composite (RGBA, twice)
 */
export function gridBytes(g: GridJob): number {
  const { width, height } = gridSize(g);
  const tiles = g.columns * g.rows * g.tile * g.tile * 3 * F32;
  return tiles + width * height * (3 + 2 * 4);
}
