/**
 * Edge-adaptive evaluation of one layer's mask M(x, y) = f(x, y, p) on a pixel tile.
 *
 * The dense renderer evaluates the mask MLP at every pixel: cost ∝ area (a 4096² render of ten
 * layers is 168 M evaluations). But f is smooth at the scale of the model's reference grid (it was
 * trained at 32²) and most of a mask is flat 0 or 1, so at large sizes almost every pixel can be
 * interpolated. Coarse to fine, as a quadtree:
 *
 *   1. evaluate f exactly on a coarse lattice of pixel centres (stride s₀ pixels);
 *   2. for each cell, evaluate f at the corners of its four children (the cell's 3×3 nodes) and
 *      compare with the bilinear interpolation of the cell's own 4 corners:
 *        err(cell) = max over the 5 new nodes |f(node) − bilinear(corners)(node)|;
 *   3. a cell is settled when err ≤ tol for it and for its 8 neighbours at the same level (the
 *      safety margin: a feature seen by a neighbour's samples refines this cell too); a settled
 *      cell is filled by bilinear interpolation of its children's (exact) corners — flat cells
 *      (all ≈ 0 or ≈ 1) are a special case of this test; the rest split into their children;
 *   4. repeat down to stride 1, where every remaining pixel is evaluated exactly.
 *
 * Samples are exact pixel-centre values and f with reference-grid GroupNorm statistics is a
 * pointwise function of (x, y), so evaluated pixels equal the dense render's; the others are within
 * ~tol. The MLP then runs where masks have structure at pixel scale (sharp edges), so cost grows
 * with the edges' length, not the area. The dense path (src/core/render.ts) stays the reference;
 * test/adaptive.test.ts holds the two within 1/255.
 */

/** evaluate the mask at n pixels: xy holds tile-local (x, y) integer pixel indices; write n values */
export type MaskSampler = (xy: Int32Array, n: number, out: Float32Array) => void;

export interface AdaptiveOptions {
  /** coarse lattice stride in pixels (a power of 2, ≥ 2) */
  coarse: number;
  /** interpolation tolerance on the mask (0..1) */
  tol: number;
  /** refine the 8 neighbours of an unsettled cell too (default true) */
  margin?: boolean;
}

/** reusable scratch for one tile */
export interface AdaptiveScratch {
  known: Uint8Array;
  xy: Int32Array;
  vals: Float32Array;
}

export function adaptiveScratch(maxPixels: number): AdaptiveScratch {
  return { known: new Uint8Array(maxPixels), xy: new Int32Array(maxPixels * 2), vals: new Float32Array(maxPixels) };
}

/**
 * Fill `mask` (w×h, row-major) with the layer's mask on the tile; returns how many pixels were
 * evaluated by the MLP (the rest were interpolated).
 */
