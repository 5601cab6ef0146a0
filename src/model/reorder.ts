/**
 * Layer order search, after the forward pass (decompose's default). The masks do not depend on the
 * order of the stack, only the blend does:
 *
 *   image = Σ_t c_t · w_t,   w_t = M_t · Π_{s>t} (1 − M_s)
 *
 * The encoder stacks its layers in the order it predicts them, and a layer that later layers cover,
 * or that lies under a layer it belongs on, is then worth almost nothing (on whole held-out photos
 * about a quarter of the amortized layers are worth < 0.1 dB, and a third of those are mostly
 * covered). Moving a layer costs new weights and one T×T least-squares solve for the colours, so
 * each layer worth less than NEAR_USELESS_DB (removing it alone, colours kept) is tried at the
 * bottom and at the top of the stack, and a move is kept when the least-squares image gets closer
 * to the target; then the contributions are measured again, up to MAX_MOVES moves. At 32² with T = 10 this
 * is about 4 ms. Only the order and the colours change: the layers are the same shapes.
 */
import { MAX_MOVES, NEAR_USELESS_DB } from '../config.js';
import { dbLost } from '../core/psnr.js';
import { canvasAfterEachLayer, imageWithoutLayer } from '../core/blend.js';
import { layerWeights, leastSquaresFit, mseOfColours, type RGB } from './refine.js';

export interface LayerOrder {
  /** order[k] = the index (in the input) of the layer now at position k, bottom first */
  order: number[];
  /** the least-squares colours in the new order */
  colours: RGB[];
  /** moves kept */
  moves: number;
}

const without = <T>(a: T[], t: number) => a.filter((_, k) => k !== t);

/** moves kept at most (src/config.ts, with its measurement) */
export { MAX_MOVES };

/**
 * positions whose removal alone (colours kept) costs less than `db`. With C_t the canvas after layer
 * t (C_{−1} black) and K_t = Π_{s>t} (1 − M_s), the final image is C_t · K_t + (what the layers above
 * t paint), so removing layer t alone changes it by exactly M_t · (c_t − C_{t−1}) · K_t: all T
 * leave-one-out errors in O(T·P).
 */
function weakLayers(masks: Float32Array[], colours: RGB[], target: Float32Array, db: number): number[] {
  const T = masks.length, P = target.length / 3;
  const before = canvasAfterEachLayer(masks, colours);
  const final = before[T - 1]!;
  let base = 0;
  for (let i = 0; i < final.length; i++) base += (final[i]! - target[i]!) ** 2;
  const keep = new Float32Array(P).fill(1);
  const black = new Float32Array(3 * P);
  const out: number[] = [];
  for (let t = T - 1; t >= 0; t--) {
    const m = masks[t]!;
    const se = imageWithoutLayer(m, keep, colours[t]!, t > 0 ? before[t - 1]! : black, final, target, null);
    for (let q = 0; q < P; q++) keep[q] = keep[q]! * (1 - m[q]!);
    if (dbLost(se, base) < db) out.push(t);
  }
  return out.reverse();
}

/**
 * A better order for layers with masks `masks` (P values each, bottom first) against `target`
 * (P·3 RGB in [0, 1]); `colours` are the least-squares colours in the given order.
 */
export function searchLayerOrder(masks: Float32Array[], target: Float32Array, colours: RGB[], maxMoves = MAX_MOVES, db = NEAR_USELESS_DB): LayerOrder {
  const T = masks.length;
  let order = Array.from({ length: T }, (_, k) => k);
  let cur = masks.slice();
  let cols = colours.slice();
  let mse = mseOfColours(layerWeights(cur), cols, target);
  let moves = 0;
  while (moves < maxMoves) {
    let moved = false;
    for (const u of weakLayers(cur, cols, target, db)) {
      for (const to of [T - 1, 0]) {
        if (to === u) continue;
        const move = <X>(a: X[]) => {
          const b = without(a, u);
          b.splice(to, 0, a[u]!);
          return b;
        };
        const m2 = move(cur);
        const fit = leastSquaresFit(layerWeights(m2), target, move(cols));
        if (fit.mse < mse * (1 - 1e-6)) {
          [order, cur, cols, mse] = [move(order), m2, fit.colours, fit.mse];
          moved = true;
          break;
        }
      }
      if (moved) break;
    }
    if (!moved) break;
    moves++;
  }
  return { order, colours: cols, moves };
}
