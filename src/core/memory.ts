/**
 * Memory estimates, made before any work so that a job too large for the machine is refused with
 * one line instead of being killed half-way (src/io/memoryLimit.ts compares them with the limit).
 *
 * They count the big arrays only, from the shapes the code allocates, and were checked against the
 * peak resident size of real runs (native backend, 2025-11): training batch 32 at 32², T=10,
 * mask MLP 3×128: small encoder 1.42 GB measured / 1.45 estimated, ResNet-18 2.36 / 2.34.
 *   - mask MLP (fused native kernels): per step t the backward pass keeps xhat and tanh output of
 *     every hidden layer, [B, P, H] each, plus ~5 scratch arrays of that size;
 *   - encoder: ~720 floats per image pixel and step for ResNet-18, ~48 for the small encoder;
 *   - rendering: reference statistics over all layers on the reference grid, then one tile of
 *     all layers at a time, plus the output image and its PNG.
 * Non-fused backends (cpu, wasm, the browser) keep every intermediate instead: ~6 arrays of
 * [B, P, H] per hidden layer.
 */
import type { MaskNetConfig, ModelConfig } from '../config.js';

/** Node, tfjs and the addon before any array of ours (measured RSS of a started CLI) */
export const BASE_BYTES = 300e6;

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

/** bytes of rendering `layers` layers at width × height (src/core/render.ts) and writing the PNG */
export function renderBytes(j: RenderJob): number {
  const px = j.width * j.height;
  const N = Math.max(1, j.layers);
  const H = j.mask.hidden;
  const copies = maskCopies(j.mask, j.fused);
  const stats = j.mask.norm === 'image' ? (copies + 1) * N * j.referenceSize ** 2 * H * F32 : 0;
  const tilePx = Math.min(j.tile, j.width) * Math.min(j.tile, j.height);
  const tile = copies * N * tilePx * H * F32 + N * tilePx * F32;
  const output = px * 3 * F32 + px * 3 * 2 + (j.keepMasks ? N * px * F32 : 0);
  return BASE_BYTES + Math.max(stats, tile) + output;
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
  const encoder = m.T * B * P * F32 * (m.encoder === 'resnet18' ? 720 : 48);
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
