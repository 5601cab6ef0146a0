/**
 * Decomposition of a whole frame into N layers (issue 22): coarse to fine.
 *
 *   1. the encoder looks at the frame resized to its square S² and paints its T whole-frame layers
 *      (decomposeImage: forward pass, least-squares colours, shape swaps). Frame coordinates span
 *      [−1, 1] on both axes, so these layers stretch back onto the frame's own aspect;
 *   2. N − T placed layers (src/core/placement.ts) of the learned shape family are added greedily
 *      against the frame at the fit size (src/model/place.ts), within a time budget when given;
 *   3. all N colours are solved jointly by least squares given the masks (the image is linear in
 *      them: I = Σ_t c_t · w_t, w_t = M_t · Π_{s>t} (1 − M_s)), kept in [0, 1].
 *
 * The document records the frame (its aspect), and every layer renders through the mask network
 * at any size. Why the encoder first: one forward pass paints the large, soft structure of a photo
 * in milliseconds, which greedy fitting would spend its first layers on.
 */
import { PLACE_DEFAULTS } from '../config.js';
import { blendLayerInto } from '../core/stack.js';
import type { DocLayer, LayeredDocument } from '../core/document.js';
import { frameAspect } from '../core/placement.js';
import { renderLayers } from '../core/render.js';
import { boxColours, boxContributions, compositeBoxes, type BoxMask } from '../core/boxStack.js';
import { resampleArea } from '../core/resample.js';
import { decomposeImage, type DecomposeImageOptions } from './decomposeImage.js';
import type { Decomposer } from './decomposer.js';
import { makePlaceBank, placeGreedy, rasterize, type PlaceBank } from './place.js';
import { refinePlaced } from './placeRefine.js';

/** an RGB image at its own size, values 0..255 (uint8) */
export interface Frame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface FrameOptions extends DecomposeImageOptions {
  /** total layers N (default: the model's T, the forward pass alone); above T placed layers, or for a model without a shape bank more encoder steps */
  layers?: number;
  /** time budget in milliseconds for the placed layers' search (0 or absent: the default effort per layer) */
  budgetMs?: number;
  /** long side of the grid the placed layers are fitted on (default PLACE_DEFAULTS.fitSize, at most the image's) */
  fitSize?: number;
  seed?: number;
  /**
   * crisp layers: the encoder's whole-frame layers drawn at gain PLACE_DEFAULTS.crispGain on their
   * logits and the placed layers' gains at least that, so each layer is a flat region with an
   * anti-aliased edge rather than a wash (docs/photos.md "Crisp layers", "Edge shapes"). Default:
   * PLACE_DEFAULTS.crisp when layers are placed (N > T and the model has a bank), else soft
   */
  crisp?: boolean;
  /** Adam steps of the placed layers' joint refinement (src/model/placeRefine.ts; default PLACE_DEFAULTS.refineSteps, 0: none); under a budget, its share of the time is PLACE_DEFAULTS.refineShare */
  placeRefineSteps?: number;
  /** called after each placed layer */
  onLayer?: (done: number, total: number) => void;
}

export interface FrameDecomposition {
  doc: LayeredDocument;
  /** the fit grid and the reconstruction on it (RGB floats) */
  fit: { width: number; height: number; target: Float32Array; canvas: Float32Array };
  /** each layer's worth on the fit grid: dB lost when it alone is removed (also in the document) */
  contributions: number[];
  seconds: number;
}

const banks = new WeakMap<Decomposer, PlaceBank>();

/** the model's shape bank as logit maps for placing (rendered once per model and process), or null without a bank */
export function placeBankOf(model: Decomposer): PlaceBank | null {
  const hit = banks.get(model);
  if (hit) return hit;
  const sb = model.shapeBank();
  if (!sb) return null;
  const D = Math.min(PLACE_DEFAULTS.bankShapes, sb.p.length / sb.K);
  // the bank's first shapes, then the model's edge shapes (straight edges, corners, stripes) when it has them
  const edges = model.edgeShapes() ?? new Float32Array(0);
  const p = new Float32Array(D * sb.K + edges.length);
  p.set(sb.p.subarray(0, D * sb.K));
  p.set(edges, D * sb.K);
  const bank = makePlaceBank(model.store, model.cfg.mask, model.cfg.size, p, PLACE_DEFAULTS.bankSide, D === PLACE_DEFAULTS.bankShapes || D * sb.K === sb.p.length ? model.placeBankCache : null, edges.length / sb.K);
  banks.set(model, bank);
  return bank;
}

