/**
 * Checkpoints: "STRATUM1", a uint32 (LE) header length, a JSON header (configs, step, tensor
 * table) and the float32 data of every tensor. Written atomically (temp file, fsync, rename) so a
 * kill never leaves a half-written checkpoint behind; loading checks every size and says what is
 * wrong in one line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomicFile.js';
import type { ModelConfig, TrainConfig } from '../config.js';
import { modelConfig } from '../config.js';
import * as tf from '../core/tf.js';
import { Decomposer } from '../model/decomposer.js';
import { Adam } from './adam.js';

const MAGIC = 'STRATUM1';

export interface CheckpointHeader {
  format: 'stratum-checkpoint';
  version: 1;
  model: ModelConfig;
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

export interface SaveOptions {
  train?: TrainConfig;
  step?: number;
  opt?: Adam;
  data?: string;
  info?: Record<string, unknown>;
  /** leave out optimiser state (for a small bundled model) */
  weightsOnly?: boolean;
}

export function saveCheckpoint(path: string, model: Decomposer, o: SaveOptions = {}): void {
  const entries: [string, tf.Tensor][] = [...model.store.entries].map(([k, e]) => [k, e.variable]);
  if (o.opt && !o.weightsOnly) {
    for (const [k, v] of o.opt.m) entries.push([`adam.m.${k}`, v]);
    for (const [k, v] of o.opt.v) entries.push([`adam.v.${k}`, v]);
  }
  let offset = 0;
  const table = entries.map(([name, t]) => {
    const row = { name, shape: t.shape, offset };
    offset += t.size * 4;
    return row;
  });
  const header: CheckpointHeader = {
    format: 'stratum-checkpoint',
    version: 1,
    model: model.cfg,
    train: o.train,
    step: o.step ?? 0,
    adamStep: o.weightsOnly ? 0 : (o.opt?.step ?? 0),
    data: o.data,
    info: o.info,
    tensors: table,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pre = new Uint8Array(12);
  pre.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(pre.buffer).setUint32(8, json.length, true);
  const chunks: Uint8Array[] = [pre, json];
  for (const [, t] of entries) {
    const v = t.dataSync() as Float32Array;
    chunks.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  writeFileAtomic(path, chunks);
}

export function readCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new Error(`${path}: no such checkpoint`);
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.subarray(0, 8).toString('latin1') !== MAGIC) throw new Error(`${path}: not a Stratum checkpoint (bad magic)`);
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw new Error(`${path}: truncated checkpoint (header cut off)`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as CheckpointHeader;
  } catch {
    throw new Error(`${path}: corrupt checkpoint header (invalid JSON)`);
  }
  if (header.format !== 'stratum-checkpoint' || header.version !== 1) throw new Error(`${path}: unsupported checkpoint format/version`);
  const base = 12 + hlen;
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  let expected = 0;
  for (const t of header.tensors) expected = Math.max(expected, t.offset + 4 * t.shape.reduce((a, b) => a * b, 1));
  if (base + expected !== buf.length) {
    throw new Error(`${path}: truncated or padded checkpoint (${buf.length - base} data bytes, expected ${expected})`);
  }
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const copy = new Float32Array(n);
    new Uint8Array(copy.buffer).set(buf.subarray(base + t.offset, base + t.offset + n * 4));
    tensors.set(t.name, { shape: t.shape, values: copy });
  }
  return { header, tensors };
}

/** rebuild the model (and optimiser state when present) from a checkpoint */
export function loadModel(path: string, opt?: Adam): { model: Decomposer; ckpt: Checkpoint } {
  const ckpt = readCheckpoint(path);
  const model = new Decomposer(modelConfig({ ...ckpt.header.model, mask: ckpt.header.model.mask }));
  for (const [name, e] of model.store.entries) {
    const t = ckpt.tensors.get(name);
    if (!t) throw new Error(`${path}: checkpoint lacks parameter ${name} (different model configuration?)`);
    if (t.shape.join(',') !== e.variable.shape.join(',')) {
      throw new Error(`${path}: parameter ${name} has shape [${t.shape}] in the checkpoint, model expects [${e.variable.shape}]`);
    }
    e.variable.assign(tf.tensor(t.values, t.shape));
  }
  // per-step BatchNorm statistics (src/train/calibrate.ts), when the checkpoint has them
  for (const [name, t] of ckpt.tensors) {
    if (/\.step(Mean|Var)$/.test(name) && !model.store.has(name)) model.store.add(name, tf.tensor(t.values, t.shape), false);
  }
  if (opt) {
    opt.step = ckpt.header.adamStep;
    for (const [name, t] of ckpt.tensors) {
      const m = /^adam\.(m|v)\.(.*)$/.exec(name);
      if (!m) continue;
      (m[1] === 'm' ? opt.m : opt.v).set(m[2]!, tf.variable(tf.tensor(t.values, t.shape), false));
    }
  }
  return { model, ckpt };
}
