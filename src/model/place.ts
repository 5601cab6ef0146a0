/**
 * Greedy placed layers (issue 22): after the encoder's whole-frame layers, add layers of the
 * learned shape family in their own frames (src/core/placement.ts), one at a time, each where it
 * brings the image closest to the target.
 *
 * One layer: painting colour c with mask m over the canvas C changes the squared error by
 *
 *   ΔE(c) = Σ_x ‖r − m (c − C)‖² − ‖r‖²,   r = target − C
 *         = −2 (c·Σ m r − Σ m r·C) + ‖c‖² Σ m² − 2 c·Σ m² C + Σ m² ‖C‖²
 *
 * so a candidate (shape, centre, angle, two scales, gain) is scored exactly from eight sums over
 * the pixels of its window's box, with its best colour c* = (Σ m r + Σ m² C) / Σ m², clamped to
 * [0, 1]. Candidates are drawn with centres where the error is large and scales from a few pixels
 * to the frame; the best is hill-climbed (one field mutated at a time, kept when ΔE drops), as
 * greedy shape fitting does with triangles. The masks come from the network itself: each bank
 * shape's logit z(u, v, p) is rendered once on a B×B grid of its frame (with the document's
 * reference-grid statistics) and read bilinearly, so scoring costs a few operations per pixel;
 * the written layers are (p, placement, gain, colour) and render through f at any size.
 *
 * Why greedy rather than gradient descent on all layers: at 256² a gradient step through the MLP
 * for 100 layers costs seconds (≈ 200 k flops per pixel and layer), while greedy scoring with
 * pre-rendered shapes costs nanoseconds per pixel, so the same CPU time buys thousands of tries
 * per layer — what makes greedy triangles strong — with a richer, learned shape family.
 */
import type { MaskNetConfig } from '../config.js';
import { PLACE_DEFAULTS } from '../config.js';
import type { ParamStore } from '../core/params.js';
import type { BankMaskCache } from './decomposer.js';
import { placementMatrix, WINDOW_KAPPA, type Placement } from '../core/placement.js';
import { mulberry32 } from '../core/random.js';
import { blendBox } from '../core/boxStack.js';
import { pixelBoxOf, renderLayers } from '../core/render.js';

/** the bank's shapes as logit maps of their own frames, for scoring */
export interface PlaceBank {
  /** D × K parameter vectors */
  p: Float32Array;
  K: number;
  D: number;
  /** side of each logit map */
  B: number;
  /** D × B² logits z = log(m / (1 − m)) of f on the frame [−1, 1]² */
  z: Float32Array;
  /** the last `edges` of the D shapes are edge shapes (straight edges, corners, stripes), drawn with probability PLACE_DEFAULTS.edgeShare */
  edges: number;
}

/** the largest |logit| of a bank map: masks are clamped to [1e−6, 1 − 1e−6] */
export const PLACE_LOGIT_MAX = 13.82;
/**
 * the name of the placing bank's cached logit maps (Node's bank cache, the editor's IndexedDB, the
 * file `stratum serve` hands the editor): the first bankShapes shapes at bankSide², both in the name,
 * so a change of either is a miss
 */
export const PLACE_BANK_KIND = `place${PLACE_DEFAULTS.bankSide}x${PLACE_DEFAULTS.bankShapes}`;

/**
 * render D shapes' logits on a B×B grid of their own frames (the network's masks, clamped away from
 * 0 and 1); `cache` may hold them from an earlier process
 */
export function makePlaceBank(store: ParamStore, cfg: MaskNetConfig, referenceSize: number, p: Float32Array, B: number, cache?: BankMaskCache | null, edges = 0): PlaceBank {
  const K = cfg.K;
  const D = p.length / K;
  const kept = cache?.get(D * B * B);
  if (kept) return { p, K, D, B, z: kept, edges };
  const layers = Array.from({ length: D }, (_, d) => ({ p: Array.from(p.subarray(d * K, (d + 1) * K)), colour: [0, 0, 0] as [number, number, number] }));
  const z = new Float32Array(D * B * B);
  const chunk = 64;
  for (let d0 = 0; d0 < D; d0 += chunk) {
    const part = layers.slice(d0, d0 + chunk);
    const r = renderLayers(store, cfg, part, { width: B, height: B, referenceSize, keepMasks: true, method: 'dense' });
    r.masks!.forEach((m, k) => {
      const o = (d0 + k) * B * B;
      for (let i = 0; i < B * B; i++) {
        const v = Math.min(1 - 1e-6, Math.max(1e-6, m[i]!));
        z[o + i] = Math.log(v / (1 - v));
      }
    });
  }
  cache?.set(z);
  return { p, K, D, B, z, edges };
}

