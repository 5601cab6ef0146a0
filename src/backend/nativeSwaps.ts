/**
 * The bridge to the native shape swaps (src/model/shapes.ts swapShapes as one C++ call,
 * native/swaps.cc): packs the layers' masks, checks every size the C++ loop reads (it trusts
 * them), and unpacks the swaps made. Registered for the native backend when the addon has it.
 */
import type { RGB } from '../core/stack.js';
import { fusedSwapShapes, SCORE_EXACTLY, shapeCount } from '../model/shapeSwaps.js';
import type { NativeAddon } from './nativeAddon.js';

export function registerNativeSwaps(n: NativeAddon, backend: string): void {
  const native = n.swapShapes;
  fusedSwapShapes.register([backend], native ? (masks, target, colours, bank, o) => {
    const T = masks.length, S = bank.size, P = S * S, D = shapeCount(bank), L = bank.low * bank.low;
    // every size the C++ loop reads, checked here (swapShapes checks them too, with friendlier words)
    if (T === 0) return { masks: [], colours: [], origin: [], swaps: 0 };
    if (bank.masks.length !== D * P || bank.rows.length !== D * 2 * L || !(S >= 1) || D < 1) throw new Error(`shape swaps: a bank of ${D} shapes at ${S}² with ${bank.masks.length} mask values and ${bank.rows.length} row values`);
    if (masks.some((m) => m.length !== P) || target.length !== 3 * P || colours.length !== T || colours.some((c) => c.length !== 3)) throw new Error(`shape swaps: masks, target and colours do not fit ${T} layers at ${S}²`);
    if (![o.maxSwaps, o.candidates].every((x) => Number.isInteger(x) && x >= 0) || o.candidates < 1 || o.maxSwaps > 1e6) throw new Error('shape swaps: maxSwaps must be a whole number ≥ 0 and candidates ≥ 1');
    const packed = new Float32Array(T * P);
    masks.forEach((m, t) => packed.set(m, t * P));
    const cols = Float64Array.from(colours.flat());
    const origin = new Int32Array(T);
    const swaps = native.call(n, [T, S, D, o.maxSwaps, o.candidates, SCORE_EXACTLY], o.db, packed, target, cols, bank.masks, bank.rows, bank.norms, origin);
    return {
      masks: [...origin].map((g) => (g >= 0 ? masks[g]! : bank.masks.subarray((-1 - g) * P, -g * P))),
      colours: Array.from({ length: T }, (_, t) => [cols[3 * t]!, cols[3 * t + 1]!, cols[3 * t + 2]!] as RGB),
      origin: [...origin],
      swaps,
    };
  } : null);
}
