/**
 * A wider small encoder holding the same function (Net2WiderNet, Chen et al. 2016), so a trained
 * model can grow and keep training instead of starting over. Each layer i of C_i channels becomes
 * C'_i ≥ C_i: channel j < C_i is itself, channel j ≥ C_i a copy of a source channel g_i(j). With
 * inference BatchNorm and ReLU per channel, a copy's activation equals its source's, so the
 * weights that read layer i (the next convolution's input rows, or the heads after mean pooling)
 * are split among a channel's copies with fractions that sum to 1:
 *
 *   W'_{i+1}[.., j, ..] = α_j · W_{i+1}[.., g_i(j), ..],   Σ_{j: g_i(j) = s} α_j = 1
 *
 * so every sum the next layer forms is unchanged. The fractions are random (not 1/n), so copies get
 * different gradients and drift apart in training. Batch statistics of a copy equal its source's,
 * so training-mode BatchNorm is preserved too. Only the small encoder with BatchNorm grows here.
 *
 * The pooling can grow too, from 'mean' to 'flatten' (src/model/smallEncoder.ts): the mean over the
 * last map's n positions is a flattened feature read with the head's rows repeated at every
 * position and divided by n, so the heads start out painting the same and can then learn where.
 */
import type { ModelConfig } from '../../config.js';
import { smallFeatureSide } from '../../model/smallEncoder.js';
import { mulberry32 } from '../../core/random.js';
import * as tf from '../../core/tf.js';
import { Decomposer } from '../../model/decomposer.js';
import { ENCODER_PREFIX } from '../../model/encoder.js';

/** why `from` cannot grow into `to` ('' when it can): the same model but wider small-encoder layers */
export function widenProblem(from: ModelConfig, to: ModelConfig): string {
  if (from.encoder !== 'small' || to.encoder !== 'small') return 'only the small encoder can be widened';
  if ((from.encoderNorm ?? 'batch') !== 'batch' || (to.encoderNorm ?? 'batch') !== 'batch') return 'only a BatchNorm encoder can be widened';
  const a = from.smallChannels, b = to.smallChannels;
  if (a.length !== b.length) return `the small encoder has ${a.length} layers in the model file and ${b.length} in this run`;
  const i = b.findIndex((c, k) => c < a[k]!);
  if (i >= 0) return `layer ${i} would shrink from ${a[i]} to ${b[i]} channels`;
  if ((from.smallPool ?? 'mean') === 'flatten' && (to.smallPool ?? 'mean') === 'mean') return "a 'flatten' pooling cannot go back to 'mean'";
  return '';
}

/** source channel of each new channel (identity first, then random sources) and each one's share of its source's outgoing weights */
function channelMap(from: number, to: number, rng: () => number): { src: number[]; share: number[] } {
  const src = Array.from({ length: to }, (_, j) => (j < from ? j : Math.floor(rng() * from)));
  const raw = src.map(() => 0.5 + rng()); // in [0.5, 1.5): no copy gets a vanishing share
  const total = new Array<number>(from).fill(0);
  src.forEach((s, j) => (total[s] = total[s]! + raw[j]!));
  return { src, share: src.map((s, j) => raw[j]! / total[s]!) };
}

/**
 * weight w [..., cin, cout] (trailing two axes) with its input rows mapped by `inMap` (scaled by
 * their shares) and its output columns copied by `outMap`; either may be null (axis unchanged)
 */
function remap(w: Float32Array, shape: number[], inMap: { src: number[]; share: number[] } | null, outMap: number[] | null): { data: Float32Array; shape: number[] } {
  const cin = shape[shape.length - 2]!, cout = shape[shape.length - 1]!;
  const lead = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const cin2 = inMap ? inMap.src.length : cin, cout2 = outMap ? outMap.length : cout;
  const out = new Float32Array(lead * cin2 * cout2);
  for (let l = 0; l < lead; l++)
    for (let i = 0; i < cin2; i++) {
      const si = inMap ? inMap.src[i]! : i, f = inMap ? inMap.share[i]! : 1;
      for (let o = 0; o < cout2; o++) out[(l * cin2 + i) * cout2 + o] = f * w[(l * cin + si) * cout + (outMap ? outMap[o]! : o)]!;
    }
  return { data: out, shape: [...shape.slice(0, -2), cin2, cout2] };
}

/** `src` grown to configuration `to` (wider small-encoder layers, 'mean' → 'flatten' pooling), the same function; `src` is left as it is */
export function widenModel(src: Decomposer, to: ModelConfig, seed = 1): Decomposer {
  const problem = widenProblem(src.cfg, to);
  if (problem) throw new Error(`cannot widen: ${problem}`);
  const rng = mulberry32(seed);
  const model = new Decomposer(to, seed);
  const get = (name: string) => src.store.get(name).dataSync() as Float32Array;
  const put = (name: string, data: Float32Array, shape: number[]) => {
    if (!model.store.has(name)) model.store.add(name, tf.zeros(shape), false);
    tf.tidy(() => model.store.get(name).assign(tf.tensor(data, shape)));
  };
  const from = src.cfg.smallChannels, chans = to.smallChannels;
  let prev: { src: number[]; share: number[] } | null = null;
  chans.forEach((c, i) => {
    const map = channelMap(from[i]!, c, rng);
    const conv = `${ENCODER_PREFIX}.conv${i}.w`;
    const w = remap(get(conv), src.store.get(conv).shape, prev, map.src);
    put(conv, w.data, w.shape);
    // per-channel BatchNorm parameters and statistics (running, and per step when calibrated)
    for (const suffix of ['gamma', 'beta', 'runMean', 'runVar', 'stepMean', 'stepVar']) {
      const name = `${ENCODER_PREFIX}.bn${i}.${suffix}`;
      if (!src.store.has(name)) continue;
      const shape = src.store.get(name).shape;
      const rows = shape.length === 2 ? shape[0]! : 1;
      const v = remap(get(name), [rows, from[i]!], null, map.src);
      put(name, v.data, shape.length === 2 ? [rows, c] : [c]);
    }
    prev = map;
  });
  // the heads read the last layer (at each of n positions when flattened, NHWC): their input rows
  // are split like a convolution's, position by position; a mean pool grown to a flattened one
  // repeats them at every position, divided by n
  const side = smallFeatureSide(to.size, chans.length);
  const n = side * side;
  const fromFlat = (src.cfg.smallPool ?? 'mean') === 'flatten', toFlat = (to.smallPool ?? 'mean') === 'flatten';
  const Cin = from[from.length - 1]!;
  for (const head of ['head.p', 'head.c']) {
    const out = src.store.get(`${head}.w`).shape[1]!;
    const w = remap(get(`${head}.w`), fromFlat ? [n, Cin, out] : [Cin, out], prev, null);
    let data = w.data;
    if (toFlat && !fromFlat) {
      data = new Float32Array(n * w.data.length);
      for (let q = 0; q < n; q++) for (let k = 0; k < w.data.length; k++) data[q * w.data.length + k] = w.data[k]! / n;
    }
    put(`${head}.w`, data, [data.length / out, out]);
    put(`${head}.b`, get(`${head}.b`), src.store.get(`${head}.b`).shape);
  }
  // the mask MLP does not change
  for (const [name] of model.store.entries) if (name.startsWith('mask.')) model.store.get(name).assign(src.store.get(name));
  return model;
}
