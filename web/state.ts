/** The editor's state: the model, the loaded image's frame, the layers and how they were made. */
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, makeDocument, type DocLayer, type LayeredDocument } from '../src/core/document.js';
import type { Frame } from '../src/model/decomposeFrame.js';
import type { Decomposer } from '../src/model/decomposer.js';
import type { Engine } from './engine.js';
import { $ } from './ui.js';

export interface State {
  /** the model on the page: its mask network renders and refines the layers */
  model: Decomposer | null;
  /** the worker that decomposes (the library's pipeline) */
  engine: Engine | null;
  /** the loaded image at its own aspect (long side at most MAX_INPUT_SIDE), what the pipeline got */
  frame: Frame | null;
  layers: DocLayer[];
  /** how the layers were made: the document's source (model, image, placed layers, refinement) */
  source: Record<string, unknown>;
  /** the layers and source before the last refinement, while no edit has followed it */
  beforeRefine: { layers: DocLayer[]; source: Record<string, unknown> } | null;
  selected: number;
  /** the long side of the render in the view */
  viewSize: number;
  busy: boolean;
}

export const state: State = { model: null, engine: null, frame: null, layers: [], source: { editor: 'stratum web' }, beforeRefine: null, selected: -1, viewSize: 256, busy: false };

/** the model's training size (the reference grid of its masks' statistics) */
export const S = (): number => state.model!.cfg.size;

/** the frame of the document: the loaded image's size (a square before any image) */
export function frameOf(): { width: number; height: number } {
  return state.frame ? { width: state.frame.width, height: state.frame.height } : { width: 1, height: 1 };
}

/** the layers as the library's document: mask network, frame, layers, source (what Export document writes) */
export function currentDocument(): LayeredDocument {
  const doc = makeDocument(state.model!.cfg.mask, S(), state.model!.store, state.layers, state.source);
  return state.frame ? { ...doc, frame: frameOf() } : doc;
}

/** the layers as a document without weights: what src/edit's functions read and return */
export function layersDoc(): LayeredDocument {
  return { format: DOCUMENT_FORMAT, version: DOCUMENT_VERSION, mask: state.model!.cfg.mask, referenceSize: S(), weights: {}, layers: state.layers, frame: frameOf() };
}

/** apply one of src/edit's edits to the layers */
export function editLayers(f: (doc: LayeredDocument) => LayeredDocument): void {
  state.layers = f(layersDoc()).layers;
  edited();
}

/** the layers changed by hand: a refinement can no longer be undone, and its record says so */
export function edited(): void {
  state.beforeRefine = null;
  if (state.source.refinement && !state.source.editedAfterRefinement) state.source = { ...state.source, editedAfterRefinement: true };
  $<HTMLButtonElement>('refine-undo').disabled = true;
}