/** the frame's size on a grid whose long side is `long` */
export function fitDims(width: number, height: number, long: number): [number, number] {
  const L = Math.max(width, height);
  const s = Math.min(1, long / L);
  return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))];
}

export function decomposeFrame(model: Decomposer, frame: Frame, o: FrameOptions = {}, source: Record<string, unknown> = {}): FrameDecomposition {
  const { width, height, rgb } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || rgb.length !== width * height * 3) {
    throw new Error(`image must be width×height RGB, got ${rgb.length} values for ${width}×${height}`);
  }
  const T = model.cfg.T;
  const N = o.layers ?? T;
  if (!Number.isInteger(N) || N < 1) throw new Error(`layers must be a whole number ≥ 1, got ${N}`);
  const S = model.cfg.size;
  // the bank's logit maps are the model's, made once per process (start-up, like loading it): the
  // clock and the budget start after them
  // a model without a shape bank has nothing to place: its encoder keeps painting past T instead
  // (it looks at the canvas; capped by maxEncoderSteps)
  const bank = N > T ? placeBankOf(model) : null;
  const crisp = o.crisp ?? (bank !== null && PLACE_DEFAULTS.crisp);
  const t0 = performance.now();
  // 1. the encoder on the frame resized to its square
  const sq = resampleArea(rgb, width, height, 3, 0, 0, width, height, S, S);
  const square = new Uint8Array(S * S * 3);
  for (let i = 0; i < sq.length; i++) square[i] = Math.round(sq[i]!);
  const base = decomposeImage(model, square, { ...o, layers: bank ? T : N, source });
  const aspect = frameAspect({ width, height });
  const [W, H] = fitDims(width, height, o.fitSize ?? PLACE_DEFAULTS.fitSize);
  const target = resampleArea(rgb, width, height, 3, 0, 0, width, height, W, H);
  for (let i = 0; i < target.length; i++) target[i] = target[i]! / 255;
  let baseLayers: DocLayer[] = crisp ? base.doc.layers.map((l) => ({ ...l, gain: PLACE_DEFAULTS.crispGain })) : base.doc.layers;
  // 2. the whole-frame layers' masks on the fit grid, then the placed layers over their canvas
  // (the encoder's layers are smooth at the scale of its S² grid: rendered at 2S on the long side and
  // interpolated, as the adaptive renderer does, instead of the network at every fit pixel)
  const [lw, lh] = fitDims(W, H, 2 * S);
  const coarse = renderLayers(model.store, model.cfg.mask, baseLayers, { width: lw, height: lh, referenceSize: S, keepMasks: true, method: 'dense' }).masks!;
  let masks: BoxMask[] = coarse.map((m) => ({ box: [0, W - 1, 0, H - 1], m: upsample(m, lw, lh, W, H) }));
  let placedCount = 0;
  if (bank && PLACE_DEFAULTS.dropDb > 0) {
    // a whole-frame layer worth less than a placed layer would be is given up to one: with the
    // others' colours solved again, the N layers are the encoder's useful ones and placed ones
    const full = new Float32Array(W * H * 3);
    compositeBoxes(masks, baseLayers.map((l) => l.colour), W, full);
    const worth = boxContributions(masks, baseLayers.map((l) => l.colour), target, full, W, H);
    const keep = worth.map((d, t) => (d >= PLACE_DEFAULTS.dropDb ? t : -1)).filter((t) => t >= 0);
    if (keep.length < baseLayers.length && keep.length > 0) {
      masks = keep.map((t) => masks[t]!);
      const colours = boxColours(masks, target, W, H, keep.map((t) => baseLayers[t]!.colour));
      baseLayers = keep.map((t, k) => ({ ...baseLayers[t]!, name: `layer ${k + 1}`, colour: colours[k]! }));
    }
  }
  let layers: DocLayer[] = baseLayers;
  if (bank) {
    const canvas = new Float32Array(W * H * 3);
    baseLayers.forEach((l, t) => blendLayerInto(canvas, masks[t]!.m, l.colour));
    const baseCanvas = Float32Array.from(canvas);
    const spent = performance.now() - t0;
    const refineSteps = o.placeRefineSteps ?? PLACE_DEFAULTS.refineSteps;
    const searchShare = refineSteps > 0 ? 1 - PLACE_DEFAULTS.refineShare : 1;
    let placed = placeGreedy(target, canvas, W, H, bank, {
      count: N - baseLayers.length,
      budgetMs: o.budgetMs ? Math.max(1, (o.budgetMs - spent) * searchShare) : 0,
      aspect,
      seed: o.seed,
      minGain: crisp ? PLACE_DEFAULTS.crispGain : undefined,
      onLayer: o.onLayer ? (k) => o.onLayer!(k + 1, N - baseLayers.length) : undefined,
    });
    if (refineSteps > 0) {
      // 2b. every placed layer at once, by gradient (the search placed them one at a time)
      const left = o.budgetMs ? Math.max(1, o.budgetMs - (performance.now() - t0)) : 0;
      placed = refinePlaced(placed, bank, baseCanvas, target, W, H, { aspect, steps: o.budgetMs ? PLACE_DEFAULTS.refineMaxSteps : refineSteps, budgetMs: left, halvings: PLACE_DEFAULTS.refineHalvings, minGain: crisp ? PLACE_DEFAULTS.crispGain : undefined }).layers;
    }
    placedCount = placed.length;
    for (const l of placed) {
      const buf = new Float32Array(W * H);
      const box = rasterize(bank, l, aspect, W, H, buf);
      const n = Math.max(0, box[1] - box[0] + 1) * Math.max(0, box[3] - box[2] + 1);
      const m = buf.slice(0, n);
      for (let i = 0; i < n; i++) m[i] = m[i]! * l.opacity;
      masks.push({ box, m });
    }
    // 3. all colours jointly, given every mask on the fit grid
    const colours = boxColours(masks, target, W, H, [...baseLayers.map((l) => l.colour), ...placed.map((l) => l.colour)]);
    const K = bank.K;
    layers = [
      ...baseLayers.map((l, t) => ({ ...l, colour: colours[t]! })),
      ...placed.map((l, k) => ({
        name: `layer ${baseLayers.length + k + 1}`,
        p: Array.from(bank.p.subarray(l.shape * K, (l.shape + 1) * K)),
        colour: colours[baseLayers.length + k]!,
        visible: true,
        place: l.place,
        gain: l.gain,
        ...(l.opacity < 1 ? { opacity: l.opacity } : {}),
      })),
    ];
  }
  if (crisp && !bank) {
    // the sharpened whole-frame layers' colours, solved again for their new masks
    const colours = boxColours(masks, target, W, H, baseLayers.map((l) => l.colour));
    layers = baseLayers.map((l, t) => ({ ...l, colour: colours[t]! }));
  }
  const canvas = new Float32Array(W * H * 3);
  compositeBoxes(masks, layers.map((l) => l.colour), W, canvas);
  const contributions = boxContributions(masks, layers.map((l) => l.colour), target, canvas, W, H);
  const seconds = (performance.now() - t0) / 1000;
  const doc: LayeredDocument = {
    ...base.doc,
    frame: { width, height },
    layers: layers.map((l, t) => ({ ...l, contributionDb: Number(contributions[t]!.toFixed(4)) })),
    source: { ...base.doc.source, ...(placedCount ? { placedLayers: placedCount, fitSize: [W, H] } : {}), ...(crisp ? { crisp: true } : {}), ...(o.budgetMs ? { budgetMs: o.budgetMs } : {}), seconds: Number(seconds.toFixed(3)) },
  };
  return { doc, fit: { width: W, height: H, target, canvas }, contributions, seconds };
}

