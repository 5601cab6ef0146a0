/** Decompose one image with a trained model into a layered document. */
import { canvasAfterEachLayer, layerWeights, leastSquaresColours } from '../core/stack.js';
import { makeDocument, type DocLayer, type LayeredDocument } from '../core/document.js';
import * as tf from '../core/tf.js';
import { searchLayerOrder } from './reorder.js';
import { swapShapes } from './shapeSwaps.js';
import { fusedDecompose, type Decomposer } from './decomposer.js';
import { newCtx } from './nn.js';

export interface Decomposition {
  doc: LayeredDocument;
  /** reconstruction at the model's size, RGB floats */
  canvas: Float32Array;
  /** canvas after each step and each layer's mask at the model's size */
  steps: { canvas: Float32Array; mask: Float32Array }[];
}

export interface DecomposeImageOptions {
  /**
   * replace the encoder's colours by the least-squares colours given its masks (default true).
   * The image is linear in the colours, I = Σ_t c_t · M_t · Π_{s>t} (1 − M_s), so for the masks
   * the encoder chose the best colours are a T×T solve (src/core/stack.ts leastSquaresColours):
   * about a millisecond, and on the held-out photos +1.3 dB over the encoder's own colours.
   */
  leastSquares?: boolean;
  /**
   * with least-squares colours, improve the encoder's stack (default true): with a shape bank by
   * the swaps below, else by the order search, where layers worth < 0.1 dB are tried at the bottom
   * and the top and a move is kept when the image gets closer to the target (src/model/reorder.ts;
   * the same layers, restacked). false keeps the encoder's layers in its order.
   */
  reorder?: boolean;
  /**
   * with least-squares colours and a model that has a shape bank, swap the weakest layers for bank
   * shapes painted on top (default true; src/model/shapeSwaps.ts). It replaces the order search (a
   * layer moved to the top is one of its candidates' kind, and it finds the same gain), so with a
   * bank the order search is not run. `reorder: false` keeps the encoder's layers in its order, so
   * it also turns the swaps off.
   */
  shapes?: boolean;
}

/**
 * The most layers a decomposition may ask of an encoder trained with T steps: it keeps running past
 * T (it looks at the canvas), but far beyond that a request is more likely a typo than a wish.
 * `stratum decompose --layers` and the browser editor's layers field share it.
 */
export function maxEncoderSteps(T: number): number {
  return Math.max(64, 4 * T);
}

/** rgb: uint8 [S, S, 3] at the model's size */
export function decomposeImage(
  model: Decomposer,
  rgb: Uint8Array,
  o: DecomposeImageOptions & {
    /** how many layers the encoder paints (default the model's T; 1 to maxEncoderSteps(T)) */
    layers?: number;
    /** provenance written into the document's source (the image's path, …) */
    source?: Record<string, unknown>;
  } = {},
): Decomposition {
  const T = o.layers ?? model.cfg.T;
  const source = o.source ?? {};
  const S = model.cfg.size;
  if (rgb.length !== S * S * 3) throw new Error(`image must be ${S}×${S} RGB for this model`);
  const cap = maxEncoderSteps(model.cfg.T);
  if (!Number.isInteger(T) || T < 1 || T > cap) throw new Error(`layers must be a whole number from 1 to ${cap} for this model (T=${model.cfg.T}), got ${T}`);
  const leastSquares = o.leastSquares ?? true;
  const K = model.cfg.mask.K;
  const P = S * S;
  const target = new Float32Array(rgb.length); // (a loop: Float32Array.from with a map function is ~10× slower)
  for (let i = 0; i < rgb.length; i++) target[i] = rgb[i]! / 255;
  // the layers' parameters, encoder colours and masks from one forward pass: fused for one image
  // where the backend has it, else the tfjs definition (tensors out of tidy, arrays read after it:
  // a tidy returning typed arrays walks every element of them looking for tensors)
  let pData: Float32Array, cData: Float32Array, maskData: Float32Array;
  const one = fusedDecompose.active()?.(model, target, T);
  if (one) ({ p: pData, c: cData, masks: maskData } = one);
  else {
    const t = tf.tidy(() => {
      const { steps } = model.forward(tf.tensor4d(target, [1, S, S, 3]), newCtx(false), true, T);
      return [tf.stack(steps.map((s) => s.p)), tf.stack(steps.map((s) => s.c)), tf.stack(steps.map((s) => s.mask))];
    });
    [pData, cData, maskData] = t.map((v) => v.dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array];
    tf.dispose(t);
  }
  let masks: Float32Array[] = Array.from({ length: T }, (_, s) => maskData.slice(s * P, (s + 1) * P));
  const encoderColours = Array.from({ length: T }, (_, s) => Array.from(cData.subarray(s * 3, (s + 1) * 3)) as [number, number, number]);
  let colours = leastSquares ? leastSquaresColours(layerWeights(masks), target, encoderColours) : encoderColours;
  // the layers in stack order: origin[k] ≥ 0 is the step of the forward pass that painted layer k,
  // −1 − d a shape d of the bank
  let origin = Array.from({ length: T }, (_, k) => k);
  let changes = 0;
  const bank = leastSquares && (o.shapes ?? true) && (o.reorder ?? true) ? model.shapeBank() : null;
  if (bank) {
    let swaps: number;
    ({ masks, colours, origin, swaps } = swapShapes(masks, target, colours, bank));
    changes = swaps;
  } else if (leastSquares && (o.reorder ?? true)) {
    let order: number[], moves: number;
    ({ order, colours, moves } = searchLayerOrder(masks, target, colours));
    masks = order.map((s) => masks[s]!);
    origin = order;
    changes = moves;
  }
  // the canvas after each layer, blended from the masks (the forward pass's own canvases are the
  // same blend with the encoder's colours)
  const canvases = canvasAfterEachLayer(masks, colours);
  const steps = canvases.map((c, t) => ({ canvas: c, mask: masks[t]! }));
  const canvas = canvases[T - 1]!;
  const pOf = (o: number) => (o >= 0 ? pData.subarray(o * K, (o + 1) * K) : bank!.p.subarray((-1 - o) * K, -o * K));
  const layers: DocLayer[] = colours.map((colour, t) => ({ name: `layer ${t + 1}`, p: Array.from(pOf(origin[t]!)), colour, visible: true }));
  const doc = makeDocument(model.cfg.mask, S, model.store, layers, {
    ...source,
    // T: the layer count the model was trained with; encoderSteps: how many layers it predicted here
    model: { encoder: model.cfg.encoder, T: model.cfg.T, K: model.cfg.mask.K, size: S },
    encoderSteps: T,
    colours: leastSquares ? 'least-squares' : 'encoder',
    // the forward pass's step of each layer, bottom first (null: a shape of the bank), when the
    // order search or the shape swaps changed any
    ...(changes > 0 ? { stepOfLayer: origin.map((o) => (o >= 0 ? o : null)) } : {}),
    ...(bank ? { shapeSwaps: changes } : {}),
  });
  return { doc, canvas, steps };
}
