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
import { layerStack, layerWeights, leastSquaresFit, mseOfColours, weakLayers, type RGB } from '../core/stack.js';

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
    for (const { t: u } of weakLayers(layerStack(cur, cols, target), target, db)) {
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
