/**
 * The one decomposition pipeline: what `stratum decompose` (one image or many), the library's
 * decompose() and the browser editor run for an image at its own aspect.
 *
 *   1. decomposeFrame (src/model/decomposeFrame.ts): the encoder's T whole-frame layers on the
 *      frame's square resize (least-squares colours; shape swaps, or the order search without a
 *      bank), and with N > T the N − T placed layers of the learned shape family, within a budget;
 *   2. for whole-frame layers only, optionally: layers added greedily, every layer's p and c refined
 *      jointly, weak layers pruned (src/model/refineDocument.ts), fitted to the frame stretched to a
 *      square, which is the whole-frame layers' own [−1, 1]² coordinate system;
 *   3. what each layer is worth (dB lost when it alone is removed) recorded in the document.
 *
 * Options are checked by checkPipeline before any heavy work, so a caller can refuse a bad request
 * before it reads an image or loads a model.
 */
import { PLACE_DEFAULTS, REFINE_DEFAULTS } from '../config.js';
import type { LayeredDocument } from '../core/document.js';
import { resampleArea } from '../core/resample.js';
import { layerContributions } from '../eval/contribution.js';
import { decomposeFrame, type Frame } from '../model/decomposeFrame.js';
import { maxEncoderSteps } from '../model/decomposeImage.js';
import type { Decomposer } from '../model/decomposer.js';
import type { RefineProgress } from '../model/refine.js';
import { refineDecomposition } from '../model/refineDocument.js';

export interface RefineRequest {
  /** optimisation steps (0 or absent: run for the budget) */
  steps?: number;
  /** Adam learning rate for the mask parameters */
  lr?: number;
  /** refine only the colours */
  coloursOnly?: boolean;
  /** fit-size pixels evaluated per step (0: all) */
  pixels?: number;
}

export interface PipelineOptions {
  /** layers N (default: the model's T). Above T: placed layers, or without a shape bank more encoder steps */
  layers?: number;
  /** milliseconds for the placed layers' search, or for the refinement when refining (default 2 s there) */
  budgetMs?: number;
  /** placed layers: the long side of their fit grid (default 256); refinement: the side of its square grid (default 128) */
  fitSize?: number;
  /** least-squares colours given the masks (default true) */
  leastSquares?: boolean;
  /** improve the encoder's stack: shape swaps with a bank, else the order search (default true) */
  reorder?: boolean;
  /** swap weak layers for bank shapes when the model has a bank (default true) */
  shapes?: boolean;
  /** crisp layers: flat regions with anti-aliased edges rather than washes (src/model/decomposeFrame.ts); default: crisp when layers are placed, false: soft */
  crisp?: boolean;
  /** whole-frame layers: add this many layers greedily where the residual is largest */
  greedy?: number;
  /** whole-frame layers: refine every layer's p and c (true: for the budget) */
  refine?: RefineRequest | boolean;
  /** whole-frame layers: then remove layers whose removal costs less than this many dB */
  prune?: number;
  seed?: number;
  /** after each placed layer */
  onLayer?: (done: number, total: number) => void;
  /** after each refinement step */
  onRefineStep?: (p: RefineProgress, budgetMs: number, steps: number) => void;
}

export interface PipelineResult {
  doc: LayeredDocument;
  /** each layer's worth in dB (also in the document as contributionDb) */
  contributions: number[];
  /** the grid they were measured on, e.g. "32²" or "256×171" */
  contributionsAt: string;
  /** what was done beyond the forward pass, in words (empty when nothing) */
  note: string;
  /** placed layers in the document */
  placed: number;
  seconds: number;
}

const refineSteps = (o: PipelineOptions) => (typeof o.refine === 'object' ? o.refine.steps ?? 0 : 0);
const refining = (o: PipelineOptions) => o.refine === true || typeof o.refine === 'object';
const finishing = (o: PipelineOptions) => refining(o) || (o.greedy ?? 0) > 0 || o.prune !== undefined;

/** whether N layers of this model are found by placing (N > T and the model has a shape bank) */
export function placesLayers(model: Decomposer, layers: number | undefined): boolean {
  return (layers ?? model.cfg.T) > model.cfg.T && model.shapeBank() !== null;
}

/** the options a refusal may name */
export type NamedOption = 'layers' | 'budgetMs' | 'fitSize' | 'crisp' | 'greedy' | 'refine' | 'refineSteps' | 'prune';

/** what a refusal calls an option: the library's callers its option (the default), the CLI its flag */
export type OptionNames = (option: NamedOption) => string;

const LIBRARY_WORDS: Partial<Record<NamedOption, string>> = { budgetMs: 'budget', fitSize: 'fit size', refineSteps: 'refine steps' };
export const libraryNames: OptionNames = (option) => LIBRARY_WORDS[option] ?? option;

