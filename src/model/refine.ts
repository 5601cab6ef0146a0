/**
 * Per-image refinement at any resolution (issue 9). The blended image (eq. 3) is linear in the
 * colours once the masks are known:
 *
 *   I(x) = Σ_t c_t · w_t(x),    w_t = M_t · Π_{s>t} (1 − M_s),    M_t(x) = f(x, p_t)
 *
 * so each iteration takes the masks at a random subset of the fit-size pixels, solves the small
 * T×T normal equations (Σ_x w wᵀ) C = Σ_x w · target for the colours (kept in [0, 1]), and moves
 * every layer's p jointly by one Adam step on the mean squared error with those colours. By the
 * envelope theorem the colours' dependence on p adds nothing to the gradient at the optimum.
 *
 * Why this shape: the mask MLP is the cost (≈100 k flops per pixel and layer, forward and
 * backward), so an iteration evaluates it on `pixels` random pixels of the fit-size grid (an
 * unbiased estimate of the full-resolution loss) and takes the per-image GroupNorm statistics from
 * the reference grid (the document's render function; `statsSize` may use a coarser grid for them
 * while optimising). The exact PSNR at the fit size is computed at the start and the end, and the
 * better of the two is returned: refinement never lowers PSNR.
 */
import { psnrFromMse } from '../core/psnr.js';
import type { MaskNetConfig } from '../config.js';
import { REFINE_DEFAULTS, type RefineConfig } from '../config.js';
import { closedFormBlend } from '../core/blend.js';
import { layerWeights, leastSquaresColours, psnrOfMasks, type RGB } from '../core/stack.js';
import { pixelGrid } from '../core/grid.js';
import { maskNetWithReference } from '../core/maskNet.js';
import type { ParamStore } from '../core/params.js';
import { mulberry32 } from '../core/random.js';
import { renderLayers, type Layer } from '../core/render.js';
import * as tf from '../core/tf.js';
import { Adam, cosineShare } from '../core/adam.js';

// the colour triple of src/core/stack.ts, also named here for src/backend/native.ts

/** the target image at the fit size: RGB floats in [0, 1], row-major, size² · 3 values */
export interface FitTarget {
  rgb: Float32Array;
  size: number;
}

export interface RefineProgress {
  step: number;
  elapsedMs: number;
  /** PSNR on this step's pixel sample (an estimate of the fit-size PSNR) */
  psnr: number;
}

export interface RefineOptions extends Partial<RefineConfig> {
  /** the layers' masks at the fit size, if the caller has them (saves one full evaluation) */
  startMasks?: Float32Array[];
  /** called after every step */
  onStep?: (p: RefineProgress) => void;
  /** checked before every step (the editor's stop button) */
  shouldStop?: () => boolean;
  /** take at least this many steps even when the budget runs out first (a stop still ends the run) */
  minSteps?: number;
  /**
   * the exact evaluations at the fit size (start and end) take this many layers at a time, with a
   * pause point between groups (the editor: 1, so its page stays responsive); default all at once
   */
  layersPerPause?: number;
}

export interface RefineResult {
  layers: Layer[];
  psnrBefore: number;
  psnrAfter: number;
  /** optimisation steps taken */
  steps: number;
  /** wall time of the whole call */
  seconds: number;
  /** false when the start was better than the end and was returned */
  improved: boolean;
  /** PSNR of the last iterate (before choosing the best) */
  psnrEnd: number;
  /** the returned layers' masks at the fit size */
  masks: Float32Array[];
  history: RefineProgress[];
}

/** milliseconds on the chosen clock: wall time, or the process's CPU time (all threads) where Node provides it */
function clockMs(clock: 'wall' | 'cpu'): () => number {
  const proc = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  if (clock === 'cpu' && proc?.cpuUsage) {
    const cpu = proc.cpuUsage.bind(proc);
    return () => {
      const u = cpu();
      return (u.user + u.system) / 1000;
    };
  }
  return () => performance.now();
}


/** every layer's mask at size² (the document's render function), for evaluation, pruning and contributions */
export function masksAt(store: ParamStore, cfg: MaskNetConfig, referenceSize: number, layers: Layer[], size: number): Float32Array[] {
  return renderLayers(store, cfg, layers, { width: size, height: size, referenceSize, keepMasks: true }).masks!;
}

/** masksAt a group of `perGroup` layers at a time, with a pause point (yield) after each group but the last */
export function* masksAtSteps(store: ParamStore, cfg: MaskNetConfig, referenceSize: number, layers: Layer[], size: number, perGroup = layers.length): Generator<undefined, Float32Array[], void> {
  const n = Math.max(1, Math.floor(perGroup));
  const out: Float32Array[] = [];
  for (let i = 0; i < layers.length; i += n) {
    if (i > 0) yield;
    out.push(...masksAt(store, cfg, referenceSize, layers.slice(i, i + n), size));
  }
  return out;
}

