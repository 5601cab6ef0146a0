/**
 * The soft share of a decomposition (issue 22): over each visible layer's area where its mask is
 * above 0.05, the fraction where it is below 0.95, averaged over the layers, at 512 pixels on the
 * long side. A vector picture's regions are flat inside with an anti-aliased edge (share near 0);
 * a blurred photograph's layers are washes (share near 1). The mask is the layer's shape M before
 * its opacity α (a translucent region with a crisp edge is crisp), so M = mask / α.
 */
import { frameSize, renderDocument, type LayeredDocument } from '../core/document.js';

export const SOFT_LOW = 0.05;
export const SOFT_HIGH = 0.95;
export const SOFT_SIDE = 512;

/** soft share of the layers' masks (each mask already divided by its opacity, or pass opacities) */
export function softShareOfMasks(masks: ArrayLike<number>[], opacities: number[] = masks.map(() => 1)): number {
  const [sum, n] = softSums(masks, opacities);
  return n ? sum / n : 0;
}

/** Σ over layers with an area of their soft fraction, and how many layers have an area */
function softSums(masks: ArrayLike<number>[], opacities: number[]): [number, number] {
  let sum = 0;
  let n = 0;
  masks.forEach((m, t) => {
    const a = opacities[t]! > 0 ? opacities[t]! : 1;
    const lo = SOFT_LOW * a;
    const hi = SOFT_HIGH * a;
    let area = 0;
    let soft = 0;
    for (let i = 0; i < m.length; i++) {
      const v = m[i]!;
      if (v > lo) {
        area++;
        if (v < hi) soft++;
      }
    }
    if (area > 0) {
      sum += soft / area;
      n++;
    }
  });
  return [sum, n];
}

/** the document's soft share at `side` pixels on its long side, rendering `group` layers' masks at a time */
export function softShare(doc: LayeredDocument, side = SOFT_SIDE, group = 16): number {
  const [w, h] = frameSize(doc, side);
  const visible = doc.layers.filter((l) => l.visible !== false);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < visible.length; i += group) {
    const part = visible.slice(i, i + group);
    const r = renderDocument({ ...doc, layers: part }, w, h, { keepMasks: true });
    const [s, k] = softSums(r.masks!, part.map((l) => l.opacity ?? 1));
    sum += s;
    n += k;
  }
  return n ? sum / n : 0;
}
