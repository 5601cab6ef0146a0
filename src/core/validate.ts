/**
 * Every field of the two files Stratum reads from strangers — layered documents (.stratum.json,
 * meant to be shared) and model/checkpoint headers (.stratum) — checked in one place, before any
 * tensor is built: types, ranges, and sizes against the data actually present. Whatever passes
 * here is within the bounds the native kernels assert (src/core/maskSpec.ts), so a crafted file
 * gets a one-line error naming it instead of reaching undefined behaviour in C++.
 */
import { decodeF32, F32_MAX, firstNonFinite, isF32 } from './f32.js';
import { maskConfigProblem, maskParamSpecs } from './maskSpec.js';
import type { MaskNetConfig } from '../config.js';
import { PLACEMENT_LIMITS } from './placement.js';

export const DOCUMENT_FORMAT = 'stratum-layers';
export const DOCUMENT_VERSION = 1;

/** bounds of the model configuration in a checkpoint header (beyond the mask MLP's) */
export const MODEL_LIMITS = {
  T: { min: 1, max: 1024 },
  size: { min: 4, max: 1024 },
  /** the small encoder's channels, each */
  channels: { min: 1, max: 4096 },
  /** a GAN's noise size */
  noise: { min: 1, max: 4096 },
  referenceSize: { min: 1, max: 1024 },
} as const;

/** the largest side a document's frame may record (it is an aspect ratio and the source image's size) */
export const MAX_FRAME_SIDE = 1 << 20;

/**
 * most levels of nested objects and lists in a document or a checkpoint header: their free-form
 * parts (`source`, `info`, `train`) are copied into the files Stratum writes, and JSON.stringify
 * recurses (100,000 levels overflowed the stack)
 */
export const MAX_JSON_DEPTH = 64;

/** most dimensions of a stored tensor, and most values in one */
const MAX_RANK = 8;
const MAX_TENSOR_VALUES = 2 ** 28;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const intIn = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

/** how deep `v` nests objects and lists, counted without recursion; stops counting past `max` */
export function jsonDepth(v: unknown, max = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (!x || typeof x !== 'object') continue;
    if (d + 1 > deepest) deepest = d + 1;
    if (deepest > max) return deepest;
    for (const child of Array.isArray(x) ? x : Object.values(x)) if (child && typeof child === 'object') stack.push([child, d + 1]);
  }
  return deepest;
}

/** a number stored as float32 by the code it reaches: the field and its value named when it is not finite there */
function f32Problem(v: unknown, field: string): string {
  if (isF32(v)) return '';
  if (typeof v !== 'number') return `${field} must be a number, got ${show(v)}`;
  return `${field} = ${v} is not finite in float32 (|value| ≤ ${F32_MAX})`;
}

/** the version check shared by both formats: a number equal to the one supported */
function versionProblem(v: unknown, expected: number, what: string): string {
  if (v === expected) return '';
  if (typeof v !== 'number') return `${what} version ${show(v)} is not a number (expected ${expected})`;
  return `${what} version ${show(v)} is not supported (expected ${expected})`;
}

