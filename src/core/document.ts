/**
 * The layered-image document: everything needed to re-render an image at any size, in one JSON
 * file — the mask MLP's configuration and weights (base64 float32) and the list of layers
 * (mask parameters p, colour, visibility), bottom to top.
 */
import type { MaskNetConfig } from '../config.js';
import { decodeF32, encodeF32 } from './f32.js';
import { MASK_PREFIX } from './maskNet.js';
import { maskParamSpecs } from './maskSpec.js';
import { ParamStore } from './params.js';
import { frameAspect } from './placement.js';
import { renderLayers, type Layer, type RenderOptions, type Rendered } from './render.js';
import * as tf from './tf.js';
import { checkDocument, DOCUMENT_FORMAT, DOCUMENT_VERSION } from './validate.js';

export { DOCUMENT_FORMAT, DOCUMENT_VERSION } from './validate.js';

/** a parsed JSON value as a usable document (src/core/validate.ts checkDocument); throws one line naming `name` */
export function validateDocument(d: unknown, name = 'document'): LayeredDocument {
  checkDocument(d, name);
  return d as LayeredDocument;
}
export { decodeF32, encodeF32 } from './f32.js';
export { expectedMaskShapes } from './maskSpec.js';

export interface DocLayer extends Layer {
  name?: string;
  /** PSNR (dB) lost when this layer alone was removed, measured against the input when the document was made (src/eval/contribution.ts); edits do not update it */
  contributionDb?: number;
}

export interface LayeredDocument {
  format: typeof DOCUMENT_FORMAT;
  version: number;
  mask: MaskNetConfig;
  /** reference grid edge for per-image GroupNorm statistics (the model's training size) */
  referenceSize: number;
  weights: Record<string, { shape: number[]; data: string }>;
  layers: DocLayer[];
  /**
   * the image's frame in pixels (its aspect ratio): renders keep it, and placed layers
   * (src/core/placement.ts) are drawn in its isotropic coordinates. Absent: a square frame.
   */
  frame?: { width: number; height: number };
  source?: Record<string, unknown>;
}

/** mask-net weights of a ParamStore, for embedding */
export function maskWeightsOf(store: ParamStore): LayeredDocument['weights'] {
  const w: LayeredDocument['weights'] = {};
  for (const name of store.names(MASK_PREFIX)) {
    const v = store.get(name);
    w[name] = { shape: v.shape, data: encodeF32(v.dataSync() as Float32Array) };
  }
  return w;
}

export function makeDocument(mask: MaskNetConfig, referenceSize: number, store: ParamStore, layers: DocLayer[], source?: Record<string, unknown>): LayeredDocument {
  return { format: DOCUMENT_FORMAT, version: DOCUMENT_VERSION, mask, referenceSize, weights: maskWeightsOf(store), layers, source };
}

/** a ParamStore holding the document's mask-net weights (caller disposes); checks the document first */
export function documentStore(doc: LayeredDocument, name = 'document'): ParamStore {
  validateDocument(doc, name);
  const store = new ParamStore();
  for (const s of maskParamSpecs(doc.mask)) store.add(s.name, tf.tensor(decodeF32(doc.weights[s.name]!.data), s.shape));
  return store;
}

export function renderDocument(doc: LayeredDocument, width: number, height = width, opts: Omit<RenderOptions, 'width' | 'height' | 'referenceSize'> = {}): Rendered {
  const store = documentStore(doc);
  try {
    return renderLayers(store, doc.mask, doc.layers, { width, height, referenceSize: doc.referenceSize, aspect: frameAspect(doc.frame), ...opts });
  } finally {
    store.dispose();
  }
}

/** render size (width, height) for a document whose long side is `long` pixels, keeping its frame's aspect */
export function frameSize(doc: Pick<LayeredDocument, 'frame'>, long: number): [number, number] {
  if (!doc.frame) return [long, long];
  const { width, height } = doc.frame;
  const L = Math.max(width, height);
  return [Math.max(1, Math.round((long * width) / L)), Math.max(1, Math.round((long * height) / L))];
}

/** a render's width and height: both given, or one given and the other from the frame's aspect, or the long side `size` */
export function renderSize(doc: Pick<LayeredDocument, 'frame'>, size: number, width?: number, height?: number): [number, number] {
  if (width !== undefined && height !== undefined) return [width, height];
  const [fw, fh] = doc.frame ? [doc.frame.width, doc.frame.height] : [1, 1];
  if (width !== undefined) return [width, Math.max(1, Math.round((width * fh) / fw))];
  if (height !== undefined) return [Math.max(1, Math.round((height * fw) / fh)), height];
  return frameSize(doc, size);
}
