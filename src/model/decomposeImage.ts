/** Decompose one image with a trained model into a layered document. */
import { canvasAfterEachLayer } from '../core/blend.js';
import { makeDocument, type DocLayer, type LayeredDocument } from '../core/document.js';
import * as tf from '../core/tf.js';
import { layerWeights, leastSquaresColours } from './refine.js';
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
   * the encoder chose the best colours are a T×T solve (src/model/refine.ts leastSquaresColours):
   * about a millisecond, and on the held-out photos +1.3 dB over the encoder's own colours.
   */
  leastSquares?: boolean;
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
export function decomposeImage(model: Decomposer, rgb: Uint8Array, source: Record<string, unknown> = {}, T = model.cfg.T, o: DecomposeImageOptions = {}): Decomposition {
  const S = model.cfg.size;
  if (rgb.length !== S * S * 3) throw new Error(`image must be ${S}×${S} RGB for this model`);
  const cap = maxEncoderSteps(model.cfg.T);
  if (!Number.isInteger(T) || T < 1 || T > cap) throw new Error(`layers must be a whole number from 1 to ${cap} for this model (T=${model.cfg.T}), got ${T}`);
  const leastSquares = o.leastSquares ?? true;
  const K = model.cfg.mask.K;
  const P = S * S;
  const target = new Float32Array(rgb.length); // (a loop: Float32Array.from with a map function is ~10× slower)
  for (let i = 0; i < rgb.length; i++) target[i] = rgb[i]! / 255;
  let canvasData: Float32Array, pData: Float32Array, cData: Float32Array, maskData: Float32Array, stepData: Float32Array;
  const one = fusedDecompose.active()?.(model, target, T);
  if (one) {
    ({ canvas: canvasData, p: pData, c: cData, masks: maskData } = one);
    stepData = new Float32Array(0);
    if (!leastSquares) {
      const masks = Array.from({ length: T }, (_, s) => maskData.subarray(s * P, (s + 1) * P));
      const colours = Array.from({ length: T }, (_, s) => cData.subarray(s * 3, (s + 1) * 3));
      stepData = new Float32Array(T * P * 3);
      canvasAfterEachLayer(masks, colours).forEach((c, s) => stepData.set(c, s * P * 3));
    }
  } else {
    // tensors out of tidy, arrays read after it: a tidy returning typed arrays walks every element
    // of them looking for tensors (a fifth of the time of a 32² decomposition)
    const t = tf.tidy(() => {
      const x = tf.tensor4d(target, [1, S, S, 3]);
      const { canvas, steps } = model.forward(x, newCtx(false), true, T);
      const stacked = (f: (s: (typeof steps)[number]) => tf.Tensor) => (steps.length ? tf.stack(steps.map(f)) : tf.zeros([0]));
      // with least-squares colours the canvases are recomputed from the masks: not read back
      return { canvas, p: stacked((s) => s.p), c: stacked((s) => s.c), mask: stacked((s) => s.mask), stepCanvas: leastSquares ? tf.zeros([0]) : stacked((s) => s.canvas) };
    });
    [canvasData, pData, cData, maskData, stepData] = [t.canvas, t.p, t.c, t.mask, t.stepCanvas].map((v) => v.dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    tf.dispose([t.canvas, t.p, t.c, t.mask, t.stepCanvas]);
  }
  const out = {
    canvas: canvasData,
    steps: Array.from({ length: T }, (_, s) => ({
      p: Array.from(pData.subarray(s * K, (s + 1) * K)),
      c: Array.from(cData.subarray(s * 3, (s + 1) * 3)) as [number, number, number],
      mask: maskData.slice(s * P, (s + 1) * P),
      canvas: leastSquares ? new Float32Array(0) : stepData.slice(s * P * 3, (s + 1) * P * 3),
    })),
  };
  let canvas: Float32Array = out.canvas;
  let steps: { canvas: Float32Array; mask: Float32Array }[] = out.steps.map((s) => ({ canvas: s.canvas, mask: s.mask }));
  if (leastSquares && steps.length > 0) {
    const masks = steps.map((s) => s.mask);
    const colours = leastSquaresColours(layerWeights(masks), target, out.steps.map((s) => s.c));
    out.steps.forEach((s, t) => (s.c = colours[t]!));
    const canvases = canvasAfterEachLayer(masks, colours);
    canvas = canvases[canvases.length - 1]!;
    steps = canvases.map((c, t) => ({ canvas: c, mask: masks[t]! }));
  }
  const layers: DocLayer[] = out.steps.map((s, t) => ({ name: `layer ${t + 1}`, p: s.p, colour: s.c, visible: true }));
  const doc = makeDocument(model.cfg.mask, S, model.store, layers, {
    ...source,
    // T: the layer count the model was trained with; encoderSteps: how many layers it predicted here
    model: { encoder: model.cfg.encoder, T: model.cfg.T, K: model.cfg.mask.K, size: S },
    encoderSteps: T,
    colours: leastSquares ? 'least-squares' : 'encoder',
  });
  return { doc, canvas, steps };
}
