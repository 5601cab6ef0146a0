/**
 * One image through the library's pipeline into its three files (the document, the render, the
 * layers grid), with the decompose command's flags checked first: used by `stratum decompose` for one
 * image (src/cli/actions/decompose.ts) and by its batch workers (src/cli/decomposeBatch.ts).
 */
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { checkOptions, checkPipeline, decomposePipeline, placesLayers, type NamedOption, type OptionNames, type PipelineOptions } from '../pipeline/decompose.js';
import { psnrOf } from '../core/psnr.js';
import { frameSize, renderDocument } from '../core/document.js';
import { canvasAfterEachLayer } from '../core/stack.js';
import { Progress } from '../io/progress.js';
import { readImageExact, readImageFrame, writePng } from '../data/images.js';
import { resampleArea } from '../core/resample.js';
import { fitDims } from '../model/decomposeFrame.js';
import { softShare, softShareOfMasks, SOFT_SIDE } from '../eval/soft.js';
import { MAX_INPUT_SIDE, PLACE_DEFAULTS } from '../config.js';
import { colouredMaskTile, writeGrid, type Tile } from '../eval/grid.js';
import { saveDocument } from '../export/documentFile.js';
import { loadModel } from '../model/checkpoint.js';
import { checkRender } from './limits.js';
import { decomposeExtraBytes } from '../core/memory.js';
import type { LayeredDocument } from '../core/document.js';

/** the three files an image's decomposition writes into the output folder */
export function outputsOf(out: string, image: string): { png: string; grid: string; doc: string } {
  const stem = basename(image, extname(image));
  return { png: join(out, `${stem}.png`), grid: join(out, `${stem}.layers.png`), doc: join(out, `${stem}.stratum.json`) };
}

/** the command's flags, checked before any model or image is read (one line naming the flag) */
export interface Request {
  model: string;
  backend: string;
  size: number;
  requested?: number;
  budget?: number;
  fitSize: number;
  fitSizeGiven: boolean;
  greedy: number;
  refining: boolean;
  steps: number;
  refineLr: number;
  refineColoursOnly: boolean;
  pixels: number;
  prune?: number;
  leastSquares: boolean;
  reorder: boolean;
  shapes: boolean;
  /** undefined: the pipeline's default (crisp with placed layers) */
  crisp?: boolean;
}

/** the flag of each pipeline option, for its refusals (src/pipeline/decompose.ts checkPipeline) */
const FLAGS: Record<NamedOption, string> = { layers: '--layers', budgetMs: '--budget', fitSize: '--fit-size', crisp: '--crisp', greedy: '--greedy', refine: '--refine', refineSteps: '--refine', prune: '--prune' };
const flagOf: OptionNames = (option) => FLAGS[option];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function checkRequest(o: any, c: Command): Request {
  const steps = typeof o.refine === 'number' ? o.refine : 0;
  const refining = o.refine !== undefined && (o.refine === true || steps > 0);
  if (!refining && o.refineColoursOnly) throw new Error('--refine-colours-only needs --refine');
  if (o.crisp && o.soft) throw new Error('--crisp and --soft: choose one');
  const r: Request = {
    model: o.model, backend: o.backend, size: o.size, requested: o.layers ?? o.T, budget: o.budget, fitSize: o.fitSize, fitSizeGiven: c.getOptionValueSource('fitSize') !== 'default',
    greedy: o.greedy, refining, steps, refineLr: o.refineLr, refineColoursOnly: o.refineColoursOnly, pixels: o.pixels, prune: o.prune,
    leastSquares: o.leastSquares, reorder: o.reorder, shapes: o.shapes, crisp: o.soft ? false : o.crisp ? true : undefined,
  };
  // the pipeline's own checks that need no model, naming the flags
  checkOptions(pipelineOptions(r, r.fitSize), flagOf);
  return r;
}

/** the pipeline's options for a request, with the fit size it uses */
function pipelineOptions(r: Request, fitSize: number): PipelineOptions {
  return {
    layers: r.requested,
    budgetMs: r.budget,
    fitSize,
    leastSquares: r.leastSquares,
    reorder: r.reorder,
    shapes: r.shapes,
    crisp: r.crisp,
    greedy: r.greedy,
    refine: r.refining ? { steps: r.steps, lr: r.refineLr, coloursOnly: r.refineColoursOnly, pixels: r.pixels } : undefined,
    prune: r.prune,
  };
}

export interface ImageResult {
  layers: number;
  psnr: number;
  soft: number;
  width: number;
  height: number;
  note: string;
  contributions: number[];
  contributionsAt: string;
  seconds: number;
}

/**
 * One image through the library's pipeline (src/pipeline/decompose.ts) into its three files: the
 * document, the render at --size (long side) and the layers grid. Checks that need the model (its
 * T, its bank) come before the image is read; the memory estimate before the work.
 */