/** a random shape of the bank: an edge shape with probability `edgeShare` (when it has any), else one of the others */
export function drawShape(bank: PlaceBank, rng: () => number, edgeShare: number = PLACE_DEFAULTS.edgeShare): number {
  const E = Math.min(bank.edges, bank.D);
  if (E > 0 && (E === bank.D || rng() < edgeShare)) return bank.D - E + Math.floor(rng() * E);
  return Math.floor(rng() * (bank.D - E));
}

/** a placed layer as the greedy fit chose it */
export interface PlacedLayer {
  shape: number;
  place: Placement;
  gain: number;
  colour: [number, number, number];
  /** the layer's opacity α ∈ [ALPHA_MIN, 1]: its mask is α·M */
  opacity: number;
}

/** evaluations per layer under a budget: at least (so every layer is a real search), at most */
const MIN_EVALS = 24;
const MAX_EVALS = 50000;

/** the smallest opacity a placed layer may get */
export const ALPHA_MIN = 0.05;

export interface PlaceOptions {
  /** layers to add */
  count: number;
  /** random candidates per layer */
  candidates?: number;
  /** hill-climbing mutations per layer */
  mutations?: number;
  /** spread the search so that all `count` layers are placed in about this many milliseconds (0: the fixed effort `candidates` + `mutations` per layer) */
  budgetMs?: number;
  seed?: number;
  /** frame aspect (a_x, a_y) */
  aspect?: [number, number];
  onLayer?: (k: number, mse: number) => void;
  /** fit an opacity per layer (default true) */
  opacity?: boolean;
  /** the smallest logit gain a layer may have (default PLACE_DEFAULTS.minGain; `crisp` raises it) */
  minGain?: number;
}

// σ by table: the scoring loop's one transcendental
const SIG_RANGE = 16;
const SIG_N = 4096;
const SIG = Float32Array.from({ length: SIG_N + 1 }, (_, i) => 1 / (1 + Math.exp(-((i / SIG_N) * 2 - 1) * SIG_RANGE)));
export const sig = (t: number): number => {
  if (t <= -SIG_RANGE) return SIG[0]!;
  if (t >= SIG_RANGE) return SIG[SIG_N]!;
  const f = ((t / SIG_RANGE + 1) / 2) * SIG_N;
  const i = f | 0;
  return SIG[i]! + (f - i) * (SIG[i + 1]! - SIG[i]!);
};

interface Level {
  W: number;
  H: number;
  target: Float32Array;
  canvas: Float32Array;
  /** full-resolution pixels per pixel of this level */
  scale: number;
}

/** the 2×2 means of `up` into `lv` over lv's pixels [i0, i1] × [j0, j1] */
function downsample(up: Level, lv: Level, key: 'target' | 'canvas', i0: number, i1: number, j0: number, j1: number): void {
  const a = up[key];
  const b = lv[key];
  for (let j = j0; j <= j1; j++) {
    for (let i = i0; i <= i1; i++) {
      const p = 3 * (2 * j * up.W + 2 * i);
      const q = p + 3 * up.W;
      for (let ch = 0; ch < 3; ch++) b[3 * (j * lv.W + i) + ch] = 0.25 * (a[p + ch]! + a[p + 3 + ch]! + a[q + ch]! + a[q + 3 + ch]!);
    }
  }
}

interface Cand {
  shape: number;
  place: Placement;
  gain: number;
}

/**
 * A bank shape's placed mask W(u)·W(v)·σ(g·z) on the pixel centres of a W×H grid, z read bilinearly
 * from the bank's logit map: written row by row over its box into `out` (box width per row);
 * returns the box. The opacity is left to the caller.
 */
