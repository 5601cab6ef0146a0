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
      const u = x1 > x0 ? (xm - x0) / (x1 - x0) : 0;
      const v = y1 > y0 ? (ym - y0) / (y1 - y0) : 0;
      const e = bilinearError((x, y) => mask[y * w + x]!, x0, y0, x1, y1, xm, ym, u, v);
      errAt[k] = e;
      err[(y0 / s + 1) * gw + (x0 / s + 1)] = e;
    }
    const next: number[] = [];
    for (let c = 0, k = 0; c < cells.length; c += 4, k++) {
      const x0 = cells[c]!, y0 = cells[c + 1]!, x1 = cells[c + 2]!, y1 = cells[c + 3]!;
      let e = errAt[k]!;
      if (opt.margin !== false && e <= opt.tol) {
        e = Math.max(e, neighbourhoodMax(err, 0, (y0 / s + 1) * gw + (x0 / s + 1), gw));
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

/**
 * The composited image of several layers on a tile, coarse to fine, without a full-resolution
 * mask per layer.
 *
 * adaptiveMask makes the MLP's cost follow the edges, but filling and blending every layer's mask
 * at every pixel still costs area × layers (at 4096² that was 98 % of the time). Here the quadtree
 * runs once for the whole stack, on the same cells: each cell carries, per layer, either "active"
 * (its nodes are evaluated exactly, as in adaptiveMask) or the settled rectangle whose 4 exact
 * corners interpolate the layer there (as adaptiveMask would have filled it). The composite
 *   I = blend over the layers of (mask value, colour), from black
 * is computed at the cell's nodes only. A cell whose layers are all settled (with the same
 * neighbour margin) and whose composite is within `tol` of the bilinear interpolation of its
 * corners' composite at the 5 test nodes (and its neighbours') is filled bilinearly in RGB, once;
 * the rest split. Area work drops from layers × (fill + blend) to one 3-channel fill.
 */
export interface CompositeScratch {
  known: Uint8Array[];
  vals: Float32Array[];
  rgbKnown: Uint8Array;
  out: Float32Array;
}

export function compositeScratch(layers: number, maxPixels: number): CompositeScratch {
  return {
    known: Array.from({ length: layers }, () => new Uint8Array(maxPixels)),
    vals: Array.from({ length: layers }, () => new Float32Array(maxPixels)),
    rgbKnown: new Uint8Array(maxPixels),
    out: new Float32Array(maxPixels),
  };
}

/**
 * `rgb` is the whole output image (row stride `stride` pixels); the tile's pixel (x, y) is written
 * at ((y0 + y) · stride + x0 + x) · 3.
 */
export function adaptiveComposite(
  w: number,
  h: number,
  samples: MaskSampler[],
  colours: ArrayLike<number>[],
  opt: AdaptiveOptions,
  rgb: Float32Array,
  place: { x0: number; y0: number; stride: number },
  scratch: CompositeScratch,
): number {
  const T = samples.length;
  const P = w * h;
  const { known, vals, rgbKnown, out } = scratch;
  for (let t = 0; t < T; t++) known[t]!.fill(0, 0, P);
  rgbKnown.fill(0, 0, P);
  const xy = Array.from({ length: T }, () => [] as number[]);
  const W = place.stride;
  const o = (place.y0 * W + place.x0) * 3;
  /** index of the tile's pixel (x, y)'s red value in rgb */
  const at = (x: number, y: number): number => o + (y * W + x) * 3;
  let evaluated = 0;
  // settled-layer sources: x0, y0, x1, y1, a, b, c, d per entry
  const src: number[] = [];
  const want = (t: number, x: number, y: number): void => {
    const i = y * w + x;
    if (known[t]![i]) return;
    known[t]![i] = 1;
    xy[t]!.push(x, y);
  };
  const flush = (): void => {
    for (let t = 0; t < T; t++) {
      const q = xy[t]!;
      const n = q.length / 2;
      if (n === 0) continue;
      const buf = Int32Array.from(q);
      samples[t]!(buf, n, out);
      const v = vals[t]!;
      for (let k = 0; k < n; k++) v[q[2 * k + 1]! * w + q[2 * k]!] = out[k]!;
      evaluated += n;
      q.length = 0;
    }
  };
  /** layer t's mask at pixel (x, y) inside a cell whose state for t is st (−1 active, else src index) */
  const maskAt = (t: number, st: number, x: number, y: number): number => {
    const i = y * w + x;
    if (st < 0 || known[t]![i]) return vals[t]![i]!;
    const x0 = src[st]!, y0 = src[st + 1]!, x1 = src[st + 2]!, y1 = src[st + 3]!;
    const u = x1 > x0 ? (x - x0) / (x1 - x0) : 0;
    const v = y1 > y0 ? (y - y0) / (y1 - y0) : 0;
    const a = src[st + 4]!, b = src[st + 5]!, c = src[st + 6]!, d = src[st + 7]!;
    const top = a + (b - a) * u;
    return top + (c + (d - c) * u - top) * v;
  };
  /** the composite at (x, y) for a cell with per-layer states at cells[base + 4 ...] */
  const compositeAt = (cells: number[], base: number, x: number, y: number): void => {
    const i = y * w + x;
    let r = 0, g = 0, b = 0;
    for (let t = 0; t < T; t++) {
      const m = maskAt(t, cells[base + 4 + t]!, x, y);
      const k = 1 - m;
      const c = colours[t]!;
      r = r * k + c[0]! * m;
      g = g * k + c[1]! * m;
      b = b * k + c[2]! * m;
    }
    const j = at(x, y);
    rgb[j] = r;
    rgb[j + 1] = g;
    rgb[j + 2] = b;
    rgbKnown[i] = 1;
  };
  const R = 4 + T; // record: x0, y0, x1, y1, state per layer

  let s = opt.coarse;
  let cells: number[] = [];
  for (let y0 = 0; y0 < Math.max(1, h - 1); y0 += s) {
    for (let x0 = 0; x0 < Math.max(1, w - 1); x0 += s) {
      cells.push(x0, y0, Math.min(x0 + s, w - 1), Math.min(y0 + s, h - 1));
      for (let t = 0; t < T; t++) cells.push(-1);
    }
  }
  for (let c = 0; c < cells.length; c += R) {
    for (let t = 0; t < T; t++) {
      want(t, cells[c]!, cells[c + 1]!);
      want(t, cells[c + 2]!, cells[c + 1]!);
      want(t, cells[c]!, cells[c + 3]!);
      want(t, cells[c + 2]!, cells[c + 3]!);
    }
  }
  flush();
  for (let c = 0; c < cells.length; c += R) {
    compositeAt(cells, c, cells[c]!, cells[c + 1]!);
    compositeAt(cells, c, cells[c + 2]!, cells[c + 1]!);
    compositeAt(cells, c, cells[c]!, cells[c + 3]!);
    compositeAt(cells, c, cells[c + 2]!, cells[c + 3]!);
  }

  while (cells.length > 0) {
    const half = s >> 1;
    const n = cells.length / R;
    for (let c = 0; c < cells.length; c += R) {
      const x0 = cells[c]!, y0 = cells[c + 1]!, x1 = cells[c + 2]!, y1 = cells[c + 3]!;
      const xm = testAt(x0, x1, half);
      const ym = testAt(y0, y1, half);
      for (let t = 0; t < T; t++) {
        if (cells[c + 4 + t]! >= 0) continue;
        want(t, xm, y0), want(t, xm, y1), want(t, x0, ym), want(t, x1, ym), want(t, xm, ym);
      }
    }
    flush();
    const gw = Math.ceil(w / s) + 2;
    const gh = Math.ceil(h / s) + 2;
    // per-layer interpolation error of active layers, and the composite's, on the level's lattice
    const errL = new Float32Array(T * gw * gh);
    const errC = new Float32Array(gw * gh);
    const errAt = new Float32Array(n * (T + 1));
    for (let c = 0, k = 0; c < cells.length; c += R, k++) {
      const x0 = cells[c]!, y0 = cells[c + 1]!, x1 = cells[c + 2]!, y1 = cells[c + 3]!;
      const xm = testAt(x0, x1, half);
      const ym = testAt(y0, y1, half);
      const u = x1 > x0 ? (xm - x0) / (x1 - x0) : 0;
      const v = y1 > y0 ? (ym - y0) / (y1 - y0) : 0;
      const g = (y0 / s + 1) * gw + (x0 / s + 1);
      for (let t = 0; t < T; t++) {
        if (cells[c + 4 + t]! >= 0) continue;
        const vt = vals[t]!;
        const e = bilinearError((x, y) => vt[y * w + x]!, x0, y0, x1, y1, xm, ym, u, v);
        errAt[k * (T + 1) + t] = e;
        errL[t * gw * gh + g] = e;
      }
      for (const [px, py] of [[xm, y0], [xm, y1], [x0, ym], [x1, ym], [xm, ym]] as const) compositeAt(cells, c, px, py);
      let e = 0;
      for (let ch = 0; ch < 3; ch++) e = Math.max(e, bilinearError((x, y) => rgb[at(x, y) + ch]!, x0, y0, x1, y1, xm, ym, u, v));
      errAt[k * (T + 1) + T] = e;
      errC[g] = e;
    }
    const near = (grid: Float32Array, off: number, g: number): number => neighbourhoodMax(grid, off, g, gw);
    const next: number[] = [];
    const margin = opt.margin !== false;
    for (let c = 0, k = 0; c < cells.length; c += R, k++) {
      const x0 = cells[c]!, y0 = cells[c + 1]!, x1 = cells[c + 2]!, y1 = cells[c + 3]!;
      if (x1 - x0 <= 1 && y1 - y0 <= 1) continue; // every pixel of the cell is a node: composited
      const g = (y0 / s + 1) * gw + (x0 / s + 1);
      const xs = x0 + half < x1, ys = y0 + half < y1;
      const xm = xs ? x0 + half : x1;
      const ym = ys ? y0 + half : y1;
      const kids: [number, number, number, number][] = [[x0, y0, xm, ym]];
      if (xs) kids.push([xm, y0, x1, ym]);
      if (ys) kids.push([x0, ym, xm, y1]);
      if (xs && ys) kids.push([xm, ym, x1, y1]);
      // per layer: stays active, or settles here (its children interpolate their exact corners)
      let allSettled = true;
      const settledHere: boolean[] = [];
      for (let t = 0; t < T; t++) {
        let settled = cells[c + 4 + t]! >= 0;
        if (!settled) {
          const e = margin ? Math.max(errAt[k * (T + 1) + t]!, near(errL, t * gw * gh, g)) : errAt[k * (T + 1) + t]!;
          settled = e <= opt.tol;
          settledHere[t] = settled;
        }
        if (!settled) allSettled = false;
      }
      const ec = margin ? Math.max(errAt[k * (T + 1) + T]!, near(errC, 0, g)) : errAt[k * (T + 1) + T]!;
      if (allSettled && ec <= opt.tol) {
        for (const [a, b, cc, d] of kids) fillBilinearRgb(rgb, rgbKnown, w, o, W, a, b, cc, d);
        continue;
      }
      for (const [a, b, cc, d] of kids) {
        next.push(a, b, cc, d);
        for (let t = 0; t < T; t++) {
          const st = cells[c + 4 + t]!;
          if (st >= 0) next.push(st);
          else if (settledHere[t]) {
            const v = vals[t]!;
            next.push(src.length);
            src.push(a, b, cc, d, v[b * w + a]!, v[b * w + cc]!, v[d * w + a]!, v[d * w + cc]!);
          } else next.push(-1);
        }
      }
      // the children's corners are composited with the children's states (settled layers now
      // interpolate there, which for exact corner nodes is the same value)
    }
    cells = next;
    s = half;
  }
  return evaluated;
}

/** the largest error in the 3×3 block of cells around cell g of a padded grid (row width gw) starting at off */
function neighbourhoodMax(grid: Float32Array, off: number, g: number, gw: number): number {
  const i = off + g;
  return Math.max(grid[i - gw - 1]!, grid[i - gw]!, grid[i - gw + 1]!, grid[i - 1]!, grid[i]!, grid[i + 1]!, grid[i + gw - 1]!, grid[i + gw]!, grid[i + gw + 1]!);
}

/** max |value − bilinear(corners)| over the 5 test nodes of a cell */
function bilinearError(at: (x: number, y: number) => number, x0: number, y0: number, x1: number, y1: number, xm: number, ym: number, u: number, v: number): number {
  const p = at(x0, y0), q = at(x1, y0), r = at(x0, y1), t = at(x1, y1);
  const top = p + (q - p) * u, bot = r + (t - r) * u, left = p + (r - p) * v, right = q + (t - q) * v;
  return Math.max(
    Math.abs(at(xm, y0) - top),
    Math.abs(at(xm, y1) - bot),
    Math.abs(at(x0, ym) - left),
    Math.abs(at(x1, ym) - right),
    Math.abs(at(xm, ym) - (top + (bot - top) * v)),
  );
}

/**
 * bilinear fill of a tile rectangle's RGB from its 4 corners, skipping pixels composited exactly;
 * tile pixel (x, y) lives at o + (y · W + x) · 3 of rgb
 */
function fillBilinearRgb(rgb: Float32Array, known: Uint8Array, w: number, o: number, W: number, x0: number, y0: number, x1: number, y1: number): void {
  const dx = x1 > x0 ? 1 / (x1 - x0) : 0;
  const dy = y1 > y0 ? 1 / (y1 - y0) : 0;
  const ia = o + (y0 * W + x0) * 3, ib = o + (y0 * W + x1) * 3, ic = o + (y1 * W + x0) * 3, id = o + (y1 * W + x1) * 3;
  const ar = rgb[ia]!, ag = rgb[ia + 1]!, ab = rgb[ia + 2]!;
  const br = rgb[ib]!, bg = rgb[ib + 1]!, bb = rgb[ib + 2]!;
  const cr = rgb[ic]!, cg = rgb[ic + 1]!, cb = rgb[ic + 2]!;
  const dr = rgb[id]!, dg = rgb[id + 1]!, db = rgb[id + 2]!;
  for (let y = y0; y <= y1; y++) {
    const v = (y - y0) * dy;
    const lr = ar + (cr - ar) * v, lg = ag + (cg - ag) * v, lb = ab + (cb - ab) * v;
    const sr = (br + (dr - br) * v - lr) * dx, sg = (bg + (dg - bg) * v - lg) * dx, sb = (bb + (db - bb) * v - lb) * dx;
    const row = y * w;
    let j = o + (y * W + x0) * 3;
    for (let x = x0; x <= x1; x++, j += 3) {
      if (known[row + x]) continue;
      const u = x - x0;
      rgb[j] = lr + sr * u;
      rgb[j + 1] = lg + sg * u;
      rgb[j + 2] = lb + sb * u;
    }
  }
}
