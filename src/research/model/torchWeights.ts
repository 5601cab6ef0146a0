/**
 * Stratum model files <-> safetensors files in the PyTorch twin's layout (python/stratum_torch),
 * so a model trains on either engine and is used by both (`stratum export-torch`, `import-torch`).
 *
 * A tensor's name in the safetensors file is the twin's state_dict name: the Stratum name with its
 * last part renamed the PyTorch way (the modules keep Stratum's paths, so `enc.conv0.w` is the
 * twin's `enc.conv0.weight`):
 *
 *   w -> weight, b -> bias, gamma -> weight, beta -> bias, runMean -> running_mean,
 *   runVar -> running_var, stepMean -> step_mean, stepVar -> step_var
 *
 * and its values are in PyTorch's layout: a convolution's [kh, kw, cin, cout] becomes
 * [cout, cin, kh, kw], a linear layer's [in, out] becomes [out, in] (permutations of float32
 * values: no rounding, so a round trip gives back the same bits). The shape bank `shapes.p`
 * [D, K] keeps its name and layout; a training checkpoint's Adam moments `adam.m.NAME`,
 * `adam.v.NAME` become `adam.m.TORCHNAME`, `adam.v.TORCHNAME` in the parameter's torch layout.
 *
 * __metadata__ records the architecture and everything else of the Stratum header:
 *   stratum.header  the checkpoint header without its tensor table, as JSON (its `model` is the
 *                   architecture; step, adamStep, data, info and train as Stratum wrote them)
 *   stratum.order   the Stratum tensor names in file order (export only: so importing rebuilds
 *                   the very same file; without it, the order Stratum itself writes)
 *   format          'pt' (the safetensors convention for PyTorch weights)
 */
import { modelConfig, type ModelConfig } from '../../config.js';
import { modelConfigProblem } from '../../core/validate.js';
import type { SafeTensor, SafeTensorsFile } from '../io/safetensors.js';
import { encodeSafetensors } from '../io/safetensors.js';
import { OPTIMISER_PREFIX } from '../../model/checkpoint.js';
import { CHECKPOINT_MAGIC, modelFromCheckpoint, parseCheckpoint, type Checkpoint, type CheckpointHeader } from '../../model/checkpointFormat.js';
import { Decomposer, EDGE_SHAPES_KEY, SHAPES_KEY } from '../../model/decomposer.js';

export const HEADER_KEY = 'stratum.header';
export const ORDER_KEY = 'stratum.order';

const LEAF: Record<string, string> = {
  w: 'weight',
  b: 'bias',
  gamma: 'weight',
  beta: 'bias',
  runMean: 'running_mean',
  runVar: 'running_var',
  stepMean: 'step_mean',
  stepVar: 'step_var',
};

/** the twin's name of a Stratum tensor */
export function torchName(name: string): string {
  for (const prefix of [`${OPTIMISER_PREFIX}m.`, `${OPTIMISER_PREFIX}v.`]) if (name.startsWith(prefix)) return prefix + torchName(name.slice(prefix.length));
  if (name === SHAPES_KEY || name === EDGE_SHAPES_KEY) return name;
  const cut = name.lastIndexOf('.');
  const leaf = LEAF[name.slice(cut + 1)];
  if (cut < 0 || !leaf) throw new Error(`${name} has no PyTorch name`);
  return `${name.slice(0, cut)}.${leaf}`;
}

/** the permutation taking a Stratum tensor of this name and rank to PyTorch's layout, or null */
function permutation(name: string, rank: number): number[] | null {
  const base = name.replace(/^adam\.[mv]\./, '');
  if (!base.endsWith('.w')) return null;
  if (rank === 4) return [3, 2, 0, 1]; // [kh, kw, cin, cout] -> [cout, cin, kh, kw]
  if (rank === 2) return [1, 0]; // [in, out] -> [out, in]
  return null;
}

