/**
 * The layered-image document: everything needed to re-render an image at any size, in one JSON
 * file — the mask MLP's configuration and weights (base64 float32) and the list of layers
 * (mask parameters p, colour, visibility), bottom to top.
 */
import type { MaskNetConfig } from '../config.js';
import { MASK_PREFIX } from './maskNet.js';
import { ParamStore } from './params.js';
import { renderLayers, type Layer, type RenderOptions, type Rendered } from './render.js';
import * as tf from './tf.js';

export const DOCUMENT_FORMAT = 'stratum-layers';
export const DOCUMENT_VERSION = 1;

export interface DocLayer extends Layer {
  name?: string;
}

export interface LayeredDocument {
  format: typeof DOCUMENT_FORMAT;
  version: number;
  mask: MaskNetConfig;
  /** reference grid edge for per-image GroupNorm statistics (the model's training size) */
  referenceSize: number;
  weights: Record<string, { shape: number[]; data: string }>;
  layers: DocLayer[];
  source?: Record<string, unknown>;
}

/** base64 of the float32 bytes (little-endian); works in Node and browsers */
export function encodeF32(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function decodeF32(s: string): Float32Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new Error('float32 data is not valid base64');
  }
  const b = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (b.length % 4 !== 0) throw new Error(`float32 data of ${b.length} bytes is not a whole number of values`);
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
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

/** check a parsed JSON value is a usable document; throws a one-line reason */
export function validateDocument(d: unknown, name = 'document'): LayeredDocument {
  const doc = d as LayeredDocument;
  if (!doc || typeof doc !== 'object' || doc.format !== DOCUMENT_FORMAT) throw new Error(`${name}: not a Stratum layered document`);
  if (doc.version !== DOCUMENT_VERSION) throw new Error(`${name}: document version ${doc.version} is not supported (expected ${DOCUMENT_VERSION})`);
  const m = doc.mask;
  if (!m || !Number.isInteger(m.K) || !Number.isInteger(m.hidden) || !Number.isInteger(m.depth) || !Number.isInteger(m.groups) || (m.norm !== 'image' && m.norm !== 'pixel')) {
    throw new Error(`${name}: bad mask network configuration`);
  }
  if (!Number.isInteger(doc.referenceSize) || doc.referenceSize <= 0) throw new Error(`${name}: bad referenceSize`);
  if (!Array.isArray(doc.layers)) throw new Error(`${name}: layers must be a list`);
  doc.layers.forEach((l, i) => {
    if (!Array.isArray(l.p) || l.p.length !== m.K || !l.p.every(Number.isFinite)) throw new Error(`${name}: layer ${i} needs ${m.K} finite mask parameters p`);
    if (!Array.isArray(l.colour) || l.colour.length !== 3 || !l.colour.every((c) => Number.isFinite(c))) throw new Error(`${name}: layer ${i} needs an RGB colour`);
  });
  if (!doc.weights || typeof doc.weights !== 'object') throw new Error(`${name}: missing mask network weights`);
  return doc;
}

/** a ParamStore holding the document's mask-net weights (caller disposes) */
export function documentStore(doc: LayeredDocument): ParamStore {
  const store = new ParamStore();
  const expect = expectedMaskShapes(doc.mask);
  for (const [k, shape] of Object.entries(expect)) {
    const w = doc.weights[k];
    if (!w) throw new Error(`document: missing weight ${k}`);
    let v: Float32Array;
    try {
      v = decodeF32(w.data);
    } catch (e) {
      throw new Error(`document: weight ${k}: ${(e as Error).message}`);
    }
    if (w.shape.join(',') !== shape.join(',') || v.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`document: weight ${k} has shape [${w.shape}] / ${v.length} values, expected [${shape}]`);
    }
    store.add(k, tf.tensor(v, shape));
  }
  return store;
}

export function expectedMaskShapes(m: MaskNetConfig): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  let fanIn = m.K + 2;
  for (let i = 0; i < m.depth; i++) {
    out[`mask.l${i}.w`] = [fanIn, m.hidden];
    out[`mask.l${i}.b`] = [m.hidden];
    out[`mask.gn${i}.gamma`] = [m.hidden];
    out[`mask.gn${i}.beta`] = [m.hidden];
    fanIn = m.hidden;
  }
  out['mask.out.w'] = [m.hidden, 1];
  out['mask.out.b'] = [1];
  return out;
}

export function renderDocument(doc: LayeredDocument, width: number, height = width, opts: Omit<RenderOptions, 'width' | 'height' | 'referenceSize'> = {}): Rendered {
  const store = documentStore(doc);
  try {
    return renderLayers(store, doc.mask, doc.layers, { width, height, referenceSize: doc.referenceSize, ...opts });
  } finally {
    store.dispose();
  }
}