export function rasterize(bank: PlaceBank, cd: { shape: number; place: Placement; gain: number }, aspect: [number, number], W: number, H: number, out: Float32Array): [number, number, number, number] {
  const box = pixelBoxOf(cd.place, aspect, W, H);
  const [i0, i1, j0, j1] = box;
  const [A, Bm, C, D, E, F] = placementMatrix(cd.place, aspect);
  const { B, z } = bank;
  const zo = cd.shape * B * B;
  const g = cd.gain;
  const half = B / 2;
  const dx = 2 / W;
  const du = A * dx;
  const dv = D * dx;
  let q = 0;
  for (let j = j0; j <= j1; j++) {
    const y = (2 * j + 1) / H - 1;
    const xs = (2 * i0 + 1) / W - 1;
    let u = A * xs + Bm * y + C;
    let v = D * xs + E * y + F;
    for (let i = i0; i <= i1; i++, u += du, v += dv, q++) {
      const au = u < 0 ? -u : u;
      const av = v < 0 ? -v : v;
      if (au >= 1 || av >= 1) {
        out[q] = 0;
        continue;
      }
      let w = WINDOW_KAPPA * (1 - au);
      if (w > 1) w = 1;
      const wv = WINDOW_KAPPA * (1 - av);
      if (wv < 1) w *= wv;
      // bilinear logit at (u, v): pixel centres of the B×B map sit at (2k + 1)/B − 1
      let fu = (u + 1) * half - 0.5;
      let fv = (v + 1) * half - 0.5;
      if (fu < 0) fu = 0;
      else if (fu > B - 1.001) fu = B - 1.001;
      if (fv < 0) fv = 0;
      else if (fv > B - 1.001) fv = B - 1.001;
      const ku = fu | 0;
      const kv = fv | 0;
      const a = fu - ku;
      const b = fv - kv;
      const p = zo + kv * B + ku;
      const zt = (z[p]! * (1 - a) + z[p + 1]! * a) * (1 - b) + (z[p + B]! * (1 - a) + z[p + B + 1]! * a) * b;
      out[q] = w * sig(g * zt);
    }
  }
  return box;
}

/**
 * Add `count` placed layers greedily to the canvas (W×H RGB floats, changed in place) against the
 * target; returns them bottom first.
 */
