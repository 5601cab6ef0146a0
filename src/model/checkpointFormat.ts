/**
 * The checkpoint format, parsed from bytes (Node and browser): "STRATUM1", a uint32 (LE) header
 * length, a JSON header (configs, step, tensor table) and the float32 data of every tensor. The
 * header is checked field by field against the data present (src/core/validate.ts) before use.
 */
import type { ModelConfig, TrainConfig } from '../config.js';
import { modelConfig } from '../config.js';
import * as tf from '../core/tf.js';
import { validateCheckpointHeader } from '../core/validate.js';
import { firstNonFinite } from '../core/f32.js';
import { Decomposer, EDGE_SHAPES_KEY, SHAPES_KEY } from './decomposer.js';

export const CHECKPOINT_MAGIC = 'STRATUM1';

export interface CheckpointHeader {
  format: 'stratum-checkpoint';
  version: 1;
  model: ModelConfig;
  /** undefined for the reconstruction model; 'gan' for a GAN generator + critic */
  kind?: string;
  train?: TrainConfig;
  step: number;
  adamStep: number;
  data?: string;
  /** free-form facts (held-out PSNR, training command...) */
  info?: Record<string, unknown>;
  tensors: { name: string; shape: number[]; offset: number }[];
}

export interface Checkpoint {
  header: CheckpointHeader;
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
}

export function parseCheckpoint(buf: Uint8Array, path = 'checkpoint'): Checkpoint {
  if (buf.length < 12 || String.fromCharCode(...buf.subarray(0, 8)) !== CHECKPOINT_MAGIC) throw new Error(`${path}: not a Stratum checkpoint (bad magic)`);
  const hlen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(8, true);
  if (12 + hlen > buf.length) throw new Error(`${path}: truncated checkpoint (header cut off)`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + hlen))) as CheckpointHeader;
  } catch {
    throw new Error(`${path}: corrupt checkpoint header (invalid JSON)`);
  }
  validateCheckpointHeader(header, buf.length - 12 - hlen, path);
  const base = 12 + hlen;
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const copy = new Float32Array(n);
    new Uint8Array(copy.buffer).set(buf.subarray(base + t.offset, base + t.offset + n * 4));
    // every tensor reaches float32 code as it is: NaN or ±Infinity would paint black (or train to NaN)
    const bad = firstNonFinite(copy);
    if (bad >= 0) throw new Error(`${path}: tensor ${t.name}[${bad}] = ${copy[bad]} is not finite in float32`);
    tensors.set(t.name, { shape: t.shape, values: copy });
  }
  return { header, tensors };
}

/** the model described by a checkpoint, with its weights */
export function modelFromCheckpoint(ckpt: Checkpoint, path = 'checkpoint'): Decomposer {
  if (ckpt.header.kind) throw new Error(`${path}: a ${ckpt.header.kind} checkpoint, not a reconstruction model`);
  const model = new Decomposer(modelConfig({ ...ckpt.header.model, mask: ckpt.header.model.mask }));
  for (const [name, e] of model.store.entries) {
    const t = ckpt.tensors.get(name);
    if (!t) {
      model.dispose();
      throw new Error(`${path}: checkpoint lacks parameter ${name} (different model configuration?)`);
    }
    if (t.shape.join(',') !== e.variable.shape.join(',')) {
      model.dispose();
      throw new Error(`${path}: parameter ${name} has shape [${t.shape}] in the checkpoint, model expects [${e.variable.shape}]`);
    }
    e.variable.assign(tf.tensor(t.values, t.shape));
  }
  // per-step BatchNorm statistics (src/research/train/calibrate.ts), when the checkpoint has them
  for (const [name, t] of ckpt.tensors) {
    const m = /^(.*)\.step(Mean|Var)$/.exec(name);
    if (!m || model.store.has(name)) continue;
    const run = model.store.has(`${m[1]}.runMean`) ? model.store.get(`${m[1]}.runMean`) : null;
    const twin = ckpt.tensors.get(`${m[1]}.step${m[2] === 'Mean' ? 'Var' : 'Mean'}`);
    if (!run || t.shape.length !== 2 || t.shape[0]! < 1 || t.shape[1] !== run.size || !twin || twin.shape.join(',') !== t.shape.join(',')) {
      model.dispose();
      throw new Error(`${path}: per-step BatchNorm statistics ${name} of shape [${t.shape}] do not fit the model`);
    }
    model.store.add(name, tf.tensor(t.values, t.shape), false);
  }
  // the shape bank (src/model/shapeSwaps.ts) and the edge shapes placed layers draw from
  // (src/model/place.ts), when the checkpoint has them: rows of K parameters each
  const sets: [string, string, string, (p: Float32Array) => void][] = [
    [SHAPES_KEY, 'shape bank', 'D', (p) => model.setShapes(p)],
    [EDGE_SHAPES_KEY, 'edge shapes', 'E', (p) => model.setEdgeShapes(p)],
  ];
  for (const [key, what, rows, set] of sets) {
    const t = ckpt.tensors.get(key);
    if (!t) continue;
    try {
      if (t.shape.length !== 2 || t.shape[1] !== model.cfg.mask.K) throw new Error(`shape [${t.shape}], expected [${rows}, ${model.cfg.mask.K}]`);
      set(Float32Array.from(t.values));
    } catch (e) {
      model.dispose();
      throw new Error(`${path}: ${what} ${key}: ${(e as Error).message}`);
    }
  }
  return model;
}
