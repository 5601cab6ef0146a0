/**
 * Layer contributions: how much each layer of a decomposition is worth. A layer's contribution is
 * the PSNR lost when that layer alone is removed (hidden) from the stack, all other layers kept as
 * they are, measured against the target at a given size:
 *
 *   contribution_t = PSNR(render of all visible layers) − PSNR(the same render without layer t)
 *
 * A layer that paints nothing (all-zero mask) or that is already hidden contributes 0 dB; a layer
 * that is fully covered by later opaque layers contributes 0 dB too; a layer that makes the image
 * worse contributes a negative amount. The masks are rendered once (src/core/render.ts); each
 * "without layer t" image follows from the stack's canvases and keep-products in O(P)
 * (src/core/stack.ts withoutLayer), exact up to float rounding, instead of T re-blends.
 */
import { NEAR_USELESS_DB } from '../config.js';
import { renderDocument, type LayeredDocument } from '../core/document.js';
import type { Layer } from '../core/render.js';
import { psnrFromMse } from '../core/psnr.js';
import { layerStack, withoutLayer } from '../core/stack.js';

/** PSNR below which a layer counts as near-useless (issue 8: "contribute less than 0.1 dB") */
export { NEAR_USELESS_DB };

export interface Contributions {
  /** PSNR (dB) of the render with every visible layer */
  psnr: number;
  /** per layer, bottom first: PSNR lost when it alone is removed (0 for hidden layers) */
  contributions: number[];
}

/**
 * Contributions from already rendered masks (one Float32Array of P pixels per layer, bottom first)
 * and a target of P·3 RGB values in [0, 1].
 */
export function contributionsFromMasks(masks: Float32Array[], layers: Layer[], target: ArrayLike<number>): Contributions {
  if (masks.length !== layers.length) throw new Error(`${masks.length} masks for ${layers.length} layers`);
  const P = masks[0]?.length ?? target.length / 3;
  if (target.length !== P * 3) throw new Error(`target has ${target.length} values, expected ${P}×3 for masks of ${P} pixels`);
  const stack = layerStack(masks, layers.map((l) => l.colour), target, layers.map((l) => l.visible !== false));
  const psnr = psnrFromMse(stack.se / (3 * P));
  const contributions = layers.map((l, t) => (l.visible === false ? 0 : psnr - psnrFromMse(withoutLayer(stack, t, target) / (3 * P))));
  return { psnr, contributions };
}

/**
 * Each layer's contribution for a layered document rendered at size × size, against `target`
 * (RGB floats in [0, 1], size·size·3, row-major).
 */
export function layerContributions(doc: LayeredDocument, target: ArrayLike<number>, size: number): Contributions {
  if (!Number.isInteger(size) || size <= 0) throw new Error(`contribution size must be a positive integer, got ${size}`);
  if (target.length !== size * size * 3) throw new Error(`target has ${target.length} values, expected ${size}×${size}×3`);
  const { masks } = renderDocument(doc, size, size, { keepMasks: true });
  return contributionsFromMasks(masks!, doc.layers, target);
}

/** share (0..1) of the contributions below `threshold` dB; NaN for an empty list */
export function nearUselessShare(contributions: number[], threshold = NEAR_USELESS_DB): number {
  return contributions.filter((c) => c < threshold).length / contributions.length;
}

/** one line for people: "layer contributions at 32², bottom first (dB lost when removed): 3.21 0.05 ...; 1 of 10 below 0.1 dB" */
export function formatContributions(c: number[], size: number | string): string {
  const low = c.filter((v) => v < NEAR_USELESS_DB).length;
  return `layer contributions at ${typeof size === 'number' ? `${size}²` : size}, bottom first (dB lost when removed): ${c.map((v) => v.toFixed(2)).join(' ')}; ${low} of ${c.length} below ${NEAR_USELESS_DB} dB`;
}
