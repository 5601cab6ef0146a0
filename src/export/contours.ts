/**
 * Iso-contours of a mask (marching squares), as closed rings in pixel coordinates.
 *
 * The mask is sampled at pixel centres: value v[j·w + i] sits at (i + 0.5, j + 0.5). The region
 * {M ≥ τ} is bounded by rings through points interpolated linearly along the edges between
 * neighbouring samples, so a ring lies within a fraction of a pixel of the true iso-line (a
 * threshold-then-trace route quantises it to whole pixels). The grid is padded by two samples —
 * the edge value, then 0 — so rings close outside the image and a region touching the border
 * keeps its full extent up to the border. Saddle cells are resolved by the cell's mean value.
 */

// cell corners: tl (0,0) tr (1,0) br (1,1) bl (0,1); edges: 0 top, 1 right, 2 bottom, 3 left
const CORNER = [
  [0, 0],
  [1, 0],
  [1, 1],
  [0, 1],
] as const;
const EDGE_MID = [
  [0.5, 0],
  [1, 0.5],
  [0.5, 1],
  [0, 0.5],
] as const;
const EDGE_CORNERS = [
  [0, 1],
  [1, 2],
  [3, 2],
  [0, 3],
] as const;

/** segments [from edge, to edge] per case (bit k set = corner k inside), oriented with the inside on the right; saddles: [mean outside, mean inside] */
const TABLE: number[][][][] = [];
{
  const orient = (a: number, b: number, corner: number, inside: boolean): number[] => {
    const [ax, ay] = EDGE_MID[a]!;
    const [bx, by] = EDGE_MID[b]!;
    const [cx, cy] = CORNER[corner]!;
    const cross = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    return cross > 0 === inside ? [a, b] : [b, a];
  };
  for (let c = 0; c < 16; c++) {
    const inside = (k: number) => ((c >> k) & 1) === 1;
    const crossed = [0, 1, 2, 3].filter((e) => inside(EDGE_CORNERS[e]![0]) !== inside(EDGE_CORNERS[e]![1]));
    if (crossed.length === 0) TABLE.push([[], []]);
    else if (crossed.length === 2) {
      const seg = orient(crossed[0]!, crossed[1]!, 0, inside(0));
      TABLE.push([[seg], [seg]]);
    } else {
      // saddle: corners 0 and 2 share a state, 1 and 3 the other. The segments cut off the corners
      // whose state differs from the cell's middle.
      const cutPair = (k: number): number[][] => {
        // cut off corners k and k+2: corner k touches edges k-1 and k (mod 4)
        const a = k, b = k + 2;
        return [orient((a + 3) % 4, a, a, inside(a)), orient((b + 3) % 4, b, b, inside(b))];
      };
      // middle outside: cut off the inside corners; middle inside: cut off the outside corners
      const insidePair = inside(0) ? 0 : 1;
      TABLE.push([cutPair(insidePair), cutPair(1 - insidePair)]);
    }
  }
}

const P = 2; // padding

/** the mask padded by its edge value, then 0 (reuse it for several levels) */
export function padMask(mask: ArrayLike<number>, w: number, h: number): Float32Array {
  if (mask.length !== w * h) throw new Error(`mask has ${mask.length} values, expected ${w}×${h}`);
  const W = w + 2 * P;
  const H = h + 2 * P;
  const pv = new Float32Array(W * H);
  for (let j = 1; j < H - 1; j++) {
    for (let i = 1; i < W - 1; i++) pv[j * W + i] = mask[Math.min(h - 1, Math.max(0, j - P)) * w + Math.min(w - 1, Math.max(0, i - P))]!;
  }
  return pv;
}