/** refuses, in one line, options the pipeline cannot take whatever the model (no model or image needed) */
export function checkOptions(o: PipelineOptions, name: OptionNames = libraryNames): void {
  const N = o.layers;
  if (N !== undefined && (!Number.isInteger(N) || N < 1)) throw new Error(`${name('layers')} must be a whole number ≥ 1, got ${N}`);
  if (N !== undefined && N > PLACE_DEFAULTS.maxLayers) throw new Error(`${name('layers')} ${N} is too many (at most ${PLACE_DEFAULTS.maxLayers})`);
  const greedy = o.greedy ?? 0;
  if (!Number.isInteger(greedy) || greedy < 0) throw new Error(`${name('greedy')} must be a whole number ≥ 0, got ${greedy}`);
  if (o.prune !== undefined && !(o.prune >= 0)) throw new Error(`${name('prune')} must be ≥ 0 dB, got ${o.prune}`);
  if (o.budgetMs !== undefined && !(o.budgetMs >= 0 && Number.isFinite(o.budgetMs))) throw new Error(`${name('budgetMs')} must be a time ≥ 0, got ${o.budgetMs} ms`);
  if (o.fitSize !== undefined && !(Number.isInteger(o.fitSize) && o.fitSize >= 8 && o.fitSize <= 1024)) throw new Error(`${name('fitSize')} must be a whole number from 8 to 1024, got ${o.fitSize}`);
  if (typeof o.refine === 'object' && o.refine.steps !== undefined && !(Number.isInteger(o.refine.steps) && o.refine.steps >= 0)) throw new Error(`${name('refineSteps')} must be a whole number ≥ 0, got ${o.refine.steps}`);
  if (o.crisp && finishing(o)) throw new Error(`${name('crisp')} layers carry a gain that ${name('refine')}, ${name('greedy')} and ${name('prune')} do not handle: use one or the other`);
  // without layers nothing is placed (N = T), and a budget is the time to place them
  if (o.budgetMs !== undefined && o.layers === undefined && !refining(o)) throw new Error(`${name('budgetMs')} needs ${name('layers')} (the time to place them) or ${name('refine')}`);
}

/**
 * refuses, in one line, what the pipeline cannot do, before any work (model known; no image
 * needed); `name` says what to call the options (the CLI names its flags)
 */
export function checkPipeline(model: Decomposer, o: PipelineOptions, name: OptionNames = libraryNames): void {
  checkOptions(o, name);
  const T = model.cfg.T;
  const N = o.layers ?? T;
  const greedy = o.greedy ?? 0;
  if (placesLayers(model, N)) {
    if (finishing(o)) throw new Error(`${name('refine')}, ${name('greedy')} and ${name('prune')} work on the model's ${T} whole-frame layers, not on placed layers (${name('layers')} ${N}): the pipeline places those itself (give it time with ${name('budgetMs')})`);
  } else {
    // each greedy layer is a search over candidates at the fit size: the editor's cap on layers in all
    const cap = maxEncoderSteps(T);
    if (N + greedy > cap) {
      throw new Error(greedy
        ? `${name('greedy')} ${greedy}: at most ${cap} layers in all for this model (T=${T}), ${N} of them from the encoder`
        : `${name('layers')} ${N}: at most ${cap} for this model (T=${T}), which has no shape bank to place layers with`);
    }
  }
}

/** the frame stretched to size² (the whole-frame layers' own coordinates), RGB floats in [0, 1] */
export function stretchedFrame(f: Frame, size: number): Float32Array {
  const out = resampleArea(f.rgb, f.width, f.height, 3, 0, 0, f.width, f.height, size, size);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / 255;
  return out;
}

export function decomposePipeline(model: Decomposer, frame: Frame, o: PipelineOptions = {}, source: Record<string, unknown> = {}): PipelineResult {
  checkPipeline(model, o);
  const t0 = performance.now();
  const T = model.cfg.T;
  const N = o.layers ?? T;
  const placing = placesLayers(model, N);
  const res = decomposeFrame(model, frame, {
    layers: N,
    budgetMs: placing ? o.budgetMs : 0,
    fitSize: placing ? o.fitSize : undefined,
    leastSquares: o.leastSquares,
    reorder: o.reorder,
    shapes: o.shapes,
    crisp: o.crisp,
    seed: o.seed,
    onLayer: o.onLayer,
  }, source);
  const fitName = res.fit.width === res.fit.height ? `${res.fit.width}²` : `${res.fit.width}×${res.fit.height}`;
  if (!finishing(o)) {
    const placed = Number(res.doc.source?.placedLayers ?? 0);
    return { doc: res.doc, contributions: res.contributions, contributionsAt: fitName, note: placed ? `${placed} placed layers in ${res.seconds.toFixed(2)} s` : '', placed, seconds: (performance.now() - t0) / 1000 };
  }
  const F = o.fitSize ?? REFINE_DEFAULTS.fitSize;
  const steps = refineSteps(o);
  const budgetMs = o.budgetMs ?? (steps > 0 ? 0 : REFINE_DEFAULTS.budgetMs);
  const req = typeof o.refine === 'object' ? o.refine : {};
  const r = refineDecomposition(res.doc, { rgb: stretchedFrame(frame, F), size: F }, {
    steps,
    budgetMs,
    lr: req.lr,
    coloursOnly: req.coloursOnly,
    leastSquares: o.leastSquares,
    pixels: req.pixels,
    addLayers: o.greedy ?? 0,
    prune: o.prune,
    noOptimise: !refining(o),
    onStep: o.onRefineStep ? (s) => o.onRefineStep!(s, budgetMs, steps) : undefined,
  });
  const parts: string[] = [];
  if (r.added) parts.push(`${r.added} greedy layers`);
  if (refining(o)) parts.push(`refinement ${r.refine!.steps} steps in ${r.refine!.seconds.toFixed(1)} s`);
  if (o.prune !== undefined) parts.push(`${r.pruned.length} layers pruned`);
  // what each layer is worth: PSNR lost at the model's size when it alone is removed
  const S = model.cfg.size;
  const { contributions } = layerContributions(r.doc, stretchedFrame(frame, S), S);
  const doc = { ...r.doc, layers: r.doc.layers.map((l, t) => ({ ...l, contributionDb: Number(contributions[t]!.toFixed(4)) })) };
  return { doc, contributions, contributionsAt: `${S}²`, note: `at ${F}²: ${r.psnrBefore.toFixed(2)} -> ${r.psnrAfter.toFixed(2)} dB (${parts.join(', ')})`, placed: 0, seconds: (performance.now() - t0) / 1000 };
}
