/**
 * Stratum as a library: load a trained model, decompose an image (a file, its bytes or a tensor)
 * into a layered document, refine it, render it at any size, edit it, export it.
 *
 *   import * as stratum from 'stratum';
 *   const model = await stratum.load();                       // the bundled model
 *   const doc = await stratum.decompose(model, 'boot.png');   // T layers: mask parameters p, colour
 *   const { rgb } = stratum.render(doc, 2048);                // float RGB at 2048², any size
 *   await stratum.export(stratum.edit.recolour(doc, 0, [1, 0, 0]), 'boot.svg');
 *
 * The command line (src/cli) is built on the same functions.
 */
import { useBackend, type BackendName } from './backend/index.js';
import { REFINE_DEFAULTS } from './config.js';
import type { LayeredDocument } from './core/document.js';
import * as tf from './core/tf.js';
import { MAX_INPUT_SIDE } from './config.js';
import { readImageFrame } from './data/images.js';
import { type Frame } from './model/decomposeFrame.js';
import { checkPipeline, decomposePipeline, stretchedFrame, type PipelineOptions } from './pipeline/decompose.js';
import { exportDocument } from './export/exportDocument.js';
import { DEFAULT_MODEL } from './io/paths.js';
import { loadModel } from './model/checkpoint.js';
import type { Decomposer } from './model/decomposer.js';
import { type RefineOptions } from './model/refine.js';
import { refineDecomposition } from './model/refineDocument.js';

export { renderDocument as render } from './core/document.js';
export type { Rendered } from './core/render.js';
export type { DocLayer, LayeredDocument } from './core/document.js';
export type { Layer } from './core/render.js';
export type { MaskNetConfig, ModelConfig } from './config.js';
export type { Decomposer } from './model/decomposer.js';
export type { RefineOptions } from './model/refine.js';
export { loadDocument, saveDocument } from './export/documentFile.js';
export { exportDocument, EXPORT_FORMATS, type ExportFormat, type ExportOptions } from './export/exportDocument.js';
export * as edit from './edit/edits.js';
export { exportDocument as export };
export { useBackend, type BackendName, DEFAULT_MODEL };

/**
 * An image: a file path, the bytes of an image file (PNG, JPEG, WebP…), or a tensor of RGB
 * values in [0, 1], [H, W, 3] or [1, H, W, 3].
 */
export type ImageInput = string | Uint8Array | tf.Tensor;

export interface LoadOptions {
  /** compute backend (default 'auto': the native kernels when built, else tfjs cpu) */
  backend?: BackendName;
}

/** a trained reconstruction model from a model or checkpoint file (default: the bundled model) */
export async function load(path: string = DEFAULT_MODEL, o: LoadOptions = {}): Promise<Decomposer> {
  await useBackend(o.backend ?? 'auto');
  return loadModel(path).model;
}

/** the image at its own aspect as uint8 RGB (files up to MAX_INPUT_SIDE on the long side; tensors as they are) */
async function imageFrame(image: ImageInput): Promise<Frame> {
  if (typeof image === 'string' || image instanceof Uint8Array) return readImageFrame(image, MAX_INPUT_SIDE);
  if (!(image instanceof tf.Tensor)) throw new Error('image must be a file path, the bytes of an image file, or a tensor');
  const shape = image.shape;
  const hw = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  if (hw.length !== 3 || hw[2] !== 3 || hw[0]! < 1 || hw[1]! < 1) throw new Error(`image tensor must be [H, W, 3] or [1, H, W, 3] RGB, got [${shape.join(', ')}]`);
  if (hw[0]! * hw[1]! > MAX_INPUT_SIDE * MAX_INPUT_SIDE) throw new Error(`image tensor of ${hw[1]}×${hw[0]} is too large (at most ${MAX_INPUT_SIDE * MAX_INPUT_SIDE} pixels)`);
  const values = image.dataSync() as Float32Array;
  if (!values.every((v) => v >= 0 && v <= 1)) throw new Error('image tensor values must lie in [0, 1]');
  return { width: hw[1]!, height: hw[0]!, rgb: Uint8Array.from(values, (v) => Math.round(v * 255)) };
}