/** bilinear interpolation of a w×h grid of pixel-centre samples onto a W×H grid of the same frame */
export function upsample(m: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  if (w === W && h === H) return m;
  const out = new Float32Array(W * H);
  const xs = Array.from({ length: W }, (_, i) => Math.min(w - 1, Math.max(0, ((i + 0.5) * w) / W - 0.5)));
  for (let j = 0; j < H; j++) {
    const fy = Math.min(h - 1, Math.max(0, ((j + 0.5) * h) / H - 0.5));
    const y0 = Math.min(h - 2, Math.floor(fy));
    const b = h > 1 ? fy - Math.max(0, y0) : 0;
    const r0 = Math.max(0, y0) * w;
    const r1 = Math.min(h - 1, Math.max(0, y0) + 1) * w;
    for (let i = 0; i < W; i++) {
      const fx = xs[i]!;
      const x0 = Math.min(w - 2, Math.floor(fx));
      const xa = Math.max(0, x0);
      const xb = Math.min(w - 1, xa + 1);
      const a = w > 1 ? fx - xa : 0;
      out[j * W + i] = (m[r0 + xa]! * (1 - a) + m[r0 + xb]! * a) * (1 - b) + (m[r1 + xa]! * (1 - a) + m[r1 + xb]! * a) * b;
    }
  }
  return out;
}
