/**
 * Editing a layered document (paper §4.3, Fig. 5 and 16). Every edit returns a new document and
 * leaves its input untouched; a bad layer index is a one-line error naming it.
 */
import type { DocLayer, LayeredDocument } from '../core/document.js';
import { F32_MAX, isF32 } from '../core/f32.js';
import { mulberry32 } from '../core/random.js';

export type RGB = [number, number, number];

export function checkLayer(doc: LayeredDocument, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= doc.layers.length) {
    throw new Error(`no layer ${i}: the document has layers 0-${doc.layers.length - 1}`);
  }
}

function withLayers(doc: LayeredDocument, layers: DocLayer[]): LayeredDocument {
  return { ...doc, layers };
}

/** give layer i a new colour */
export function recolour(doc: LayeredDocument, i: number, colour: RGB): LayeredDocument {
  checkLayer(doc, i);
  if (colour.some((c) => !(c >= 0 && c <= 1))) throw new Error(`colour components must lie in [0, 1], got ${colour.join(', ')}`);
  return withLayers(doc, doc.layers.map((l, k) => (k === i ? { ...l, colour: [...colour] as RGB } : l)));
}

export function setVisible(doc: LayeredDocument, i: number, visible: boolean): LayeredDocument {
  checkLayer(doc, i);
  return withLayers(doc, doc.layers.map((l, k) => (k === i ? { ...l, visible } : l)));
}

/** drop layers (e.g. all layers of an object, Fig. 5b) */
export function removeLayers(doc: LayeredDocument, indices: number[]): LayeredDocument {
  indices.forEach((i) => checkLayer(doc, i));
  const drop = new Set(indices);
  return withLayers(doc, doc.layers.filter((_, k) => !drop.has(k)));
}

/** move layer `from` to position `to` (0 = bottom) */
export function moveLayer(doc: LayeredDocument, from: number, to: number): LayeredDocument {
  checkLayer(doc, from);
  checkLayer(doc, to);
  const layers = doc.layers.slice();
  const [l] = layers.splice(from, 1);
  layers.splice(to, 0, l!);
  return withLayers(doc, layers);
}

/** replace layer i's mask parameters */
export function setParams(doc: LayeredDocument, i: number, p: number[]): LayeredDocument {
  checkLayer(doc, i);
  if (p.length !== doc.mask.K) throw new Error(`layer ${i} needs ${doc.mask.K} finite mask parameters`);
  // the mask network runs in float32: a value beyond its range would become ±Infinity there
  const j = p.findIndex((v) => !isF32(v));
  if (j >= 0) throw new Error(`layer ${i} p[${j}] = ${p[j]} is not finite in float32 (|value| ≤ ${F32_MAX})`);
  return withLayers(doc, doc.layers.map((l, k) => (k === i ? { ...l, p: p.slice() } : l)));
}

/** a random unit direction q in R^K (seeded) */
export function randomDirection(K: number, seed: number): number[] {
  const rng = mulberry32(seed);
  const q = Array.from({ length: K }, () => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  });
  const n = Math.hypot(...q);
  return q.map((v) => v / n);
}

/** Fig. 16: the documents with layer i's parameters moved to p + k·q for each k */
export function jitterLayer(doc: LayeredDocument, i: number, ks: number[], seed = 0): { q: number[]; docs: LayeredDocument[] } {
  checkLayer(doc, i);
  const q = randomDirection(doc.mask.K, seed);
  const p = doc.layers[i]!.p;
  return { q, docs: ks.map((k) => setParams(doc, i, p.map((v, j) => v + k * q[j]!))) };
}

/**
 * Fig. 5a: brighten (amount > 0) or darken (amount < 0) an image inside a mask:
 * out = clamp(img · (1 + amount · M)). rgb: floats [P*3], mask: [P].
 */
export function brightenInMask(rgb: Float32Array, mask: Float32Array, amount: number): Float32Array {
  if (rgb.length !== mask.length * 3) throw new Error('image and mask sizes differ');
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < mask.length; i++) {
    const f = 1 + amount * mask[i]!;
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.min(1, Math.max(0, rgb[3 * i + c]! * f));
  }
  return out;
}

/** tint an image towards a colour inside a mask: out = img + strength · M · (tint − img) */
export function tintInMask(rgb: Float32Array, mask: Float32Array, tint: RGB, strength: number): Float32Array {
  if (rgb.length !== mask.length * 3) throw new Error('image and mask sizes differ');
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < mask.length; i++) {
    const a = Math.min(1, Math.max(0, strength * mask[i]!));
    for (let c = 0; c < 3; c++) out[3 * i + c] = rgb[3 * i + c]! + a * (tint[c]! - rgb[3 * i + c]!);
  }
  return out;
}

/** '#rrggbb' or 'r,g,b' (0-255) -> RGB in [0, 1] */
export function parseColour(s: string): RGB {
  const hex = /^#?([0-9a-f]{6})$/i.exec(s.trim());
  if (hex) {
    const v = parseInt(hex[1]!, 16);
    return [((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
  }
  const parts = s.split(',').map(Number);
  if (parts.length === 3 && parts.every((x) => Number.isFinite(x) && x >= 0 && x <= 255)) return parts.map((x) => x / 255) as RGB;
  throw new Error(`bad colour '${s}' (use #rrggbb or r,g,b with 0-255)`);
}

export function colourHex(c: ArrayLike<number>): string {
  return '#' + Array.from({ length: 3 }, (_, k) => Math.round(Math.min(1, Math.max(0, c[k]!)) * 255).toString(16).padStart(2, '0')).join('');
}