/** values of `shape` (row-major) permuted: out's axis i is the input's axis perm[i] */
function permute(values: Float32Array, shape: number[], perm: number[]): SafeTensor {
  const outShape = perm.map((a) => shape[a]!);
  const rank = shape.length;
  const inStride = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStride[i] = inStride[i + 1]! * shape[i + 1]!;
  const stride = perm.map((a) => inStride[a]!);
  const out = new Float32Array(values.length);
  // the last axis in an inner loop (a ResNet-18's 11 M weights: a per-element index walk took seconds)
  const inner = outShape[rank - 1]!;
  const step = stride[rank - 1]!;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let o = 0; o < out.length; o += inner) {
    let src = 0;
    for (let i = 0; i < rank - 1; i++) src += idx[i]! * stride[i]!;
    for (let k = 0; k < inner; k++, src += step) out[o + k] = values[src]!;
    for (let i = rank - 2; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return { shape: outShape, values: out };
}

const inverse = (perm: number[]) => perm.map((_, i) => perm.indexOf(i));

/** a Stratum tensor as the twin names and lays it out */
export function toTorchTensor(name: string, t: SafeTensor): [string, SafeTensor] {
  const perm = permutation(name, t.shape.length);
  return [torchName(name), perm ? permute(t.values, t.shape, perm) : t];
}

/** the Stratum names a model of this architecture may hold, in the order Stratum writes them */
function stratumNames(model: Decomposer): string[] {
  const names = [...model.store.entries.keys()].filter((n) => !/\.step(Mean|Var)$/.test(n) && n !== SHAPES_KEY && n !== EDGE_SHAPES_KEY);
  const trainable = [...model.store.trainable().keys()];
  const steps = names.filter((n) => n.endsWith('.runMean')).flatMap((n) => [n.replace(/runMean$/, 'stepMean'), n.replace(/runMean$/, 'stepVar')]);
  return [...names, ...steps, SHAPES_KEY, EDGE_SHAPES_KEY, ...trainable.map((n) => `${OPTIMISER_PREFIX}m.${n}`), ...trainable.map((n) => `${OPTIMISER_PREFIX}v.${n}`)];
}

/** a Decomposer of the architecture of a header's `model`, or a one-line error naming `path` */
function architecture(model: unknown, path: string): Decomposer {
  const problem = modelConfigProblem(model);
  if (problem) throw new Error(`${path}: ${problem}`);
  const m = model as ModelConfig;
  return new Decomposer(modelConfig({ ...m, mask: m.mask }));
}

/** a Stratum model file or training checkpoint (already parsed) as safetensors chunks in the twin's layout */
export function checkpointToSafetensors(ckpt: Checkpoint, path: string): Uint8Array[] {
  // the whole file is checked as Stratum reads it: a file that does not load does not export
  const model = modelFromCheckpoint(ckpt, path);
  const known = new Set(stratumNames(model));
  model.dispose();
  const tensors: [string, SafeTensor][] = [];
  for (const { name } of ckpt.header.tensors) {
    if (!known.has(name)) throw new Error(`${path}: tensor ${name} is not part of the reconstruction model or its optimiser (export-torch moves those only)`);
    tensors.push(toTorchTensor(name, ckpt.tensors.get(name)!));
  }
  const { tensors: table, ...rest } = ckpt.header;
  return encodeSafetensors(tensors, { format: 'pt', [HEADER_KEY]: JSON.stringify(rest), [ORDER_KEY]: JSON.stringify(table.map((t) => t.name)) });
}

/** a safetensors file in the twin's layout as the bytes of a Stratum model file (checked as Stratum loads it) */
export function safetensorsToCheckpoint(file: SafeTensorsFile, path: string): Uint8Array[] {
  const raw = file.metadata[HEADER_KEY];
  if (raw === undefined) throw new Error(`${path}: no ${HEADER_KEY} in its __metadata__ (not written by stratum export-torch or stratum_torch): the architecture is unknown`);
  let rest: Record<string, unknown>;
  try {
    rest = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Error(`${path}: ${HEADER_KEY} in its __metadata__ is not JSON`);
  }
  if (!rest || typeof rest !== 'object' || Array.isArray(rest)) throw new Error(`${path}: ${HEADER_KEY} in its __metadata__ is not a JSON object`);
  if (rest.kind !== undefined) throw new Error(`${path}: a ${String(rest.kind)} checkpoint, not a reconstruction model`);
  const model = architecture(rest.model, path);
  const params = new Map([...model.store.entries].map(([n, e]) => [n, e.variable.shape]));
  const canonical = stratumNames(model);
  model.dispose();
  const fromTorch = new Map(canonical.map((n) => [torchName(n), n]));
  const converted = new Map<string, SafeTensor>();
  for (const [tname, t] of file.tensors) {
    const name = fromTorch.get(tname);
    if (!name) throw new Error(`${path}: unexpected tensor ${tname} (not a parameter, statistic, shape bank or optimiser moment of a ${describe(rest.model as ModelConfig)} model)`);
    const perm = permutation(name, t.shape.length);
    // parameters and their moments have the architecture's shapes (in torch layout); statistics and the bank are checked on loading
    const want = params.get(name.replace(/^adam\.[mv]\./, ''));
    const expected = want && (perm ? perm.map((a) => want[a]!) : want);
    if (expected && expected.join(',') !== t.shape.join(',')) throw new Error(`${path}: ${tname} has shape [${t.shape}], expected [${expected}] for this architecture`);
    converted.set(name, perm ? permute(t.values, t.shape, inverse(perm)) : t);
  }
  for (const name of params.keys()) if (!converted.has(name)) throw new Error(`${path}: lacks ${torchName(name)} (a ${describe(rest.model as ModelConfig)} model needs it)`);
  const order = tensorOrder(file.metadata[ORDER_KEY], converted, canonical, path);
  let offset = 0;
  const table = order.map((name) => {
    const t = converted.get(name)!;
    const row = { name, shape: t.shape, offset };
    offset += t.values.length * 4;
    return row;
  });
  const header = { ...rest, tensors: table } as unknown as CheckpointHeader;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pre = new Uint8Array(12);
  pre.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  new DataView(pre.buffer).setUint32(8, json.length, true);
  const chunks = [
    pre,
    json,
    ...order.map((n) => {
      const v = converted.get(n)!.values;
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    }),
  ];
  // read back as every Stratum command will read it: header fields, sizes, parameters, bank
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  modelFromCheckpoint(parseCheckpoint(bytes, path), path).dispose();
  return [bytes];
}

/** the Stratum order of the converted tensors: the recorded one (a permutation of them), else Stratum's own */
function tensorOrder(recorded: string | undefined, converted: Map<string, SafeTensor>, canonical: string[], path: string): string[] {
  if (recorded === undefined) return canonical.filter((n) => converted.has(n));
  let order: unknown;
  try {
    order = JSON.parse(recorded);
  } catch {
    throw new Error(`${path}: ${ORDER_KEY} in its __metadata__ is not JSON`);
  }
  if (!Array.isArray(order) || order.length !== converted.size || new Set(order).size !== order.length || !order.every((n) => typeof n === 'string' && converted.has(n))) {
    throw new Error(`${path}: ${ORDER_KEY} in its __metadata__ does not list the file's ${converted.size} tensors once each`);
  }
  return order as string[];
}

function describe(m: ModelConfig): string {
  return `${m.encoder} encoder, T=${m.T}, K=${m.mask.K}, ${m.size}²`;
}
