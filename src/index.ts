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
import { readImageSquare } from './data/images.js';
import { exportDocument } from './export/exportDocument.js';
import { DEFAULT_MODEL } from './io/paths.js';
import { loadModel } from './model/checkpoint.js';
import { decomposeImage } from './model/decomposeImage.js';
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

/** the image as uint8 RGB [size, size, 3]: files centre-cropped and resized, tensors resized */
async function imageRgb(image: ImageInput, size: number): Promise<Uint8Array> {
  if (typeof image === 'string' || image instanceof Uint8Array) return readImageSquare(image, size);
  if (!(image instanceof tf.Tensor)) throw new Error('image must be a file path, the bytes of an image file, or a tensor');
  const shape = image.shape;
  const hw = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  if (hw.length !== 3 || hw[2] !== 3) throw new Error(`image tensor must be [H, W, 3] or [1, H, W, 3] RGB, got [${shape.join(', ')}]`);
  const values = tf.tidy(() => {
    const x = image.reshape([1, hw[0]!, hw[1]!, 3]).toFloat() as tf.Tensor4D;
    return (hw[0] === size && hw[1] === size ? x : tf.image.resizeBilinear(x, [size, size])).dataSync() as Float32Array;
  });
  if (!values.every((v) => v >= 0 && v <= 1)) throw new Error('image tensor values must lie in [0, 1]');
  return Uint8Array.from(values, (v) => Math.round(v * 255));
}

export interface DecomposeOptions {
  /** use only the first T layers (default: the model's T) */
  T?: number;
  /** then refine the layers by gradient descent on L1 for this many steps */
  refine?: RefineOptions;
  /** recorded in the document's source */
  name?: string;
  /** least-squares colours given the encoder's masks (default true; false: the encoder's own colours) */
  leastSquares?: boolean;
  /** with least-squares colours, improve the encoder's stack (default true): false keeps its layers in its order */
  reorder?: boolean;
  /** swap weak layers for the model's bank shapes when it has a bank (default true; false: restack them instead) */
  shapes?: boolean;
}

/** the layered document of an image: the model's T layers (mask parameters p and colour), bottom first */
export async function decompose(model: Decomposer, image: ImageInput, o: DecomposeOptions = {}): Promise<LayeredDocument> {
  const S = model.cfg.size;
  const rgb = await imageRgb(image, S);
  const name = o.name ?? (typeof image === 'string' ? image : undefined);
  const doc = decomposeImage(model, rgb, name ? { image: name } : {}, o.T ?? model.cfg.T, { leastSquares: o.leastSquares, reorder: o.reorder, shapes: o.shapes }).doc;
  return o.refine ? (await refine(doc, image, o.refine)).doc : doc;
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
  const rgb = await imageRgb(image, size);
  const r = refineDecomposition(doc, { rgb: Float32Array.from(rgb, (v) => v / 255), size }, { ...o, budgetMs: o.budgetMs ?? (o.steps ? 0 : REFINE_DEFAULTS.budgetMs) });
  return { doc: r.doc, psnrBefore: r.psnrBefore, psnrAfter: r.psnrAfter };
}
