/**
 * Layers that matter (issue 9): what each layer contributes, removing the ones that contribute
 * nothing, and adding layers greedily where the residual is largest. All of it works on the blend
 * (eq. 3) of masks computed once at the fit size:
 *
 *   I = Σ_t c_t · w_t,    w_t = M_t · Π_{s>t} (1 − M_s)
 *
 * Removing layer t or adding a layer on top changes only the blending, never another layer's
 * mask, so every candidate is scored without re-running the mask MLP.
 */
import type { MaskNetConfig } from '../config.js';
import { pixelGrid } from '../core/grid.js';
import { maskNet, maskNetStats } from '../core/maskNet.js';
import type { ParamStore } from '../core/params.js';
import { mulberry32 } from '../core/random.js';
import type { Layer } from '../core/render.js';
import * as tf from '../core/tf.js';
import { bestTopColour, blendLayerInto, psnrOfMasks, type RGB } from '../core/stack.js';
import type { FitTarget } from './refine.js';

export interface PruneResult<L extends Layer> {
  layers: L[];
  /** indices (in the input) of the removed layers, in removal order */
  removed: number[];
  psnrBefore: number;
  psnrAfter: number;
}

/**
 * Remove, one at a time, the visible layer whose removal costs the least PSNR, while that cost is
 * below `maxLossDb`: each removal costs less than maxLossDb, so the result is within
 * maxLossDb × (layers removed) of the input. Hidden layers are kept as they are.
 */
export function pruneLayers<L extends Layer>(masks: Float32Array[], layers: L[], target: Float32Array, maxLossDb: number): PruneResult<L> {
  if (!(maxLossDb >= 0)) throw new Error(`prune: threshold must be ≥ 0 dB, got ${maxLossDb}`);
  let keep = layers.map((_, t) => t);
  const psnrBefore = psnrOfMasks(masks, layers, target);
  let current = psnrBefore;
  const removed: number[] = [];
  for (;;) {
    let best = -1;
    let bestPsnr = -Infinity;
    for (const t of keep) {
      if (layers[t]!.visible === false) continue;
      const rest = keep.filter((s) => s !== t);
      if (rest.every((s) => layers[s]!.visible === false)) continue; // keep at least one visible layer
      const psnr = psnrOfMasks(rest.map((s) => masks[s]!), rest.map((s) => layers[s]!), target);
      if (psnr > bestPsnr) {
        bestPsnr = psnr;
        best = t;
      }
    }
    if (best < 0 || current - bestPsnr >= maxLossDb) break;
    keep = keep.filter((s) => s !== best);
    removed.push(best);
    current = bestPsnr;
  }
  return { layers: keep.map((t) => layers[t]!), removed, psnrBefore, psnrAfter: current };
}

export interface GreedyOptions {
  /** random candidate masks scored per added layer */
  candidates?: number;
  /** edge of the fit-size pixel subgrid candidates are scored on (stride sampling) */
  scoreSize?: number;
  seed?: number;
}

/**
 * Add up to `n` layers on top, one at a time (fewer if no candidate lowers the residual). Candidates p are drawn around the existing layers'
 * parameters (per-component mean and spread, widened); each is scored on a pixel subgrid of the
 * fit-size target by how much of the residual ‖target − I‖² it removes with its best colour
 * (c = Σ m(target − (1−m)I) / Σ m², clamped), so the winner sits where the residual is largest.
 */
