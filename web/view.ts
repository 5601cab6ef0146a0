/**
 * What the editor draws, all through the library's renderer (src/core/render.ts renderLayers, with
 * the document's frame and placed layers): the render at the view's size, the canvas after each
 * layer (the steps strip), each layer's swatch, and each layer's contribution. Masks are cached
 * per layer shape (p, placement, gain, opacity) and size, so a recolour, a toggle or a reorder
 * re-blends without the network; only a changed shape recomputes its mask.
 */
import { blendLayerInto, compositeLayers } from '../src/core/stack.js';
import { frameSize, type DocLayer } from '../src/core/document.js';
import { frameAspect } from '../src/core/placement.js';
import { adaptiveStride, renderLayers, type RenderOptions } from '../src/core/render.js';
import { resampleArea } from '../src/core/resample.js';
import { contributionsFromMasks } from '../src/eval/contribution.js';
import { fitDims, type Frame } from '../src/model/decomposeFrame.js';
import { frameOf, S, state } from './state.js';
import { $ } from './ui.js';

const TILE = 64;
const ADAPTIVE_TILE = 256;
/** long side of the steps strip's thumbnails and the layer swatches */
export const THUMB = 48;
/** long side of the grid the layer list's contributions are measured on (at most the image's own) */
export const CONTRIBUTION_SIDE = 128;
/** mask values kept in the cache (128 MB) before the oldest are dropped */
const CACHE_VALUES = 32 * 1024 * 1024;

const cache = new Map<string, Float32Array>();
let cached = 0;

function shapeKey(l: DocLayer): string {
  const pl = l.place ? [l.place.x, l.place.y, l.place.angle, l.place.sx, l.place.sy].join(',') : '';
  return `${l.p.join(',')}|${pl}|${l.gain ?? 1}|${l.opacity ?? 1}`;
}

/** a layer's mask at width×height of the frame, computed once per (shape, size) */
export function maskAt(layer: DocLayer, width: number, height: number): Float32Array {
  const f = frameOf();
  const key = `${width}x${height}@${f.width}x${f.height}|${shapeKey(layer)}`;
  let m = cache.get(key);
  if (m) {
    // most recently used last: the oldest go first when the cache is full
    cache.delete(key);
    cache.set(key, m);
    return m;
  }
  const opt: RenderOptions = { width, height, referenceSize: S(), keepMasks: true, aspect: frameAspect(f) };
  // zoomed in, masks are evaluated coarse to fine (the MLP only along edges): bigger tiles mean
  // fewer, fuller batches; the dense path keeps small tiles for WebGL memory
  m = renderLayers(state.model!.store, state.model!.cfg.mask, [layer], { ...opt, tile: adaptiveStride(opt) ? ADAPTIVE_TILE : TILE }).masks![0]!;
  for (const [k, v] of cache) {
    if (cached + m.length <= CACHE_VALUES) break;
    cache.delete(k);
    cached -= v.length;
  }
  cache.set(key, m);
  cached += m.length;
  return m;
}

/** keep a mask the caller computed (the refinement's, at its fit size) */
export function keepMask(layer: DocLayer, width: number, height: number, m: Float32Array): void {
  const f = frameOf();
  const key = `${width}x${height}@${f.width}x${f.height}|${shapeKey(layer)}`;
  if (!cache.has(key) && m.length === width * height) {
    cache.set(key, m);
    cached += m.length;
  }
}

/** the visible layers among the first `upTo`, blended at width×height */
export function compositeAt(width: number, height: number, upTo = state.layers.length): Float32Array {
  return compositeLayers(width * height, state.layers.slice(0, upTo), (l) => maskAt(l, width, height));
}

export function putRgb(canvas: HTMLCanvasElement, rgb: Float32Array, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const img = new ImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) img.data[4 * p + c] = Math.round(Math.min(1, Math.max(0, rgb[3 * p + c]!)) * 255);
    img.data[4 * p + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

/** the view's render size: its long side at the frame's aspect */
export function viewDims(): [number, number] {
  return frameSize({ frame: frameOf() }, state.viewSize);
}

/** the render of the first `upTo` layers (all by default) in the view */
export function draw(upTo = state.layers.length): void {
  if (!state.model || !state.frame) return;
  const [w, h] = viewDims();
  putRgb($<HTMLCanvasElement>('view'), compositeAt(w, h, upTo), w, h);
  $('zoom-label').textContent = `${w}×${h}`;
}

let running: { rgb: Float32Array; upTo: number } | null = null;

/**
 * The canvas after each of the first `upTo` layers, small, at the frame's aspect (from layer
 * `from` on, appended to the strip drawn up to it; 0: the whole strip again).
 */
export function drawSteps(upTo = state.layers.length, from = 0): void {
  const box = $('steps');
  if (!state.frame) return void box.replaceChildren();
  const [w, h] = frameSize({ frame: frameOf() }, THUMB);
  if (from === 0 || running?.upTo !== from) {
    box.replaceChildren();
    running = { rgb: new Float32Array(w * h * 3), upTo: 0 };
    from = 0;
  }
  for (let t = from; t < upTo; t++) {
    const l = state.layers[t]!;
    if (l.visible !== false) blendLayerInto(running.rgb, maskAt(l, w, h), l.colour);
    const c = document.createElement('canvas');
    putRgb(c, running.rgb, w, h);
    c.title = `after layer ${t + 1}`;
    box.append(c);
  }
  running.upTo = upTo;
}

/** a layer's mask in its colour on light grey, small */
export function swatch(canvas: HTMLCanvasElement, l: DocLayer): void {
  const [w, h] = frameSize({ frame: frameOf() }, THUMB);
  const rgb = new Float32Array(w * h * 3).fill(0.85);
  blendLayerInto(rgb, maskAt(l, w, h), l.colour);
  putRgb(canvas, rgb, w, h);
}

/** the input image, shown at its own size and aspect */
export function showInput(f: Frame): void {
  const c = $<HTMLCanvasElement>('target');
  c.width = f.width;
  c.height = f.height;
  const img = new ImageData(f.width, f.height);
  for (let p = 0; p < f.width * f.height; p++) {
    for (let k = 0; k < 3; k++) img.data[4 * p + k] = f.rgb[3 * p + k]!;
    img.data[4 * p + 3] = 255;
  }
  c.getContext('2d')!.putImageData(img, 0, 0);
}

let target: { frame: Frame; rgb: Float32Array; width: number; height: number } | null = null;

/** the grid the contributions are measured on, and the image area-resampled to it (as the pipeline resamples) */
export function contributionGrid(): { rgb: Float32Array; width: number; height: number } | null {
  const f = state.frame;
  if (!f) return null;
  if (target?.frame !== f) {
    const [width, height] = fitDims(f.width, f.height, CONTRIBUTION_SIDE);
    const rgb = resampleArea(f.rgb, f.width, f.height, 3, 0, 0, f.width, f.height, width, height);
    for (let i = 0; i < rgb.length; i++) rgb[i] = rgb[i]! / 255;
    target = { frame: f, rgb, width, height };
  }
  return target;
}

/**
 * What each layer is worth: the PSNR lost when that layer alone is hidden, against the image on the
 * contribution grid (as `stratum decompose` reports it; src/eval/contribution.ts). 0 for hidden layers.
 */
export function contributions(): { psnr: number; contributions: number[] } {
  const g = contributionGrid();
  if (!g || state.layers.length === 0) return { psnr: NaN, contributions: state.layers.map(() => NaN) };
  return contributionsFromMasks(state.layers.map((l) => maskAt(l, g.width, g.height)), state.layers, g.rgb);
}
