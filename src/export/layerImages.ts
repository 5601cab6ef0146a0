/**
 * Per-layer raster images for layered export: each layer is its colour with alpha = mask, so
 * stacking them with ordinary "normal / source-over" compositing on black reproduces the model's
 * blending I_t = I_{t-1}(1 − M_t) + c_t M_t exactly (up to 8-bit rounding).
 */
import { renderDocument, type LayeredDocument } from '../core/document.js';

export interface LayerRaster {
  name: string;
  visible: boolean;
  colour: [number, number, number];
  /** RGBA bytes, straight (non-premultiplied) alpha */
  rgba: Uint8Array;
}

export interface LayerRasters {
  width: number;
  height: number;
  /** the model's render (float RGB) */
  composite: Float32Array;
  layers: LayerRaster[];
}

export function layerRasters(doc: LayeredDocument, width: number, height = width): LayerRasters {
  const r = renderDocument(doc, width, height, { keepMasks: true });
  const layers = doc.layers.map((l, i) => {
    const mask = r.masks![i]!;
    const rgba = new Uint8Array(width * height * 4);
    const c = l.colour.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
    for (let p = 0; p < mask.length; p++) {
      rgba[4 * p] = c[0]!;
      rgba[4 * p + 1] = c[1]!;
      rgba[4 * p + 2] = c[2]!;
      rgba[4 * p + 3] = Math.round(Math.min(1, Math.max(0, mask[p]!)) * 255);
    }
    return { name: l.name ?? `layer ${i + 1}`, visible: l.visible !== false, colour: l.colour, rgba };
  });
  return { width, height, composite: r.rgb, layers };
}

/** source-over compositing of straight-alpha RGBA layers on black (what PSD/ORA viewers do) */
export function compositeOnBlack(width: number, height: number, layers: { rgba: Uint8Array; visible: boolean; opacity?: number }[]): Float32Array {
  const out = new Float32Array(width * height * 3);
  for (const l of layers) {
    if (!l.visible) continue;
    const op = l.opacity ?? 1;
    for (let p = 0; p < width * height; p++) {
      const a = (l.rgba[4 * p + 3]! / 255) * op;
      for (let c = 0; c < 3; c++) out[3 * p + c] = out[3 * p + c]! * (1 - a) + (l.rgba[4 * p + c]! / 255) * a;
    }
  }
  return out;
}
