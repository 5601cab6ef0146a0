/**
 * Edge shapes (issue 22): parameter vectors p chosen so that the learned mask network draws, on its
 * own frame [−1, 1]², a straight edge, a corner, a stripe or a rectangle — the shapes greedy
 * triangles win with on photographs of buildings, horizons and walls, and which the shape bank
 * (chosen from the encoder's soft layers at 32²) rarely holds. The mask stays f(u, v, p): only p is
 * chosen, the network is the model's.
 *
 * For each target region R of the frame, p minimises the binary cross-entropy of the layer's mask at
 * the crisp gain g (the gain a crisp placed layer has at least, PLACE_DEFAULTS.crispGain) on the B×B
 * grid of the frame, with GroupNorm statistics from the reference grid (exactly how a document
 * renders it):
 *
 *   p* = argmin_p  −(1/B²) Σ_x [ 1_R(x) log σ(g z(x; p)) + (1 − 1_R(x)) log(1 − σ(g z(x; p))) ],
 *   z = logit f(u, v, p)
 *
 * by Adam from the bank shape with the lowest loss. Placement then moves, turns and stretches each
 * one, so one half-plane, a few corners and stripes cover every edge direction and corner position.
 */
import * as tf from '../../core/tf.js';
import { Adam } from '../../core/adam.js';
import { maskNetWithReference } from '../../core/maskNet.js';
import { pixelGrid } from '../../core/grid.js';
import { PLACE_DEFAULTS } from '../../config.js';
import type { Decomposer } from '../../model/decomposer.js';

/** a target region of the frame: true inside */
export type Region = (u: number, v: number) => boolean;

const angleOf = (u: number, v: number): number => Math.atan2(v, u);
const wedge = (deg: number, u0 = 0): Region => {
  const a = (deg * Math.PI) / 360;
  return (u, v) => Math.abs(angleOf(u - u0, v)) < a;
};

/** the default targets: half-planes at five offsets, a diagonal, corners from 30° to 150°, stripes, a rectangle, a disc, a triangle, a band */
export const EDGE_TARGETS: Record<string, Region> = {
  'half-0.6': (u) => u > -0.6,
  'half-0.3': (u) => u > -0.3,
  half0: (u) => u > 0,
  'half+0.3': (u) => u > 0.3,
  'half+0.6': (u) => u > 0.6,
  diagonal: (u, v) => u + v > 0,
  diagonalOff: (u, v) => u + v > 0.6,
  corner30: wedge(30),
  corner45: wedge(45),
  corner60: wedge(60),
  corner90: wedge(90),
  corner120: wedge(120),
  corner150: wedge(150),
  cornerOff60: wedge(60, -0.5),
  cornerOff90: wedge(90, -0.5),
  stripe0_1: (u) => Math.abs(u) < 0.1,
  stripe0_25: (u) => Math.abs(u) < 0.25,
  stripe0_5: (u) => Math.abs(u) < 0.5,
  full: () => true,
  disc: (u, v) => u * u + v * v < 0.7,
  triangle: (u, v) => u > -0.6 && Math.abs(v) < (u + 0.6) * 0.6,
  wedgeCut: (u, v) => Math.abs(angleOf(u + 0.8, v)) < 0.5 && u < 0.6,
  band: (u, v) => u > 0 && Math.abs(v) < 0.3,
};

export interface EdgeShapeOptions {
  /** target regions by name (default EDGE_TARGETS) */
  targets?: Record<string, Region>;
  /** Adam steps */
  steps?: number;
  lr?: number;
  /** the gain the fit is made at (default PLACE_DEFAULTS.crispGain) */
  gain?: number;
  /** side of the frame grid */
  side?: number;
  /** side of the coarser grid the bank is scanned on for each target's start (default 20: the scan of every bank shape is most of the cost) */
  scanSide?: number;
  /** a fit whose mean |mask − target| stays above this is left out */
  maxError?: number;
  onStep?: (step: number, loss: number) => void;
}

export interface EdgeShapes {
  names: string[];
  /** the kept shapes' parameter vectors [E·K] */
  p: Float32Array;
  /** mean |σ(g z) − 1_R| on the grid, per target (kept or not) */
  error: Record<string, number>;
  /** the same for the bank shape each fit started from */
  startError: Record<string, number>;
}

const EPS = 1e-5;

/** per-row binary cross-entropy of the gained masks against the targets, [n] */
function gainedBce(m: tf.Tensor2D, t: tf.Tensor2D, gain: number): tf.Tensor1D {
  return tf.tidy(() => {
    const mc = m.clipByValue(EPS, 1 - EPS);
    const q = tf.sigmoid(tf.log(mc.div(tf.scalar(1).sub(mc))).mul(gain)).clipByValue(EPS, 1 - EPS);
    return t.mul(q.log()).add(tf.scalar(1).sub(t).mul(tf.scalar(1).sub(q).log())).neg().mean(1) as tf.Tensor1D;
  });
}

