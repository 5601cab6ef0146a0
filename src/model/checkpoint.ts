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
import { SHAPES_KEY, type Decomposer } from './decomposer.js';
import { diskBankCache } from './bankCache.js';
import { PLACE_BANK_KIND, PLACE_LOGIT_MAX } from './place.js';
import { CHECKPOINT_MAGIC, modelFromCheckpoint, parseCheckpoint, type Checkpoint, type CheckpointHeader } from './checkpointFormat.js';
import { Adam } from '../core/adam.js';

export { type Checkpoint, type CheckpointHeader } from './checkpointFormat.js';

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

/** the prefix of the model's optimiser state in a checkpoint ('adam.m.NAME', 'adam.v.NAME') */
export const OPTIMISER_PREFIX = 'adam.';

/** every tensor of a parameter store under its own name */
export function storeTensors(store: ParamStore): [string, tf.Tensor][] {
  return [...store.entries].map(([k, e]) => [k, e.variable]);
}

/** an optimiser's moments as named tensors: PREFIX + 'm.' + parameter, PREFIX + 'v.' + parameter */
export function optimiserTensors(opt: Adam, prefix: string): [string, tf.Tensor][] {
  return [...[...opt.m].map(([k, v]) => [`${prefix}m.${k}`, v] as [string, tf.Tensor]), ...[...opt.v].map(([k, v]) => [`${prefix}v.${k}`, v] as [string, tf.Tensor])];
}

/** put back what optimiserTensors saved, and the optimiser's step count */
export function restoreOptimiser(opt: Adam, tensors: Checkpoint['tensors'], prefix: string, step: number): void {
  opt.step = step;
  for (const [name, t] of tensors) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const moments = rest.startsWith('m.') ? opt.m : rest.startsWith('v.') ? opt.v : null;
    if (moments) moments.set(rest.slice(2), tf.variable(tf.tensor(t.values, t.shape), false));
  }
}

/** assign every parameter of `store` from the checkpoint's tensors of the same name */
export function restoreStore(store: ParamStore, tensors: Checkpoint['tensors'], path: string): void {
  for (const [name, e] of store.entries) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${path}: checkpoint lacks ${name}`);
    if (t.shape.join(',') !== e.variable.shape.join(',')) throw new Error(`${path}: ${name} has shape [${t.shape}] in the checkpoint, expected [${e.variable.shape}]`);
    e.variable.assign(tf.tensor(t.values, t.shape));
  }
}

export function saveCheckpoint(path: string, model: { store: ParamStore; cfg: unknown }, o: SaveOptions = {}): void {
  const entries = storeTensors(model.store);
  entries.push(...(o.extra ?? []));
  if (o.opt && !o.weightsOnly) entries.push(...optimiserTensors(o.opt, OPTIMISER_PREFIX));
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

function checkpointBytes(path: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`${path}: no such checkpoint`);
  if (!statSync(path).isFile()) throw new Error(`${path}: is a folder, not a model file`);
  return new Uint8Array(readFileSync(path));
}

export function readCheckpoint(path: string): Checkpoint {
  return parseCheckpoint(checkpointBytes(path), path);
}

/** rebuild the model (and optimiser state when present) from a checkpoint; its shape bank's masks are kept on disk (src/model/bankCache.ts) */
export function loadModel(path: string, opt?: Adam): { model: Decomposer; ckpt: Checkpoint } {
  const bytes = checkpointBytes(path);
  const ckpt = parseCheckpoint(bytes, path);
  const model = modelFromCheckpoint(ckpt, path);
  if (model.store.has(SHAPES_KEY)) {
    model.bankMaskCache = diskBankCache(bytes);
    model.placeBankCache = diskBankCache(bytes, PLACE_BANK_KIND, (v) => Math.abs(v) <= PLACE_LOGIT_MAX);
  }
  if (opt) restoreOptimiser(opt, ckpt.tensors, OPTIMISER_PREFIX, ckpt.header.adamStep);
  return { model, ckpt };
}