/** check a parsed JSON value is a usable document (src/core/document.ts validateDocument); throws one line naming `name` */
export function checkDocument(d: unknown, name = 'document'): void {
  const fail = (why: string): never => {
    throw new Error(`${name}: ${why}`);
  };
  if (!isObject(d) || d.format !== DOCUMENT_FORMAT) fail('not a Stratum layered document');
  if (jsonDepth(d) > MAX_JSON_DEPTH) fail(`nests objects or lists more than ${MAX_JSON_DEPTH} levels deep`);
  const doc = d as Record<string, unknown>;
  const v = versionProblem(doc.version, DOCUMENT_VERSION, 'document');
  if (v) fail(v);
  const mp = maskConfigProblem(doc.mask);
  if (mp) fail(mp);
  const m = doc.mask as MaskNetConfig;
  const { min, max } = MODEL_LIMITS.referenceSize;
  if (!intIn(doc.referenceSize, min, max)) fail(`referenceSize must be an integer in [${min}, ${max}], got ${show(doc.referenceSize)}`);
  if (!Array.isArray(doc.layers)) fail('layers must be a list');
  (doc.layers as unknown[]).forEach((l, i) => {
    if (!isObject(l)) fail(`layer ${i} is not an object (got ${show(l)})`);
    const layer = l as Record<string, unknown>;
    if (!Array.isArray(layer.p) || layer.p.length !== m.K) fail(`layer ${i} needs ${m.K} finite mask parameters p`);
    (layer.p as unknown[]).forEach((x, j) => {
      if (typeof x !== 'number') fail(`layer ${i} needs ${m.K} finite mask parameters p (p[${j}] is ${show(x)})`);
      const why = f32Problem(x, `layer ${i} p[${j}]`);
      if (why) fail(why);
    });
    if (!Array.isArray(layer.colour) || layer.colour.length !== 3 || !layer.colour.every((c) => typeof c === 'number' && c >= 0 && c <= 1)) fail(`layer ${i} needs an RGB colour of three numbers in [0, 1]`);
    if (layer.visible !== undefined && typeof layer.visible !== 'boolean') fail(`layer ${i}: visible must be true or false`);
    if (layer.name !== undefined && typeof layer.name !== 'string') fail(`layer ${i}: name must be a string`);
    if (layer.place !== undefined) {
      const pl = layer.place as Record<string, unknown>;
      const L = PLACEMENT_LIMITS;
      const num = (k: string) => typeof pl[k] === 'number' && Number.isFinite(pl[k]);
      if (!isObject(pl) || !['x', 'y', 'angle', 'sx', 'sy'].every(num)) fail(`layer ${i}: place must be an object of finite numbers x, y, angle, sx, sy`);
      if (Math.abs(pl.x as number) > L.centre || Math.abs(pl.y as number) > L.centre) fail(`layer ${i}: place centre must lie in [-${L.centre}, ${L.centre}], got (${show(pl.x)}, ${show(pl.y)})`);
      if (Math.abs(pl.angle as number) > 1e3) fail(`layer ${i}: place.angle must lie in [-1000, 1000] radians, got ${show(pl.angle)}`);
      for (const k of ['sx', 'sy']) if (!((pl[k] as number) >= L.scaleMin && (pl[k] as number) <= L.scaleMax)) fail(`layer ${i}: place.${k} must lie in [${L.scaleMin}, ${L.scaleMax}], got ${show(pl[k])}`);
    }
    if (layer.gain !== undefined && !(typeof layer.gain === 'number' && layer.gain >= PLACEMENT_LIMITS.gainMin && layer.gain <= PLACEMENT_LIMITS.gainMax)) fail(`layer ${i}: gain must be a number in [${PLACEMENT_LIMITS.gainMin}, ${PLACEMENT_LIMITS.gainMax}], got ${show(layer.gain)}`);
    if (layer.opacity !== undefined && !(typeof layer.opacity === 'number' && layer.opacity >= 0 && layer.opacity <= 1)) fail(`layer ${i}: opacity must be a number in [0, 1], got ${show(layer.opacity)}`);
    if (layer.contributionDb !== undefined && (typeof layer.contributionDb !== 'number' || !Number.isFinite(layer.contributionDb))) fail(`layer ${i} has a contributionDb that is not a finite number`);
  });
  if (doc.frame !== undefined) {
    const fr = doc.frame as Record<string, unknown>;
    if (!isObject(fr) || !intIn(fr.width, 1, MAX_FRAME_SIDE) || !intIn(fr.height, 1, MAX_FRAME_SIDE)) fail(`frame must be {width, height}, whole numbers of pixels in [1, ${MAX_FRAME_SIDE}], got ${show(fr)}`);
  }
  if (doc.source !== undefined && !isObject(doc.source)) fail('source must be an object');
  if (!isObject(doc.weights)) fail('missing mask network weights');
  const weights = doc.weights as Record<string, unknown>;
  for (const s of maskParamSpecs(m)) {
    const w = weights[s.name];
    if (!isObject(w)) fail(`missing weight ${s.name}`);
    const { shape, data } = w as Record<string, unknown>;
    if (!Array.isArray(shape) || shape.join(',') !== s.shape.join(',')) fail(`weight ${s.name} has shape ${show(shape)}, expected [${s.shape}]`);
    if (typeof data !== 'string') fail(`weight ${s.name}: data must be a base64 string`);
    let values: Float32Array;
    try {
      values = decodeF32(data as string);
    } catch (e) {
      fail(`weight ${s.name}: ${(e as Error).message}`);
      return;
    }
    const want = s.shape.reduce((a, b) => a * b, 1);
    if (values.length !== want) fail(`weight ${s.name} holds ${values.length} values, expected ${want} for shape [${s.shape}]`);
    const bad = firstNonFinite(values);
    if (bad >= 0) fail(`weight ${s.name}[${bad}] = ${values[bad]} is not finite in float32`);
  }
}

