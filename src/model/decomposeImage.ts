/** Decompose one image with a trained model into a layered document. */
import { makeDocument, type DocLayer, type LayeredDocument } from '../core/document.js';
import * as tf from '../core/tf.js';
import type { Decomposer } from './decomposer.js';
import { newCtx } from './nn.js';

export interface Decomposition {
  doc: LayeredDocument;
  /** reconstruction at the model's size, RGB floats */
  canvas: Float32Array;
  /** canvas after each step and each layer's mask at the model's size */
  steps: { canvas: Float32Array; mask: Float32Array }[];
}

/** rgb: uint8 [S, S, 3] at the model's size */
export function decomposeImage(model: Decomposer, rgb: Uint8Array, source: Record<string, unknown> = {}, T = model.cfg.T): Decomposition {
  const S = model.cfg.size;
  if (rgb.length !== S * S * 3) throw new Error(`image must be ${S}×${S} RGB for this model`);
  const out = tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(rgb, (v) => v / 255), [1, S, S, 3]);
    const { canvas, steps } = model.forward(x, newCtx(false), true, T);
    return {
      canvas: canvas.dataSync() as Float32Array,
      steps: steps.map((s) => ({
        p: Array.from(s.p.dataSync()),
        c: Array.from(s.c.dataSync()) as [number, number, number],
        canvas: s.canvas.dataSync() as Float32Array,
        mask: s.mask.dataSync() as Float32Array,
      })),
    };
  });
  const layers: DocLayer[] = out.steps.map((s, t) => ({ name: `layer ${t + 1}`, p: s.p, colour: s.c, visible: true }));
  const doc = makeDocument(model.cfg.mask, S, model.store, layers, {
    ...source,
    // T: the layer count the model was trained with; encoderSteps: how many layers it predicted here
    model: { encoder: model.cfg.encoder, T: model.cfg.T, K: model.cfg.mask.K, size: S },
    encoderSteps: T,
  });
  return { doc, canvas: out.canvas, steps: out.steps.map((s) => ({ canvas: s.canvas, mask: s.mask })) };
}