/**
 * A refinement run step by step: yields the progress after every optimisation step (also given to
 * onStep) and undefined at other pause points (between layers of the exact evaluations, see
 * layersPerPause), and returns the result. The one refinement loop: refineLayers runs it to the
 * end at once (the CLI, the library), runStepsAsync between pauses (the browser editor, so its
 * page stays responsive). Abandoning it early (the generator's return()) frees its tensors.
 */
export type RefineSteps<R> = Generator<RefineProgress | undefined, R, void>;

/** run a stepwise refinement to its end, synchronously */
export function runSteps<R>(steps: RefineSteps<R>): R {
  for (;;) {
    const n = steps.next();
    if (n.done) return n.value;
  }
}

/**
 * Run a stepwise refinement to its end, awaiting pause() whenever `sliceMs` of steps have run
 * since the last pause (the browser: pause = the next animation frame).
 */
export async function runStepsAsync<R>(steps: RefineSteps<R>, pause: () => Promise<void>, sliceMs = 30): Promise<R> {
  let since = performance.now();
  try {
    for (;;) {
      const n = steps.next();
      if (n.done) return n.value;
      if (performance.now() - since >= sliceMs) {
        await pause();
        since = performance.now();
      }
    }
  } finally {
    steps.return(undefined as never);
  }
}

/**
 * Refine all visible layers' p (Adam) and colours (least squares, or Adam on logits when
 * leastSquares is off) against the target at its size. Hidden layers are kept as they are.
 */
export function refineLayers(store: ParamStore, cfg: MaskNetConfig, referenceSize: number, layers: Layer[], target: FitTarget, options: RefineOptions = {}): RefineResult {
  return runSteps(refineLayersSteps(store, cfg, referenceSize, layers, target, options));
}

