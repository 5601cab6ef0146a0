/**
 * Per-image refinement: starting from the network's layers, optimise the mask parameters p_t and
 * colours c_t (or the colours only) by gradient descent (Adam) on L1(render, target), with the
 * mask MLP fixed. Colours are optimised as logits so they stay in [0, 1].
 */
import { REFINE_DEFAULTS, type MaskNetConfig } from '../config.js';
import { pixelGrid } from '../core/grid.js';
import { psnrFromMse } from '../core/psnr.js';
import { layerLoop } from '../core/layerLoop.js';
import { maskNet } from '../core/maskNet.js';
import { documentStore, type LayeredDocument } from '../core/document.js';
import type { ParamStore } from '../core/params.js';
import type { Layer } from '../core/render.js';
import * as tf from '../core/tf.js';
import { Adam } from '../core/adam.js';

export interface RefineOptions {
  steps: number;
  lr?: number;
  coloursOnly?: boolean;
}

export interface RefineResult {
  layers: Layer[];
  psnrBefore: number;
  psnrAfter: number;
  losses: number[];
}

/** target: RGB floats [S*S*3] at the reference size S */
export function refineLayers(store: ParamStore, cfg: MaskNetConfig, layers: Layer[], target: Float32Array, S: number, o: RefineOptions): RefineResult {
  const T = layers.length;
  const grid = pixelGrid(S, S);
  const x = tf.tensor4d(target, [1, S, S, 3]);
  const P = tf.variable(tf.tensor2d(layers.map((l) => l.p), [T, cfg.K]), !o.coloursOnly);
  const logit = (c: number) => Math.log(Math.min(Math.max(c, 1e-4), 1 - 1e-4) / (1 - Math.min(Math.max(c, 1e-4), 1 - 1e-4)));
  const Z = tf.variable(tf.tensor2d(layers.map((l) => l.colour.map(logit)), [T, 3]));
  // the layer loop over the visible layers, each step's (p_t, c_t) read from the variables
  const visible = layers.flatMap((l, t) => (l.visible === false ? [] : [t]));
  const render = () => {
    const colours = tf.sigmoid(Z);
    const predict = (_: tf.Tensor4D, i: number) => ({ p: P.slice([visible[i]!, 0], [1, cfg.K]) as tf.Tensor2D, c: colours.slice([visible[i]!, 0], [1, 3]) as tf.Tensor2D });
    const maskOf = (p: tf.Tensor2D) => maskNet(store, cfg, grid, p).masks.reshape([1, S, S, 1]) as tf.Tensor4D;
    return layerLoop(tf.zeros([1, S, S, 3]) as tf.Tensor4D, visible.length, predict, maskOf).canvas;
  };
  const mseNow = () => tf.tidy(() => tf.mean(tf.squaredDifference(render(), x)).dataSync()[0]!);
  const psnrBefore = psnrFromMse(mseNow());
  const opt = new Adam({ ...REFINE_DEFAULTS, lr: o.lr ?? REFINE_DEFAULTS.lr });
  const vars = new Map<string, tf.Variable>([['c', Z]]);
  if (!o.coloursOnly) vars.set('p', P);
  const losses: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(render(), x))) as tf.Scalar, [...vars.values()]);
    losses.push(value.dataSync()[0]!);
    const named = new Map<string, tf.Tensor>([...vars].map(([k, v]) => [k, grads[v.name]!]));
    opt.apply(vars, named);
    tf.dispose([value, ...Object.values(grads)]);
  }
  const psnrAfter = psnrFromMse(mseNow());
  const pv = P.arraySync() as number[][];
  const cv = tf.tidy(() => tf.sigmoid(Z).arraySync()) as number[][];
  const out = layers.map((l, t) => ({ ...l, p: pv[t]!, colour: cv[t] as [number, number, number] }));
  opt.dispose();
  tf.dispose([grid, x, P, Z]);
  return { layers: out, psnrBefore, psnrAfter, losses };
}

/**
 * A document refined against `target` (RGB floats [S*S*3] at its reference size S); the new
 * document keeps every layer's name and visibility and records the refinement in source.refined.
 */
export function refineDocument(doc: LayeredDocument, target: Float32Array, o: RefineOptions): RefineResult & { doc: LayeredDocument } {
  const S = doc.referenceSize;
  if (target.length !== S * S * 3) throw new Error(`refinement target must be ${S}×${S} RGB (the document's reference size), got ${target.length} values`);
  const store = documentStore(doc);
  try {
    const r = refineLayers(store, doc.mask, doc.layers, target, S, o);
    const refined = { steps: o.steps, coloursOnly: !!o.coloursOnly, psnrBefore: r.psnrBefore, psnrAfter: r.psnrAfter };
    return { ...r, doc: { ...doc, layers: r.layers.map((l, t) => ({ ...doc.layers[t]!, p: l.p, colour: l.colour })), source: { ...doc.source, refined } } };
  } finally {
    store.dispose();
  }
}
