/**
 * Checkpoints: "STRATUM1", a uint32 (LE) header length, a JSON header (configs, step, tensor
 * table) and the float32 data of every tensor. Written atomically (temp file, fsync, rename) so a
 * kill never leaves a half-written checkpoint behind; loading checks every size and says what is
 * wrong in one line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomicFile.js';
import type { ModelConfig, TrainConfig } from '../config.js';
import * as tf from '../core/tf.js';
import type { ParamStore } from '../core/params.js';
import type { Decomposer } from '../model/decomposer.js';
import { CHECKPOINT_MAGIC, modelFromCheckpoint, parseCheckpoint, type Checkpoint, type CheckpointHeader } from '../model/checkpointFormat.js';
import { Adam } from './adam.js';

export { type Checkpoint, type CheckpointHeader } from '../model/checkpointFormat.js';

export interface SaveOptions {
  train?: TrainConfig;
  step?: number;
  opt?: Adam;
  data?: string;
  info?: Record<string, unknown>;
  /** leave out optimiser state (for a small bundled model) */
  weightsOnly?: boolean;
  /** further named tensors (a GAN's critic and its optimiser) */
  extra?: [string, tf.Tensor][];
  /** what kind of model the header's `model` describes (default: the reconstruction model) */
  kind?: string;
}

export function saveCheckpoint(path: string, model: { store: ParamStore; cfg: unknown }, o: SaveOptions = {}): void {
  const entries: [string, tf.Tensor][] = [...model.store.entries].map(([k, e]) => [k, e.variable]);
  entries.push(...(o.extra ?? []));
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
    model: model.cfg as ModelConfig,
    kind: o.kind,
    train: o.train,
    step: o.step ?? 0,
    adamStep: o.weightsOnly ? 0 : (o.opt?.step ?? 0),
    data: o.data,
    info: o.info,
    tensors: table,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pre = new Uint8Array(12);
  pre.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
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
  if (!statSync(path).isFile()) throw new Error(`${path}: is a folder, not a model file`);
  return parseCheckpoint(new Uint8Array(readFileSync(path)), path);
}

/** rebuild the model (and optimiser state when present) from a checkpoint */
export function loadModel(path: string, opt?: Adam): { model: Decomposer; ckpt: Checkpoint } {
  const ckpt = readCheckpoint(path);
  const model = modelFromCheckpoint(ckpt, path);
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