export function isoRingsPadded(pv: Float32Array, w: number, h: number, level: number): Float64Array[] {
  const W = w + 2 * P;
  const H = h + 2 * P;
  // an edge point id: 2·(j·W + i) + (0: horizontal edge right of sample (i, j); 1: vertical edge below it)
  const nextOf = new Int32Array(2 * W * H).fill(-1);
  const starts: number[] = [];
  const edgeId = (i: number, j: number, e: number): number => {
    if (e === 0) return 2 * (j * W + i);
    if (e === 1) return 2 * (j * W + i + 1) + 1;
    if (e === 2) return 2 * ((j + 1) * W + i);
    return 2 * (j * W + i) + 1;
  };
  for (let j = 0; j < H - 1; j++) {
    for (let i = 0; i < W - 1; i++) {
      const v0 = pv[j * W + i]!, v1 = pv[j * W + i + 1]!, v2 = pv[(j + 1) * W + i + 1]!, v3 = pv[(j + 1) * W + i]!;
      const c = (v0 >= level ? 1 : 0) | (v1 >= level ? 2 : 0) | (v2 >= level ? 4 : 0) | (v3 >= level ? 8 : 0);
      if (c === 0 || c === 15) continue;
      const segs = TABLE[c]![(v0 + v1 + v2 + v3) / 4 >= level ? 1 : 0]!;
      for (const [a, b] of segs) {
        const from = edgeId(i, j, a!);
        nextOf[from] = edgeId(i, j, b!);
        starts.push(from);
      }
    }
  }
  const point = (id: number, out: number[]): void => {
    const k = id >> 1;
    const i = k % W, j = (k - i) / W;
    const va = pv[k]!;
    const vb = id & 1 ? pv[k + W]! : pv[k + 1]!;
    const t = vb === va ? 0.5 : (level - va) / (vb - va);
    // sample (i, j) of the padded grid is pixel (i − P, j − P), centred at +0.5
    const x = i - P + 0.5 + (id & 1 ? 0 : t);
    const y = j - P + 0.5 + (id & 1 ? t : 0);
    out.push(x, y);
  };
  const rings: Float64Array[] = [];
  for (const s of starts) {
    if (nextOf[s] === -1) continue; // already used
    const pts: number[] = [];
    let id = s;
    while (nextOf[id] !== -1) {
      point(id, pts);
      const n = nextOf[id]!;
      nextOf[id] = -1;
      id = n;
    }
    if (pts.length >= 6) rings.push(Float64Array.from(pts));
  }
  return rings;
}

/** Douglas–Peucker simplification of a closed ring to within `tol` pixels */
export function simplifyRing(ring: Float64Array, tol: number): Float64Array {
  const n = ring.length / 2;
  if (n <= 4) return ring;
  // split the ring at point 0 and the point farthest from it, simplify both halves
  let far = 0, best = -1;
  for (let k = 1; k < n; k++) {
    const d = (ring[2 * k]! - ring[0]!) ** 2 + (ring[2 * k + 1]! - ring[1]!) ** 2;
    if (d > best) (best = d), (far = k);
  }
  const keep = new Uint8Array(n + 1);
  keep[0] = keep[far] = keep[n] = 1;
  const at = (k: number) => (k % n) * 2;
  const stack: [number, number][] = [
    [0, far],
    [far, n],
  ];
  const t2 = tol * tol;
  while (stack.length) {
    const [a, b] = stack.pop()!;
    const ax = ring[at(a)]!, ay = ring[at(a) + 1]!, bx = ring[at(b)]!, by = ring[at(b) + 1]!;
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    let worst = -1, wk = -1;
    for (let k = a + 1; k < b; k++) {
      const px = ring[at(k)]! - ax, py = ring[at(k) + 1]! - ay;
      const d = len2 > 0 ? (px * dy - py * dx) ** 2 / len2 : px * px + py * py;
      if (d > worst) (worst = d), (wk = k);
    }
    if (worst > t2) {
      keep[wk] = 1;
      stack.push([a, wk], [wk, b]);
    }
  }
  const out: number[] = [];
  for (let k = 0; k < n; k++) if (keep[k]) out.push(ring[2 * k]!, ring[2 * k + 1]!);
  return Float64Array.from(out);
}

/** signed area (shoelace), pixel² */
export function ringArea(ring: Float64Array): number {
  let a = 0;
  const n = ring.length / 2;
  for (let k = 0; k < n; k++) {
    const j = (k + 1) % n;
    a += ring[2 * k]! * ring[2 * j + 1]! - ring[2 * j]! * ring[2 * k + 1]!;
  }
  return a / 2;
}