/** refineLayers step by step (see RefineSteps) */
export function* refineLayersSteps(store: ParamStore, cfg: MaskNetConfig, referenceSize: number, layers: Layer[], target: FitTarget, options: RefineOptions = {}): RefineSteps<RefineResult> {
  const o = { ...REFINE_DEFAULTS, ...options };
  const t0 = performance.now();
  // the budget counts from here, the exact start evaluation included
  const clock = clockMs(o.clock);
  const c0 = clock();
  const S = target.size;
  if (target.rgb.length !== S * S * 3) throw new Error(`refine: target must be ${S}×${S} RGB (${S * S * 3} values), got ${target.rgb.length}`);
  if (!(o.steps > 0) && !(o.budgetMs > 0)) throw new Error('refine: give a step count or a time budget');
  const vis = layers.map((l, t) => (l.visible !== false ? t : -1)).filter((t) => t >= 0);
  const visible = layers.map((l) => l.visible !== false);
  // exact start
  const startMasks = o.startMasks ?? (yield* masksAtSteps(store, cfg, referenceSize, layers, S, o.layersPerPause));
  if (startMasks.length !== layers.length || startMasks.some((m) => m.length !== S * S)) throw new Error('refine: startMasks must be one fit-size mask per layer');
  const psnrBefore = psnrOfMasks(startMasks, layers, target.rgb);
  let colours: RGB[] = layers.map((l) => [...l.colour] as RGB);
  if (o.leastSquares && vis.length) colours = leastSquaresColours(layerWeights(startMasks, visible), target.rgb, colours);
  const startColours = colours.map((c) => [...c] as RGB);
  const history: RefineProgress[] = [];
  let steps = 0;
  let endLayers: Layer[] = layers;
  if (vis.length) {
    const V = vis.length;
    const grid = tf.tidy(() => pixelGrid(S, S).dataSync() as Float32Array);
    const statsSize = Math.min(o.statsSize > 0 ? o.statsSize : referenceSize, referenceSize);
    const ref = pixelGrid(statsSize, statsSize);
    const P = tf.tidy(() => tf.variable(tf.tensor2d(vis.map((t) => layers[t]!.p), [V, cfg.K]), !o.coloursOnly));
    const logit = (c: number) => {
      const v = Math.min(Math.max(c, 1e-4), 1 - 1e-4);
      return Math.log(v / (1 - v));
    };
    const Z = tf.tidy(() => tf.variable(tf.tensor2d(vis.map((t) => colours[t]!.map(logit)), [V, 3])));
    const opt = new Adam({ lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    try {
      const vars = new Map<string, tf.Variable>();
      if (!o.coloursOnly) vars.set('p', P);
      if (!o.leastSquares) vars.set('c', Z);
      const nPix = Math.min(o.pixels > 0 ? o.pixels : S * S, S * S);
      const order = Int32Array.from({ length: S * S }, (_, i) => i);
      const rng = mulberry32(o.seed);
      let cursor = order.length;
      const coords = new Float32Array(nPix * 2);
      const sampleTarget = new Float32Array(nPix * 3);
      const maxSteps = o.steps > 0 ? o.steps : Infinity;
      const deadline = o.budgetMs > 0 ? c0 + o.budgetMs : Infinity;
      let lsColours: RGB[] = vis.map((t) => colours[t]!);
      const minSteps = Math.min(o.minSteps ?? 0, maxSteps);
      while (vars.size > 0 && steps < maxSteps && (steps < minSteps || clock() < deadline) && !o.shouldStop?.()) {
        // next nPix pixels of a shuffled pass over the fit-size grid
        for (let k = 0; k < nPix; k++) {
          if (cursor >= order.length) {
            for (let i = order.length - 1; i > 0; i--) {
              const j = Math.floor(rng() * (i + 1));
              const tmp = order[i]!;
              order[i] = order[j]!;
              order[j] = tmp;
            }
            cursor = 0;
          }
          const q = order[cursor++]!;
          coords[2 * k] = grid[2 * q]!;
          coords[2 * k + 1] = grid[2 * q + 1]!;
          sampleTarget[3 * k] = target.rgb[3 * q]!;
          sampleTarget[3 * k + 1] = target.rgb[3 * q + 1]!;
          sampleTarget[3 * k + 2] = target.rgb[3 * q + 2]!;
        }
        const c = tf.tensor2d(coords, [nPix, 2]);
        const y = tf.tensor2d(sampleTarget, [nPix, 3]);
        const { value, grads } = tf.variableGrads(() => {
          const masks = maskNetWithReference(store, cfg, ref, c, P); // [V, n]
          let col: tf.Tensor2D;
          if (o.leastSquares) {
            const mv = masks.dataSync() as Float32Array;
            const per = Array.from({ length: V }, (_, v) => mv.subarray(v * nPix, (v + 1) * nPix));
            lsColours = leastSquaresColours(layerWeights(per), sampleTarget, lsColours);
            col = tf.tensor2d(lsColours.flat(), [V, 3]);
          } else {
            col = tf.sigmoid(Z) as tf.Tensor2D;
          }
          const canvas = closedFormBlend(masks, col);
          return tf.mean(tf.squaredDifference(canvas, y)) as tf.Scalar;
        }, [...vars.values()]);
        const mse = value.dataSync()[0]!;
        const named = new Map<string, tf.Tensor>([...vars].map(([k, v]) => [k, grads[v.name]!]));
        if (o.lrFinal !== 1) {
          // cosine from lr to lr · lrFinal over the run: the steps, or the budget, whichever ends first
          const frac = Math.min(1, Math.max(steps / maxSteps, (clock() - c0) / (deadline - c0)));
          opt.cfg.lr = o.lr * cosineShare(frac, o.lrFinal);
        }
        opt.apply(vars, named);
        tf.dispose([value, c, y, ...Object.values(grads)]);
        steps++;
        const info = { step: steps, elapsedMs: performance.now() - t0, psnr: psnrFromMse(mse) };
        history.push(info);
        o.onStep?.(info);
        yield info;
      }
      const pv = P.arraySync() as number[][];
      const cv = o.leastSquares ? lsColours : (tf.tidy(() => tf.sigmoid(Z).arraySync()) as RGB[]);
      vis.forEach((t, v) => {
        colours[t] = [...cv[v]!] as RGB;
      });
      endLayers = layers.map((l, t) => (visible[t] ? { ...l, p: o.coloursOnly ? l.p : pv[vis.indexOf(t)]!, colour: colours[t]! } : l));
    } finally {
      opt.dispose();
      tf.dispose([P, Z, ref]);
    }
  }
  // exact end: the optimised colours, or the least-squares ones on the full grid if better
  let best = { layers, psnr: psnrBefore, masks: startMasks };
  const endMasks = steps > 0 && !o.coloursOnly ? yield* masksAtSteps(store, cfg, referenceSize, endLayers, S, o.layersPerPause) : startMasks;
  const psnrEnd = psnrOfMasks(endMasks, endLayers, target.rgb);
  const candidates: [Layer[], Float32Array[]][] = [[endLayers, endMasks]];
  if (o.leastSquares) {
    const full = leastSquaresColours(layerWeights(endMasks, visible), target.rgb, endLayers.map((l) => l.colour));
    candidates.push([endLayers.map((l, t) => (visible[t] ? { ...l, colour: full[t]! } : l)), endMasks]);
    // the start with least-squares colours (no mask change) can also beat the end
    candidates.push([layers.map((l, t) => (visible[t] ? { ...l, colour: startColours[t]! } : l)), startMasks]);
  }
  for (const [cand, masks] of candidates) {
    const psnr = psnrOfMasks(masks, cand, target.rgb);
    if (psnr > best.psnr) best = { layers: cand, psnr, masks };
  }
  return {
    layers: best.layers,
    psnrBefore,
    psnrAfter: best.psnr,
    psnrEnd,
    steps,
    seconds: (performance.now() - t0) / 1000,
    improved: best.layers !== layers,
    history,
    masks: best.masks,
  };
}