export function placeGreedy(target: Float32Array, canvas: Float32Array, W: number, H: number, bank: PlaceBank, o: PlaceOptions): PlacedLayer[] {
  const R0 = o.candidates ?? PLACE_DEFAULTS.candidates;
  const M0 = o.mutations ?? PLACE_DEFAULTS.mutations;
  const aspect = o.aspect ?? [1, 1];
  const rng = mulberry32(o.seed ?? 1);
  const opacity = o.opacity ?? true;
  const minGain = Math.min(PLACE_DEFAULTS.maxGain, o.minGain ?? PLACE_DEFAULTS.minGain);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const P = W * H;
  const L = Math.max(W, H);
  const cdf = new Float64Array(P);
  const sMin = (2 * PLACE_DEFAULTS.minPixels) / L; // a half-extent of minPixels pixels, in isotropic units (the long side spans 2)
  const sMax = 1;
  const out: PlacedLayer[] = [];
  const t0 = performance.now();
  // a pyramid of the target and the canvas (2×2 means): a candidate is scored at the coarsest level
  // where its box still has about MAX_SCORE_PIXELS pixels, its sums scaled back by the area ratio
  const levels: Level[] = [{ W, H, target, canvas, scale: 1 }];
  while (levels.length < 6) {
    const up = levels[levels.length - 1]!;
    if (Math.min(up.W, up.H) < 32) break;
    const l: Level = { W: up.W >> 1, H: up.H >> 1, target: new Float32Array(0), canvas: new Float32Array(0), scale: 0 };
    l.target = new Float32Array(l.W * l.H * 3);
    l.canvas = new Float32Array(l.W * l.H * 3);
    l.scale = (W * H) / (l.W * l.H);
    downsample(up, l, 'target', 0, l.W - 1, 0, l.H - 1);
    downsample(up, l, 'canvas', 0, l.W - 1, 0, l.H - 1);
    levels.push(l);
  }
  const boxOf = (cd: Cand, W: number, H: number) => pixelBoxOf(cd.place, aspect, W, H);
  const levelFor = (cd: Cand): number => {
    const [i0, i1, j0, j1] = boxOf(cd, W, H);
    const area = Math.max(0, i1 - i0 + 1) * Math.max(0, j1 - j0 + 1);
    let l = 0;
    while (l + 1 < levels.length && area / levels[l + 1]!.scale >= PLACE_DEFAULTS.scorePixels) l++;
    return l;
  };
  const scratch = { m: new Float32Array(W * H) };
  // the eight sums of ΔE for one candidate at one level, its best colour and opacity, and ΔE
  const score = (cd: Cand, level: number): { dE: number; c: [number, number, number]; alpha: number } => {
    const lv = levels[level]!;
    const { W, target, canvas } = lv;
    const box = rasterize(bank, cd, aspect, lv.W, lv.H, scratch.m);
    const [i0, i1, j0, j1] = box;
    const bw = i1 - i0 + 1;
    const mk = scratch.m;
    let smm = 0, smr0 = 0, smr1 = 0, smr2 = 0, smrC = 0, smmC0 = 0, smmC1 = 0, smmC2 = 0, smmCC = 0;
    for (let j = j0; j <= j1; j++) {
      for (let i = i0, q = (j - j0) * bw; i <= i1; i++, q++) {
        const m = mk[q]!;
        if (m === 0) continue;
        const k = 3 * (j * W + i);
        const c0 = canvas[k]!, c1 = canvas[k + 1]!, c2 = canvas[k + 2]!;
        const r0 = target[k]! - c0, r1 = target[k + 1]! - c1, r2 = target[k + 2]! - c2;
        const mm = m * m;
        smm += mm;
        smr0 += m * r0;
        smr1 += m * r1;
        smr2 += m * r2;
        smrC += m * (r0 * c0 + r1 * c1 + r2 * c2);
        smmC0 += mm * c0;
        smmC1 += mm * c1;
        smmC2 += mm * c2;
        smmCC += mm * (c0 * c0 + c1 * c1 + c2 * c2);
      }
    }
    if (smm < 1e-9) return { dE: 0, c: [0, 0, 0], alpha: 1 };
    const sc = lv.scale;
    smm *= sc;
    smr0 *= sc;
    smr1 *= sc;
    smr2 *= sc;
    smrC *= sc;
    smmC0 *= sc;
    smmC1 *= sc;
    smmC2 *= sc;
    smmCC *= sc;
    const cl = (t: number) => (t < 0 ? 0 : t > 1 ? 1 : t);
    // opacity α: the error is linear least squares in (α·c, α); solve, clamp α, then c given α
    let alpha = 1;
    if (opacity) {
      const den = smmCC - (smmC0 * smmC0 + smmC1 * smmC1 + smmC2 * smmC2) / smm;
      const num = (smmC0 * smr0 + smmC1 * smr1 + smmC2 * smr2) / smm - smrC;
      alpha = den > 1e-12 ? num / den : 1;
      alpha = alpha < ALPHA_MIN ? ALPHA_MIN : alpha > 1 ? 1 : alpha;
    }
    const c: [number, number, number] = [cl((smr0 + alpha * smmC0) / (alpha * smm)), cl((smr1 + alpha * smmC1) / (alpha * smm)), cl((smr2 + alpha * smmC2) / (alpha * smm))];
    const dE = -2 * alpha * (c[0] * smr0 + c[1] * smr1 + c[2] * smr2 - smrC) + alpha * alpha * ((c[0] * c[0] + c[1] * c[1] + c[2] * c[2]) * smm - 2 * (c[0] * smmC0 + c[1] * smmC1 + c[2] * smmC2) + smmCC);
    return { dE, c, alpha };
  };
  // paint a chosen layer on the full-resolution canvas, then refresh the pyramid over its box
  const commit = (cd: Cand, c: [number, number, number], alpha: number): void => {
    const box = rasterize(bank, cd, aspect, W, H, scratch.m);
    const [i0, i1, j0, j1] = box;
    blendBox(canvas, W, box, scratch.m, c, alpha);
    for (let l = 1; l < levels.length; l++) {
      const f = 1 << l;
      const lv = levels[l]!;
      downsample(levels[l - 1]!, lv, 'canvas', Math.floor(i0 / f), Math.min(lv.W - 1, Math.floor(i1 / f)), Math.floor(j0 / f), Math.min(lv.H - 1, Math.floor(j1 / f)));
    }
  };
  const logUniform = (a: number, b: number) => a * Math.exp(rng() * Math.log(b / a));
  const clampS = (s: number) => Math.min(sMax, Math.max(sMin, s));
  let evals = 0;
  for (let n = 0; n < o.count; n++) {
    // with a budget, the effort per layer is what the remaining time allows the remaining layers
    // (at the time per evaluation measured so far): always `count` layers, the search adapts
    let R = R0;
    let M = M0;
    if (o.budgetMs) {
      const spent = performance.now() - t0;
      const msPerEval = evals > 0 ? spent / evals : 0.02;
      const E = Math.max(MIN_EVALS, Math.min(MAX_EVALS, Math.floor((o.budgetMs - spent) / (o.count - n) / msPerEval)));
      R = Math.round(E * (R0 / (R0 + M0)));
      M = E - R;
    }
    evals += R + M + 1;
    // centres drawn where the squared error is
    let total = 0;
    for (let i = 0; i < P; i++) {
      const k = 3 * i;
      const e = (target[k]! - canvas[k]!) ** 2 + (target[k + 1]! - canvas[k + 1]!) ** 2 + (target[k + 2]! - canvas[k + 2]!) ** 2;
      total += e;
      cdf[i] = total;
    }
    const pickCentre = (): [number, number] => {
      const t = rng() * total;
      let lo = 0;
      let hi = P - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! < t) lo = mid + 1;
        else hi = mid;
      }
      const i = lo % W;
      const j = (lo / W) | 0;
      return [(2 * (i + rng())) / W - 1, (2 * (j + rng())) / H - 1];
    };
    // the best candidate even when none improves the image (a nearly finished picture): every
    // requested layer is placed, and the joint colours at the end make a useless one harmless
    let best: Cand | null = null;
    let bestE = Infinity;
    for (let r = 0; r < R; r++) {
      const [x, y] = pickCentre();
      const s = logUniform(sMin * 2, PLACE_DEFAULTS.maxScale);
      const ar = Math.exp(gauss() * 0.5);
      const cd: Cand = {
        shape: drawShape(bank, rng),
        place: { x, y, angle: rng() * Math.PI * 2, sx: clampS(s * ar), sy: clampS(s / ar) },
        gain: logUniform(minGain, PLACE_DEFAULTS.maxGain),
      };
      const { dE } = score(cd, levelFor(cd));
      if (dE < bestE) {
        bestE = dE;
        best = cd;
      }
    }
    if (!best) best = { shape: 0, place: { x: 0, y: 0, angle: 0, sx: sMin * 2, sy: sMin * 2 }, gain: Math.max(1, minGain) };
    // the climb compares candidates at one level: its start's
    const climbLevel = levelFor(best);
    bestE = score(best, climbLevel).dE;
    for (let m = 0; m < M; m++) {
      const cd: Cand = { shape: best.shape, place: { ...best.place }, gain: best.gain };
      const which = Math.floor(rng() * 7);
      const size = Math.min(cd.place.sx, cd.place.sy);
      if (which === 0) cd.place.x += (gauss() * size) / 4 / aspect[0];
      else if (which === 1) cd.place.y += (gauss() * size) / 4 / aspect[1];
      else if (which === 2) cd.place.angle += gauss() * 0.3;
      else if (which === 3) cd.place.sx = clampS(cd.place.sx * Math.exp(gauss() * 0.2));
      else if (which === 4) cd.place.sy = clampS(cd.place.sy * Math.exp(gauss() * 0.2));
      else if (which === 5) cd.gain = Math.min(PLACE_DEFAULTS.maxGain, Math.max(minGain, cd.gain * Math.exp(gauss() * 0.4)));
      else cd.shape = drawShape(bank, rng);
      const { dE } = score(cd, climbLevel);
      if (dE < bestE) {
        bestE = dE;
        best = cd;
      }
    }
    const { c, alpha } = score(best, 0);
    commit(best, c, alpha);
    const a = best.place.angle % (2 * Math.PI);
    const cl = (t: number) => Math.min(2, Math.max(-2, t));
    out.push({ shape: best.shape, place: { ...best.place, x: cl(best.place.x), y: cl(best.place.y), angle: a }, gain: best.gain, colour: c, opacity: alpha });
    o.onLayer?.(n, 0);
  }
  return out;
}
