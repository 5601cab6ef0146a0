/**
 * The mask MLP (src/core/maskNet.ts) as two native calls: forward and backward, wrapped in
 * tf.customGrad. Registered for the 'native' backend only; the tfjs-ops version stays the
 * definition (browser, tests) and test/maskNet.test.ts checks both agree in value and gradient.
 * Fusing matters because the [B, P, 128] activations would otherwise be ~20 separate tfjs tensors
 * per layer and step, each a fresh 16 MB allocation at B=32, 32².
 */
import type { MaskNetConfig } from '../config.js';
import type { GroupStats } from '../core/groupNorm.js';
import { fusedMaskNet } from '../core/maskNet.js';
import { MASK_EPS, maskWeightNames } from '../core/maskSpec.js';
import type { ParamStore } from '../core/params.js';
import * as tf from '../core/tf.js';
import type { NativeAddon } from './nativeAddon.js';
import { values } from './tensorValues.js';

/**
 * Reused Float32Arrays for the activations the backward pass needs: a fresh 16 MB typed array
 * is zero-filled and page-faulted by V8 on every allocation, which cost as much as the math.
 */
const pool = new Map<number, Float32Array[]>();
function take(n: number): Float32Array {
  return pool.get(n)?.pop() ?? new Float32Array(n);
}
function give(a: Float32Array): void {
  const list = pool.get(a.length) ?? [];
  if (list.length < 96) list.push(a);
  pool.set(a.length, list);
}

/** true while tf.grad / tf.variableGrads is recording */
function recording(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

export function registerNativeMaskNet(n: NativeAddon, backend: string): void {
  // dims[7] R: 'image' statistics over the first R pixels of each image (0: all P)
  const dims = (cfg: MaskNetConfig, B: number, P: number, R = 0): number[] => [B, P, cfg.K, cfg.hidden, cfg.groups, cfg.depth, cfg.norm === 'pixel' ? 1 : 0, R];

  function run(store: ParamStore, cfg: MaskNetConfig, coords: tf.Tensor2D, p: tf.Tensor2D, stats?: GroupStats[], statsPixels = 0): tf.Tensor2D {
    const B = p.shape[0];
    const P = coords.shape[0];
    const R = stats && stats.length ? 0 : statsPixels;
    const ws = maskWeightNames(cfg).map((k) => store.get(k));
    if ((stats && stats.length) || !recording()) {
      // inference (no gradient tape), possibly with given statistics (tiled rendering): forward only
      const out = new Float32Array(B * P);
      const given = stats ?? [];
      n.maskForward(dims(cfg, B, P, R), MASK_EPS, values(coords), values(p), ws.map(values), out, [], [], [], given.map((s) => values(s.mean)), given.map((s) => values(s.rstd)));
      return tf.tensor2d(out, [B, P]);
    }
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const ts = args.slice(0, 2 + ws.length) as tf.Tensor[];
      const [c, pp, ...w] = ts;
      const H = cfg.hidden;
      const L = cfg.depth;
      const xhat = Array.from({ length: L }, () => take(B * P * H));
      const act = Array.from({ length: L }, () => take(B * P * H));
      const statRows = cfg.norm === 'pixel' ? B * P : B;
      const rstd = Array.from({ length: L }, () => new Float32Array(statRows * cfg.groups));
      const masks = new Float32Array(B * P);
      const wv = w.map(values);
      const cv = values(c!);
      const pv = values(pp!);
      n.maskForward(dims(cfg, B, P, R), MASK_EPS, cv, pv, wv, masks, xhat, act, rstd, [], []);
      const value = tf.tensor2d(masks, [B, P]);
      const gradFunc = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor[] => {
        const grads = w.map((t) => new Float32Array(t.size));
        const dp = new Float32Array(B * cfg.K);
        n.maskBackward(dims(cfg, B, P, R), MASK_EPS, cv, pv, wv, masks, xhat, act, rstd, values(dy as tf.Tensor), grads, dp);
        for (const a of [...xhat, ...act]) give(a);
        xhat.length = 0;
        act.length = 0;
        return [tf.zerosLike(c!), tf.tensor2d(dp, [B, cfg.K]), ...grads.map((g, i) => tf.tensor(g, w[i]!.shape))];
      };
      return { value, gradFunc };
    });
    return op(coords, p, ...ws) as tf.Tensor2D;
  }

  function stats(store: ParamStore, cfg: MaskNetConfig, coords: tf.Tensor2D, p: tf.Tensor2D): GroupStats[] {
    if (cfg.norm !== 'image') return [];
    const B = p.shape[0];
    const ws = maskWeightNames(cfg).map((k) => values(store.get(k)));
    const mean = Array.from({ length: cfg.depth }, () => new Float32Array(B * cfg.groups));
    const rstd = Array.from({ length: cfg.depth }, () => new Float32Array(B * cfg.groups));
    n.maskStats(dims(cfg, B, coords.shape[0]), MASK_EPS, values(coords), values(p), ws, mean, rstd);
    return mean.map((m, i) => ({ mean: tf.tensor4d(m, [B, 1, cfg.groups, 1]), rstd: tf.tensor4d(rstd[i]!, [B, 1, cfg.groups, 1]) }));
  }

  fusedMaskNet.register([backend], { run, stats });
}
