/**
 * The library's refine(): a layered document improved against an image at the fit size —
 * optionally some layers added greedily where the residual is largest (src/model/layers.ts), then
 * every layer's p and c refined jointly (src/model/refine.ts), then the layers that contribute
 * less than `prune` dB removed. The document records how it was made in source.refinement.
 */
import { REFINE_DEFAULTS } from '../config.js';
import { documentStore, type DocLayer, type LayeredDocument } from '../core/document.js';
import { addLayersGreedy, pruneLayers } from './layers.js';
import { psnrOfMasks } from '../core/stack.js';
import { masksAt, masksAtSteps, refineLayersSteps, runSteps, type FitTarget, type RefineOptions, type RefineResult, type RefineSteps } from './refine.js';

export interface RefineDocumentOptions extends RefineOptions {
  /** layers to add greedily before refining (0: none) */
  addLayers?: number;
  /** candidates scored per greedy layer */
  candidates?: number;
  /** then remove layers whose removal costs less than this many dB (undefined: keep all) */
  prune?: number;
  /** skip the optimisation (greedy and/or prune only) */
  noOptimise?: boolean;
}

export interface RefineDocumentResult {
  doc: LayeredDocument;
  /** PSNR at the fit size of the input document and of the result */
  psnrBefore: number;
  psnrAfter: number;
  refine?: RefineResult;
  added: number;
  /** indices of the pruned layers in the refined (pre-prune) list */
  pruned: number[];
  seconds: number;
}

export function refineDecomposition(doc: LayeredDocument, target: FitTarget, options: RefineDocumentOptions = {}): RefineDocumentResult {
  return runSteps(refineDecompositionSteps(doc, target, options));
}

/** refineDecomposition step by step (the browser editor runs it with runStepsAsync; see RefineSteps) */
export function* refineDecompositionSteps(doc: LayeredDocument, target: FitTarget, options: RefineDocumentOptions = {}): RefineSteps<RefineDocumentResult> {
  const t0 = performance.now();
  const o = { ...REFINE_DEFAULTS, ...options };
  const S = target.size;
  if (target.rgb.length !== S * S * 3) throw new Error(`refine: target must be ${S}×${S} RGB (${S * S * 3} values), got ${target.rgb.length}`);
  if (!options.noOptimise && !(o.steps > 0) && !(o.budgetMs > 0)) throw new Error('refine: give a step count or a time budget');
  if (options.prune !== undefined && !(options.prune >= 0)) throw new Error(`refine: --prune must be ≥ 0 dB, got ${options.prune}`);
  const store = documentStore(doc);
  try {
    let layers: DocLayer[] = doc.layers;
    let masks = yield* masksAtSteps(store, doc.mask, doc.referenceSize, layers, S, options.layersPerPause);
    const psnrBefore = psnrOfMasks(masks, layers, target.rgb);
    let added = 0;
    if ((options.addLayers ?? 0) > 0) {
      const grown = addLayersGreedy(store, doc.mask, doc.referenceSize, layers, target, options.addLayers!, { candidates: options.candidates, seed: o.seed });
      added = grown.length - layers.length;
      layers = grown.map((l, t) => (t < layers.length ? layers[t]! : { name: `layer ${t + 1} (greedy)`, ...l }));
      // masks are per layer: only the new ones need evaluating
      masks = [...masks, ...masksAt(store, doc.mask, doc.referenceSize, layers.slice(masks.length), S)];
    }
    let refine: RefineResult | undefined;
    if (!options.noOptimise) {
      refine = yield* refineLayersSteps(store, doc.mask, doc.referenceSize, layers, target, { ...options, startMasks: masks });
      layers = refine.layers.map((l, t) => ({ ...layers[t]!, p: l.p, colour: l.colour }));
      masks = refine.masks;
    }
    let pruned: number[] = [];
    let psnrAfter = psnrOfMasks(masks, layers, target.rgb);
    if (options.prune !== undefined) {
      const pr = pruneLayers(masks, layers, target.rgb, options.prune);
      layers = pr.layers;
      pruned = pr.removed;
      psnrAfter = pr.psnrAfter;
    }
    const seconds = (performance.now() - t0) / 1000;
    const refinement = {
      fitSize: S,
      steps: refine?.steps ?? 0,
      budgetMs: !options.noOptimise && o.budgetMs > 0 ? o.budgetMs : undefined,
      leastSquaresColours: o.leastSquares,
      coloursOnly: o.coloursOnly,
      pixelsPerStep: Math.min(o.pixels > 0 ? o.pixels : S * S, S * S),
      lr: o.lr,
      layersIn: doc.layers.length,
      greedyAdded: added,
      prunedBelowDb: options.prune,
      pruned: pruned.length,
      layersOut: layers.length,
      psnrBefore: Number(psnrBefore.toFixed(3)),
      psnrAfter: Number(psnrAfter.toFixed(3)),
      seconds: Number(seconds.toFixed(3)),
    };
    return { doc: { ...doc, layers, source: { ...doc.source, refinement } }, psnrBefore, psnrAfter, refine, added, pruned, seconds };
  } finally {
    store.dispose();
  }
}