export function addLayersGreedy(store: ParamStore, cfg: MaskNetConfig, referenceSize: number, layers: Layer[], target: FitTarget, n: number, o: GreedyOptions = {}): Layer[] {
  // 64 candidates scored on a 16² subgrid: as good as 256 on 32² (bench:refine, 6 held-out photos
  // at 32², +10 greedy layers then 2 CPU-s of refinement: 24.27 vs 24.23 dB) at a third of the CPU
  const nCand = o.candidates ?? 64;
  const S = target.size;
  const g = Math.min(o.scoreSize ?? 16, S);
  const rng = mulberry32(o.seed ?? 0);
  // the score subgrid: pixel centres of the fit-size grid at stride S/g
  const idx: number[] = [];
  for (let y = 0; y < g; y++) for (let x = 0; x < g; x++) idx.push(Math.floor(((y + 0.5) * S) / g) * S + Math.floor(((x + 0.5) * S) / g));
  const full = tf.tidy(() => pixelGrid(S, S).dataSync());
  const coords = tf.tensor2d(Float32Array.from(idx.flatMap((q) => [full[2 * q]!, full[2 * q + 1]!])), [idx.length, 2]);
  const y = Float32Array.from(idx.flatMap((q) => [target.rgb[3 * q]!, target.rgb[3 * q + 1]!, target.rgb[3 * q + 2]!]));
  const ref = pixelGrid(referenceSize, referenceSize);
  const K = cfg.K;
  const visible = layers.filter((l) => l.visible !== false);
  const mean = Array.from({ length: K }, (_, k) => visible.reduce((a, l) => a + l.p[k]!, 0) / Math.max(visible.length, 1));
  const std = Array.from({ length: K }, (_, k) => Math.sqrt(visible.reduce((a, l) => a + (l.p[k]! - mean[k]!) ** 2, 0) / Math.max(visible.length, 1)) || 1);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng());
  const out = layers.slice();
  // the current image on the score pixels
  const canvas = new Float32Array(idx.length * 3);
  if (out.length) {
    const m = masksOn(store, cfg, ref, coords, out.map((l) => l.p));
    out.forEach((l, t) => l.visible !== false && blendLayerInto(canvas, m.subarray(t * idx.length, (t + 1) * idx.length), l.colour));
  }
  for (let k = 0; k < n; k++) {
    const cands = Array.from({ length: nCand }, (_, i) => (i < visible.length ? visible[i]!.p.map((v, j) => v + 0.5 * std[j]! * gauss()) : mean.map((mu, j) => mu + 1.5 * std[j]! * gauss())));
    const m = masksOn(store, cfg, ref, coords, cands);
    let best = { gain: -Infinity, c: 0, colour: [0, 0, 0] as RGB };
    for (let c = 0; c < nCand; c++) {
      const mc = m.subarray(c * idx.length, (c + 1) * idx.length);
      const colour = bestTopColour(mc, canvas, y);
      let gain = 0;
      for (let i = 0; i < idx.length; i++) {
        const mi = mc[i]!;
        for (let ch = 0; ch < 3; ch++) {
          const before = canvas[3 * i + ch]! - y[3 * i + ch]!;
          const after = canvas[3 * i + ch]! * (1 - mi) + colour[ch]! * mi - y[3 * i + ch]!;
          gain += before * before - after * after;
        }
      }
      if (gain > best.gain) best = { gain, c, colour };
    }
    if (!(best.gain > 0)) break; // no candidate lowers the residual: stop early
    const layer: Layer = { p: cands[best.c]!, colour: best.colour, visible: true };
    blendLayerInto(canvas, m.subarray(best.c * idx.length, (best.c + 1) * idx.length), layer.colour);
    out.push(layer);
  }
  tf.dispose([coords, ref]);
  return out;
}

/** masks [B·P] of parameters ps on coords, with statistics from the reference grid (the render function) */
function masksOn(store: ParamStore, cfg: MaskNetConfig, ref: tf.Tensor2D, coords: tf.Tensor2D, ps: number[][]): Float32Array {
  return tf.tidy(() => {
    const p = tf.tensor2d(ps, [ps.length, cfg.K]);
    const stats = cfg.norm === 'image' ? maskNetStats(store, cfg, ref, p) : undefined;
    return maskNet(store, cfg, coords, p, stats).masks.dataSync() as Float32Array;
  });
}