export interface DecomposeOptions {
  /** use only the first T layers (default: the model's T) */
  T?: number;
  /**
   * layers N (default: the model's T). Above T, N − T placed layers of the learned shape family are
   * fitted to the whole frame after the encoder's (src/model/decomposeFrame.ts)
   */
  layers?: number;
  /** time for finding the placed layers, in milliseconds (default: a fixed effort per layer) */
  budgetMs?: number;
  /** whole-frame layers: add this many layers greedily where the residual is largest */
  greedy?: number;
  /** whole-frame layers: then refine every layer by gradient descent on L1 (steps, or refine.budgetMs; default 2 s) */
  refine?: Partial<RefineOptions>;
  /** whole-frame layers: then remove layers whose removal costs less than this many dB */
  prune?: number;
  /** recorded in the document's source */
  name?: string;
  /** least-squares colours given the encoder's masks (default true; false: the encoder's own colours) */
  leastSquares?: boolean;
  /** with least-squares colours, improve the encoder's stack (default true): false keeps its layers in its order */
  reorder?: boolean;
  /** swap weak layers for the model's bank shapes when it has a bank (default true; false: restack them instead) */
  shapes?: boolean;
  /** crisp layers: flat regions with anti-aliased edges instead of washes; default: crisp when layers are placed (layers above the model's T), false: soft (a little more PSNR) */
  crisp?: boolean;
}

/** the pipeline's options (src/pipeline/decompose.ts) for the library's */
function pipelineOptions(o: DecomposeOptions): PipelineOptions {
  const r = o.refine;
  return {
    layers: o.layers ?? o.T,
    budgetMs: r ? r.budgetMs ?? (r.steps ? undefined : REFINE_DEFAULTS.budgetMs) : o.budgetMs,
    fitSize: r?.fitSize,
    leastSquares: o.leastSquares,
    reorder: o.reorder,
    shapes: o.shapes,
    crisp: o.crisp,
    greedy: o.greedy,
    refine: r ? { steps: r.steps, lr: r.lr, coloursOnly: r.coloursOnly, pixels: r.pixels } : undefined,
    prune: o.prune,
  };
}

/**
 * the layered document of an image at its own aspect, as `stratum decompose` makes it: the model's
 * T layers (mask parameters p and colour), bottom first, and with `layers` above T placed layers on
 * top; with greedy/refine/prune the whole-frame layers improved against the image
 */
export async function decompose(model: Decomposer, image: ImageInput, o: DecomposeOptions = {}): Promise<LayeredDocument> {
  const po = pipelineOptions(o);
  checkPipeline(model, po); // before reading the image
  const frame = await imageFrame(image);
  const name = o.name ?? (typeof image === 'string' ? image : undefined);
  return decomposePipeline(model, frame, po, name ? { image: name } : {}).doc;
}

/**
 * Many images, one after another through the same model (the start-up is paid once): yields each
 * image's document or the one-line error that stopped it, in the order given, and goes on after a
 * bad file. `stratum decompose IMAGES... -o DIR` runs it in a pool of worker processes.
 */
export async function* decomposeMany(model: Decomposer, images: Iterable<ImageInput>, o: DecomposeOptions = {}): AsyncGenerator<{ image: ImageInput; doc?: LayeredDocument; error?: string; seconds: number }> {
  checkPipeline(model, pipelineOptions(o));
  for (const image of images) {
    const t0 = performance.now();
    try {
      const doc = await decompose(model, image, o);
      yield { image, doc, seconds: (performance.now() - t0) / 1000 };
    } catch (e) {
      yield { image, error: (e as Error).message.split('\n')[0]!, seconds: (performance.now() - t0) / 1000 };
    }
  }
}

export interface Refined {
  doc: LayeredDocument;
  psnrBefore: number;
  psnrAfter: number;
}

/**
 * optimise a document's mask parameters and colours (or the colours only) to reproduce `image`
 * by gradient descent on L1, the mask network fixed
 */
export async function refine(doc: LayeredDocument, image: ImageInput, o: Partial<RefineOptions> = {}): Promise<Refined> {
  const size = o.fitSize ?? REFINE_DEFAULTS.fitSize;
  if (doc.layers.some((l) => l.place || (l.gain ?? 1) !== 1 || (l.opacity ?? 1) !== 1)) throw new Error('refine works on whole-frame layers; this document has placed, sharpened or translucent layers');
  const r = refineDecomposition(doc, { rgb: stretchedFrame(await imageFrame(image), size), size }, { ...o, budgetMs: o.budgetMs ?? (o.steps ? 0 : REFINE_DEFAULTS.budgetMs) });
  return { doc: r.doc, psnrBefore: r.psnrBefore, psnrAfter: r.psnrAfter };
}