export function adaptiveMask(w: number, h: number, sample: MaskSampler, opt: AdaptiveOptions, mask: Float32Array, scratch: AdaptiveScratch): number {
  const { known, xy, vals } = scratch;
  known.fill(0, 0, w * h);
  let evaluated = 0;
  let pending = 0;
  const want = (x: number, y: number): void => {
    const i = y * w + x;
    if (known[i]) return;
    known[i] = 1; // evaluated exactly (queued; its value lands in `mask` at flush())
    xy[2 * pending] = x;
    xy[2 * pending + 1] = y;
    pending++;
  };
  const flush = (): void => {
    if (pending === 0) return;
    sample(xy, pending, vals);
    for (let k = 0; k < pending; k++) mask[xy[2 * k + 1]! * w + xy[2 * k]!] = vals[k]!;
    evaluated += pending;
    pending = 0;
  };

  // level 0: cells of the coarse lattice, clipped at the tile's right and bottom edges
  let s = opt.coarse;
  let cells: number[] = []; // x0, y0, x1, y1 (inclusive pixel corners), 4 per cell
  for (let y0 = 0; y0 < Math.max(1, h - 1); y0 += s) {
    for (let x0 = 0; x0 < Math.max(1, w - 1); x0 += s) {
      cells.push(x0, y0, Math.min(x0 + s, w - 1), Math.min(y0 + s, h - 1));
    }
  }
  for (let c = 0; c < cells.length; c += 4) {
    want(cells[c]!, cells[c + 1]!);
    want(cells[c + 2]!, cells[c + 1]!);
    want(cells[c]!, cells[c + 3]!);
    want(cells[c + 2]!, cells[c + 3]!);
  }
  flush();

  while (cells.length > 0) {
    const half = s >> 1;
    const n = cells.length / 4;
    // the 3×3 nodes of each cell: children corners at x0, xm, x1 (xm = x0 + s/2 when inside)
    for (let c = 0; c < cells.length; c += 4) {
      const x0 = cells[c]!, y0 = cells[c + 1]!, x1 = cells[c + 2]!, y1 = cells[c + 3]!;
      const xm = testAt(x0, x1, half);
      const ym = testAt(y0, y1, half);
      want(xm, y0), want(xm, y1), want(x0, ym), want(x1, ym), want(xm, ym);
    }
    flush();
    // err per cell, on the level's lattice (cell origins are multiples of s)
    const gw = Math.ceil(w / s) + 2;
    const gh = Math.ceil(h / s) + 2;
    const err = new Float32Array(gw * gh); // padded by one cell each side; 0 = settled / inactive
    const errAt = new Float32Array(n);
    for (let c = 0, k = 0; c < cells.length; c += 4, k++) {
      const x0 = cells[c]!, y0 = cells[c + 1]!, x1 = cells[c + 2]!, y1 = cells[c + 3]!;
      const xm = testAt(x0, x1, half);
      const ym = testAt(y0, y1, half);
      const a = mask[y0 * w + x0]!, b = mask[y0 * w + x1]!, cc = mask[y1 * w + x0]!, d = mask[y1 * w + x1]!;
      const u = x1 > x0 ? (xm - x0) / (x1 - x0) : 0;
      const v = y1 > y0 ? (ym - y0) / (y1 - y0) : 0;
      const top = a + (b - a) * u, bot = cc + (d - cc) * u, left = a + (cc - a) * v, right = b + (d - b) * v;
      const e = Math.max(
        Math.abs(mask[y0 * w + xm]! - top),
        Math.abs(mask[y1 * w + xm]! - bot),
        Math.abs(mask[ym * w + x0]! - left),
        Math.abs(mask[ym * w + x1]! - right),
        Math.abs(mask[ym * w + xm]! - (top + (bot - top) * v)),
      );
      errAt[k] = e;
      err[(y0 / s + 1) * gw + (x0 / s + 1)] = e;
    }
    const next: number[] = [];
    for (let c = 0, k = 0; c < cells.length; c += 4, k++) {
      const x0 = cells[c]!, y0 = cells[c + 1]!, x1 = cells[c + 2]!, y1 = cells[c + 3]!;
      let e = errAt[k]!;
      if (opt.margin !== false && e <= opt.tol) {
        const g = (y0 / s + 1) * gw + (x0 / s + 1);
        e = Math.max(err[g - gw - 1]!, err[g - gw]!, err[g - gw + 1]!, err[g - 1]!, err[g + 1]!, err[g + gw - 1]!, err[g + gw]!, err[g + gw + 1]!);
      }
      if (x1 - x0 <= 1 && y1 - y0 <= 1) continue; // every pixel of the cell is a node: all known
      // children split the cell on the next level's lattice; a cell already narrower than that
      // (clipped at the tile's edge) keeps its whole width
      const xs = x0 + half < x1, ys = y0 + half < y1;
      const xm = xs ? x0 + half : x1;
      const ym = ys ? y0 + half : y1;
      if (e > opt.tol) {
        // split; the children's corners are all known now
        next.push(x0, y0, xm, ym);
        if (xs) next.push(xm, y0, x1, ym);
        if (ys) next.push(x0, ym, xm, y1);
        if (xs && ys) next.push(xm, ym, x1, y1);
      } else {
        fillBilinear(mask, known, w, x0, y0, xm, ym);
        if (xs) fillBilinear(mask, known, w, xm, y0, x1, ym);
        if (ys) fillBilinear(mask, known, w, x0, ym, xm, y1);
        if (xs && ys) fillBilinear(mask, known, w, xm, ym, x1, y1);
      }
    }
    cells = next;
    s = half;
  }
  return evaluated;
}

/** where a cell [a, b] is tested (and split, when inside): a + half, or its middle when narrower */
function testAt(a: number, b: number, half: number): number {
  return a + half < b ? a + half : (a + b) >> 1;
}

/**
 * bilinear interpolation of the rectangle's 4 corner values into its pixels not evaluated exactly
 * (a pixel on the edge shared with a neighbour that refines further gets its exact value later)
 */
function fillBilinear(mask: Float32Array, known: Uint8Array, w: number, x0: number, y0: number, x1: number, y1: number): void {
  const a = mask[y0 * w + x0]!, b = mask[y0 * w + x1]!, c = mask[y1 * w + x0]!, d = mask[y1 * w + x1]!;
  const dx = x1 > x0 ? 1 / (x1 - x0) : 0;
  const dy = y1 > y0 ? 1 / (y1 - y0) : 0;
  for (let y = y0; y <= y1; y++) {
    const v = (y - y0) * dy;
    const l = a + (c - a) * v;
    const r = b + (d - b) * v;
    const row = y * w;
    for (let x = x0; x <= x1; x++) {
      const i = row + x;
      if (known[i]) continue;
      mask[i] = l + (r - l) * (x - x0) * dx;
    }
  }
}