export async function decomposeToFiles(loaded: ReturnType<typeof loadModel>, image: string, outputs: { png: string; grid: string; doc: string }, r: Request, progress: boolean): Promise<ImageResult> {
  const t0 = performance.now();
  const { model, ckpt } = loaded;
  const T = model.cfg.T;
  const N = r.requested ?? T;
  // more layers than the encoder paints: placed layers of the learned shape family, within --budget
  const placing = placesLayers(model, N);
  const fitSize = placing && !r.fitSizeGiven ? PLACE_DEFAULTS.fitSize : r.fitSize;
  const options = pipelineOptions(r, fitSize);
  checkPipeline(model, options, flagOf);
  const S = model.cfg.size;
  const frame = await readImageFrame(image, MAX_INPUT_SIDE);
  const shape = { mask: model.cfg.mask, referenceSize: S, layers: Array.from({ length: N + r.greedy }), frame: { width: frame.width, height: frame.height } } as unknown as LayeredDocument;
  const [rw, rh] = frameSize(shape, r.size);
  // placing keeps every layer's mask, its weight and a scratch copy on the fit grid (float32)
  const [fw, fh] = fitDims(frame.width, frame.height, fitSize);
  // the render keeps its masks (for the soft share) when they are small; else softShare renders at 512 apart
  // (test/memory.test.ts mirrors this rule)
  const keepMasks = rw * rh <= 4 * SOFT_SIDE * SOFT_SIDE && N + r.greedy <= 256;
  checkRender(shape, rw, rh, 'decompose render', keepMasks, decomposeExtraBytes(rw, rh) + (placing ? 12 * N * fw * fh : 0));
  const source = { image: basename(image), checkpoint: basename(r.model), trainedOn: ckpt.header.data };
  // the placed layers' count is known once the encoder's useful layers are (onLayer's total)
  let bar: Progress | null = null;
  let rbar: Progress | null = null;
  const res = decomposePipeline(model, frame, {
    ...options,
    onLayer: placing && progress
      ? (k, total) => {
          bar ??= new Progress(total, 0, 'place ');
          bar.update(k, `placed layer ${k} of ${total} (${N} layers in all)`);
        }
      : undefined,
    onRefineStep: r.refining && progress
      ? (s, budgetMs, n) => {
          rbar ??= new Progress(n > 0 ? n : Math.ceil(budgetMs / 100), 0, 'refine ');
          rbar.update(n > 0 ? s.step : Math.min(Math.floor(s.elapsedMs / 100), Math.ceil(budgetMs / 100)), `step ${s.step} PSNR ${s.psnr.toFixed(2)} dB (sample)`);
        }
      : undefined,
  }, source);
  (bar as Progress | null)?.finish();
  (rbar as Progress | null)?.finish();
  const doc = res.doc;
  mkdirSync(dirname(outputs.doc), { recursive: true });
  saveDocument(outputs.doc, doc);
  const big = renderDocument(doc, rw, rh, { keepMasks });
  await writePng(outputs.png, rw, rh, big.rgb);
  const truth = await readImageExact(image, rw, rh);
  const psnr = psnrOf(truth, big.rgb, 1, 1 / 255);
  const soft = big.masks && Math.max(rw, rh) === SOFT_SIDE ? softShareOfMasks(big.masks, doc.layers.map((l) => l.opacity ?? 1)) : softShare(doc);
  await writeLayersGrid(outputs.grid, doc, frame);
  return { layers: doc.layers.length, psnr, soft, width: rw, height: rh, note: res.note, contributions: res.contributions, contributionsAt: res.contributionsAt, seconds: (performance.now() - t0) / 1000 };
}

/** the input, the result and the canvas after layers (every layer up to 12, else 12 evenly spaced), masks below */
async function writeLayersGrid(path: string, doc: LayeredDocument, frame: { width: number; height: number; rgb: Uint8Array }): Promise<void> {
  const [w, h] = frameSize(doc, 96);
  const input = resampleArea(frame.rgb, frame.width, frame.height, 3, 0, 0, frame.width, frame.height, w, h).map((v) => v / 255);
  const r = renderDocument(doc, w, h, { keepMasks: true });
  const N = doc.layers.length;
  const cols = N <= 12 ? doc.layers.map((_, t) => t) : Array.from({ length: 12 }, (_, k) => Math.round(((k + 1) * N) / 12) - 1);
  const canvases = canvasAfterEachLayer(r.masks!, doc.layers.map((l) => l.colour), doc.layers.map((l) => l.visible !== false));
  const tile = (a: Float32Array): Tile => ({ pixels: a, width: w, height: h });
  await writeGrid(path, [
    [tile(input), tile(r.rgb), ...cols.map((t) => tile(canvases[t]!))],
    [null, null, ...cols.map((t) => colouredMaskTile(r.masks![t]!, doc.layers[t]!.colour, w, h))],
  ], { scale: 1, columnLabels: ['input', 'result', ...cols.map((t) => `layer ${t + 1}: ${(doc.layers[t]!.contributionDb ?? 0).toFixed(1)} dB`)] });
}