/** fit one p per target region (see the top of this file) */
export function fitEdgeShapes(model: Decomposer, o: EdgeShapeOptions = {}): EdgeShapes {
  const bank = model.shapeBank();
  if (!bank) throw new Error('edge shapes start from the shape bank: the model has none (run `stratum shapes` first)');
  const targets = o.targets ?? EDGE_TARGETS;
  const names = Object.keys(targets);
  if (names.length === 0) throw new Error('no edge-shape targets');
  const gain = o.gain ?? PLACE_DEFAULTS.crispGain;
  const B = o.side ?? PLACE_DEFAULTS.bankSide;
  const steps = o.steps ?? 800;
  const maxError = o.maxError ?? 0.05;
  const cfg = model.cfg.mask;
  const K = cfg.K;
  const D = bank.p.length / K;
  const ref = pixelGrid(model.cfg.size, model.cfg.size);
  const coords = pixelGrid(B, B);
  const xy = coords.dataSync();
  const P = B * B;
  const tv = new Float32Array(names.length * P);
  names.forEach((n, k) => {
    for (let i = 0; i < P; i++) tv[k * P + i] = targets[n]!(xy[2 * i]!, xy[2 * i + 1]!) ? 1 : 0;
  });
  const T = tf.tensor2d(tv, [names.length, P]);
  // the start: the bank shape closest to each target, on a coarser grid
  const C = Math.min(B, o.scanSide ?? 20);
  const starts = tf.tidy(() => {
    const scan = pixelGrid(C, C);
    const sxy = scan.dataSync();
    const st = tf.tensor2d(Float32Array.from({ length: names.length * C * C }, (_, j) => (targets[names[Math.floor(j / (C * C))]!]!(sxy[2 * (j % (C * C))]!, sxy[2 * (j % (C * C)) + 1]!) ? 1 : 0)), [names.length, C * C]);
    const loss: Float32Array[] = [];
    for (let d0 = 0; d0 < D; d0 += 128) {
      const n = Math.min(128, D - d0);
      const m = maskNetWithReference(model.store, cfg, ref, scan, tf.tensor2d(bank.p.subarray(d0 * K, (d0 + n) * K), [n, K]));
      loss.push(...names.map((_, k) => gainedBce(m, st.slice([k, 0], [1, C * C]).tile([n, 1]) as tf.Tensor2D, gain).dataSync() as Float32Array));
    }
    return names.map((_, k) => {
      let best = 0, bestL = Infinity;
      for (let c = 0; c * names.length + k < loss.length; c++) {
        const l = loss[c * names.length + k]!;
        for (let i = 0; i < l.length; i++) if (l[i]! < bestL) { bestL = l[i]!; best = c * 128 + i; }
      }
      return best;
    });
  });
  const start = new Float32Array(names.length * K);
  starts.forEach((d, k) => start.set(bank.p.subarray(d * K, (d + 1) * K), k * K));
  const p = tf.variable(tf.tensor2d(start, [names.length, K]));
  const opt = new Adam({ lr: o.lr ?? 0.03, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  /** mean |σ(g z) − 1_R| per target of the current p */
  const errors = (): Float32Array => {
    const m = tf.tidy(() => maskNetWithReference(model.store, cfg, ref, coords, p)).dataSync() as Float32Array;
    return Float32Array.from(names, (_, k) => {
      let e = 0;
      for (let i = 0; i < P; i++) {
        const v = Math.min(1 - EPS, Math.max(EPS, m[k * P + i]!));
        e += Math.abs(1 / (1 + Math.pow(v / (1 - v), -gain)) - tv[k * P + i]!);
      }
      return e / P;
    });
  };
  const byName = (e: Float32Array) => Object.fromEntries(names.map((n, k) => [n, e[k]!]));
  try {
    const startError = byName(errors());
    for (let s = 1; s <= steps; s++) {
      const { value, grads } = tf.variableGrads(() => gainedBce(maskNetWithReference(model.store, cfg, ref, coords, p), T, gain).sum() as tf.Scalar, [p]);
      opt.apply(new Map([['p', p]]), new Map([['p', grads[p.name]!]]));
      o.onStep?.(s, value.dataSync()[0]! / names.length);
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
    }
    const e = errors();
    const pv = p.dataSync() as Float32Array;
    const kept = names.map((_, k) => k).filter((k) => e[k]! <= maxError && pv.subarray(k * K, (k + 1) * K).every(Number.isFinite));
    const out = new Float32Array(kept.length * K);
    kept.forEach((k, j) => out.set(pv.subarray(k * K, (k + 1) * K), j * K));
    return { names: kept.map((k) => names[k]!), p: out, error: byName(e), startError };
  } finally {
    opt.dispose();
    p.dispose();
    T.dispose();
    ref.dispose();
    coords.dispose();
  }
}