/** why a checkpoint header's model configuration is unusable, or '' */
export function modelConfigProblem(m: unknown, kind?: string): string {
  if (!isObject(m)) return 'model configuration must be an object';
  const mp = maskConfigProblem(m.mask);
  if (mp) return mp;
  for (const key of ['T', 'size'] as const) {
    const { min, max } = MODEL_LIMITS[key];
    if (!intIn(m[key], min, max)) return `model.${key} must be an integer in [${min}, ${max}], got ${show(m[key])}`;
  }
  if (m.encoder !== 'resnet18' && m.encoder !== 'small') return `model.encoder must be 'resnet18' or 'small', got ${show(m.encoder)}`;
  const ch = MODEL_LIMITS.channels;
  if (!Array.isArray(m.smallChannels) || m.smallChannels.length < 1 || m.smallChannels.length > 8 || !m.smallChannels.every((c) => intIn(c, ch.min, ch.max))) {
    return `model.smallChannels must be 1 to 8 integers in [${ch.min}, ${ch.max}], got ${show(m.smallChannels)}`;
  }
  if (typeof m.stopCanvasGrad !== 'boolean' && m.stopCanvasGrad !== undefined) return 'model.stopCanvasGrad must be true or false';
  if (m.smallPool !== undefined && m.smallPool !== 'mean' && m.smallPool !== 'flatten') return `model.smallPool must be 'mean' or 'flatten', got ${show(m.smallPool)}`;
  if (m.smallPool === 'flatten' && m.encoder !== 'small') return "model.smallPool 'flatten' is for the small encoder only";
  if (kind === 'gan' && !intIn(m.noise, MODEL_LIMITS.noise.min, MODEL_LIMITS.noise.max)) return `model.noise must be an integer in [${MODEL_LIMITS.noise.min}, ${MODEL_LIMITS.noise.max}], got ${show(m.noise)}`;
  return '';
}

/** the enhancer's U-Net (src/research/model/unet.ts): first-level width and depth */
export const ENHANCER_LIMITS = { width: { min: 4, max: 256 }, depth: { min: 1, max: 5 } };

export function enhancerConfigProblem(m: unknown): string {
  if (!isObject(m) || m.kind !== 'unet') return 'not an enhancer (model.kind must be "unet")';
  for (const key of ['width', 'depth'] as const) {
    const { min, max } = ENHANCER_LIMITS[key];
    if (!intIn(m[key], min, max)) return `model.${key} must be an integer in [${min}, ${max}], got ${show(m[key])}`;
  }
  return '';
}

export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
}

/**
 * Check a checkpoint header (already parsed JSON) against the `dataBytes` of float32 data that
 * follow it: every field's type and range, every tensor inside the data, nothing left over.
 * Throws one line naming `path`.
 */
export function validateCheckpointHeader(h: unknown, dataBytes: number, path: string): void {
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}`);
  };
  if (!isObject(h) || h.format !== 'stratum-checkpoint') fail('not a Stratum checkpoint (bad header format)');
  if (jsonDepth(h) > MAX_JSON_DEPTH) fail(`header nests objects or lists more than ${MAX_JSON_DEPTH} levels deep`);
  const hd = h as Record<string, unknown>;
  const v = versionProblem(hd.version, 1, 'checkpoint');
  if (v) fail(v);
  if (hd.kind !== undefined && hd.kind !== 'gan' && hd.kind !== 'enhance') fail(`unknown checkpoint kind ${show(hd.kind)}`);
  const mp = hd.kind === 'enhance' ? enhancerConfigProblem(hd.model) : modelConfigProblem(hd.model, hd.kind as string | undefined);
  if (mp) fail(mp);
  for (const key of ['step', 'adamStep']) if (!intIn(hd[key], 0, Number.MAX_SAFE_INTEGER)) fail(`${key} must be an integer ≥ 0, got ${show(hd[key])}`);
  if (hd.data !== undefined && typeof hd.data !== 'string') fail('data must be a string');
  for (const key of ['info', 'train']) if (hd[key] !== undefined && !isObject(hd[key])) fail(`${key} must be an object`);
  if (!Array.isArray(hd.tensors)) fail('tensors must be a list');
  const names = new Set<string>();
  let end = 0;
  (hd.tensors as unknown[]).forEach((t, i) => {
    if (!isObject(t)) fail(`tensor ${i} is not an object`);
    const { name, shape, offset } = t as Record<string, unknown>;
    if (typeof name !== 'string' || !name) fail(`tensor ${i} has no name`);
    if (names.has(name as string)) fail(`tensor ${name} appears twice`);
    names.add(name as string);
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => intIn(d, 0, MAX_TENSOR_VALUES))) fail(`tensor ${name} has a bad shape ${show(shape)}`);
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (n > MAX_TENSOR_VALUES) fail(`tensor ${name} of shape [${shape}] is too large`);
    if (!intIn(offset, 0, dataBytes) || (offset as number) % 4 !== 0) fail(`tensor ${name} has a bad offset ${show(offset)} (data is ${dataBytes} bytes)`);
    const stop = (offset as number) + 4 * n;
    if (stop > dataBytes) fail(`truncated or padded checkpoint (tensor ${name} ends at data byte ${stop}, the file holds ${dataBytes})`);
    end = Math.max(end, stop);
  });
  if (end !== dataBytes) fail(`truncated or padded checkpoint (${dataBytes} data bytes, expected ${end})`);
}
