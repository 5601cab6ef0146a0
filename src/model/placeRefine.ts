/**
 * Joint refinement of placed layers by gradient descent (issue 22), after the greedy search of
 * src/model/place.ts has chosen every layer one at a time.
 *
 * The greedy search fixes each layer given the ones below it; once all N are down, the image is a
 * function of every layer's frame, sharpness, opacity and colour at once:
 *
 *   C_0 = the whole-frame layers' canvas (fixed here),   C_t = C_{t−1} + α_t m_t (c_t − C_{t−1})
 *   m_t(x, y) = W(u) · W(v) · σ(g_t · z_t(u, v)),        (u, v) = the layer's frame (src/core/placement.ts)
 *   E = Σ_x ‖C_N(x) − y(x)‖²
 *
 * and its gradient is one reverse pass over the layers' boxes: with G = ∂E/∂C_t,
 *
 *   ∂E/∂c_t = Σ G α m,   ∂E/∂(α m) = Σ_ch G (c − C_{t−1}),   ∂E/∂C_{t−1} = G (1 − α m)
 *
 * then through σ, the window ramps and the bilinear read of the shape's logit map z_t (the network's
 * mask on a B×B grid of its own frame, as the search reads it) into the frame's centre, angle and
 * log-scales, the log-gain and the opacity. Projected Adam keeps every field in the search's bounds.
 * The shape (its p) stays the bank's: the layer's mask is still the network f(x, y, p), moved.
 *
 * Why after the search rather than instead of it: gradient steps cannot jump between shapes or far
 * across the frame (the search's strength), but they move all N layers at once, which the one-at-a-
 * time search never does; a step costs one pass over the boxes (tens of ms for 100 layers at 256²).
 */
import { PLACE_DEFAULTS } from '../config.js';
import { placementMatrix, WINDOW_KAPPA, type Placement } from '../core/placement.js';
import { pixelBoxOf } from '../core/render.js';
import { ALPHA_MIN, sig, type PlaceBank, type PlacedLayer } from './place.js';

/** fields per layer in the packed vector: x, y, angle, log sx, log sy, log gain, opacity, r, g, b */
export const FIELDS = 10;

export interface PlaceRefineOptions {
  /** Adam steps (an upper bound when a budget is given) */
  steps?: number;
  /** stop after about this many milliseconds */
  budgetMs?: number;
  /** frame aspect (a_x, a_y) */
  aspect?: [number, number];
  /** bounds of the gain (default PLACE_DEFAULTS.minGain .. maxGain) */
  minGain?: number;
  maxGain?: number;
  /** fit the opacity (default true) */
  opacity?: boolean;
  /** halvings of the grid the steps run on (2×2 means of target and canvas; default 0: the fit grid) */
  halvings?: number;
  /** called after each step with the squared error before it */
  onStep?: (step: number, error: number) => void;
}

/** pack placed layers into the vector the gradient is taken over */
export function packLayers(layers: readonly PlacedLayer[]): Float64Array {
  const v = new Float64Array(layers.length * FIELDS);
  layers.forEach((l, t) => {
    const o = t * FIELDS;
    v.set([l.place.x, l.place.y, l.place.angle, Math.log(l.place.sx), Math.log(l.place.sy), Math.log(l.gain), l.opacity, l.colour[0], l.colour[1], l.colour[2]], o);
  });
  return v;
}

/** the placed layers a packed vector describes (shapes from `like`) */
export function unpackLayers(v: Float64Array, like: readonly PlacedLayer[]): PlacedLayer[] {
  return like.map((l, t) => {
    const o = t * FIELDS;
    return {
      shape: l.shape,
      place: { x: v[o]!, y: v[o + 1]!, angle: v[o + 2]!, sx: Math.exp(v[o + 3]!), sy: Math.exp(v[o + 4]!) },
      gain: Math.exp(v[o + 5]!),
      opacity: v[o + 6]!,
      colour: [v[o + 7]!, v[o + 8]!, v[o + 9]!],
    };
  });
}

/** 2×2 means of a W×H RGB grid (an odd last row or column dropped) */
function halve(a: Float32Array, W: number, H: number): Float32Array {
  const w = W >> 1;
  const h = H >> 1;
  const b = new Float32Array(w * h * 3);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const p = 3 * (2 * j * W + 2 * i);
      const q = p + 3 * W;
      for (let ch = 0; ch < 3; ch++) b[3 * (j * w + i) + ch] = 0.25 * (a[p + ch]! + a[p + 3 + ch]! + a[q + ch]! + a[q + 3 + ch]!);
    }
  }
  return b;
}

let arena = new Float32Array(1 << 16);
const EMPTY = new Float32Array(0);


/**
 * E = Σ ‖C_N − y‖² of the placed layers `v` (packed) over the fixed canvas `base`, and its gradient
 * into `grad` (same packing) when given. `target` and `base` are W×H RGB.
 */
export function placedError(v: Float64Array, shapes: readonly number[], bank: PlaceBank, base: Float32Array, target: Float32Array, W: number, H: number, aspect: [number, number], grad?: Float64Array): number {
  const N = shapes.length;
  // one arena for every layer's mask, the canvas under it and its partials, grown as needed and
  // reused from call to call (a refinement makes the same boxes step after step)
  let used = 0;
  const take = (n: number): Float32Array => {
    if (used + n > arena.length) arena = new Float32Array(Math.max(2 * arena.length, used + n + (1 << 16)));
    return arena.subarray(used, (used += n));
  };
  const canvas = Float32Array.from(base);
  const boxes: [number, number, number, number][] = [];
  const under: Float32Array[] = [];
  const masks: Float32Array[] = [];
  const partials: Float32Array[] = [];
  const { B, z } = bank;
  const half = B / 2;
  const place = (t: number): Placement => {
    const o = t * FIELDS;
    return { x: v[o]!, y: v[o + 1]!, angle: v[o + 2]!, sx: Math.exp(v[o + 3]!), sy: Math.exp(v[o + 4]!) };
  };
  // the mask at pixel (i, j) and, when d is given, its partials: d[0..4] = ∂m/∂(u, v, g), read back by the caller
  const maskAt = (zo: number, g: number, u: number, v2: number, d?: Float64Array): number => {
    const au = u < 0 ? -u : u;
    const av = v2 < 0 ? -v2 : v2;
    if (au >= 1 || av >= 1) return 0;
    const ru = WINDOW_KAPPA * (1 - au);
    const rv = WINDOW_KAPPA * (1 - av);
    const wu = ru > 1 ? 1 : ru;
    const wv = rv > 1 ? 1 : rv;
    let fu = (u + 1) * half - 0.5;
    let fv = (v2 + 1) * half - 0.5;
    let cu = 1;
    let cv = 1;
    if (fu < 0) (fu = 0), (cu = 0);
    else if (fu > B - 1.001) (fu = B - 1.001), (cu = 0);
    if (fv < 0) (fv = 0), (cv = 0);
    else if (fv > B - 1.001) (fv = B - 1.001), (cv = 0);
    const ku = fu | 0;
    const kv = fv | 0;
    const a = fu - ku;
    const b = fv - kv;
    const p = zo + kv * B + ku;
    const z00 = z[p]!, z01 = z[p + 1]!, z10 = z[p + B]!, z11 = z[p + B + 1]!;
    const zt = (z00 * (1 - a) + z01 * a) * (1 - b) + (z10 * (1 - a) + z11 * a) * b;
    const s = sig(g * zt);
    const w = wu * wv;
    if (d) {
      const ds = s * (1 - s);
      const dzdu = cu * half * ((z01 - z00) * (1 - b) + (z11 - z10) * b);
      const dzdv = cv * half * ((z10 - z00) * (1 - a) + (z11 - z01) * a);
      const dwu = ru > 0 && ru < 1 ? -WINDOW_KAPPA * (u < 0 ? -1 : 1) : 0;
      const dwv = rv > 0 && rv < 1 ? -WINDOW_KAPPA * (v2 < 0 ? -1 : 1) : 0;
      d[0] = w * ds * g * dzdu + dwu * wv * s;
      d[1] = w * ds * g * dzdv + dwv * wu * s;
      d[2] = w * ds * zt;
    }
    return w * s;
  };
  const d = new Float64Array(3);
  // forward: each layer's mask over its box, the canvas under it kept for the reverse pass
  for (let t = 0; t < N; t++) {
    const o = t * FIELDS;
    const pl = place(t);
    const box = pixelBoxOf(pl, aspect, W, H);
    const [i0, i1, j0, j1] = box;
    const bw = Math.max(0, i1 - i0 + 1);
    const bh = Math.max(0, j1 - j0 + 1);
    const n = bw * bh;
    const m = take(n);
    const kept = grad ? take(3 * n) : EMPTY;
    const dm = grad ? take(5 * n) : EMPTY;
    const [A, Bm, C, D, E, F] = placementMatrix(pl, aspect);
    const g = Math.exp(v[o + 5]!);
    const alpha = v[o + 6]!;
    const col0 = v[o + 7]!, col1 = v[o + 8]!, col2 = v[o + 9]!;
    const zo = shapes[t]! * B * B;
    for (let j = j0, q = 0; j <= j1; j++) {
      const y = (2 * j + 1) / H - 1;
      for (let i = i0; i <= i1; i++, q++) {
        const x = (2 * i + 1) / W - 1;
        const u = A * x + Bm * y + C;
        const v2 = D * x + E * y + F;
        const mm = maskAt(zo, g, u, v2, grad ? d : undefined);
        m[q] = mm;
        if (grad && mm !== 0) {
          const e = 5 * q;
          dm[e] = d[0]!;
          dm[e + 1] = d[1]!;
          dm[e + 2] = d[2]!;
          dm[e + 3] = u;
          dm[e + 4] = v2;
        }
        const k = 3 * (j * W + i);
        if (grad) {
          kept[3 * q] = canvas[k]!;
          kept[3 * q + 1] = canvas[k + 1]!;
          kept[3 * q + 2] = canvas[k + 2]!;
        }
        const am = alpha * mm;
        if (am === 0) continue;
        canvas[k] = canvas[k]! + am * (col0 - canvas[k]!);
        canvas[k + 1] = canvas[k + 1]! + am * (col1 - canvas[k + 1]!);
        canvas[k + 2] = canvas[k + 2]! + am * (col2 - canvas[k + 2]!);
      }
    }
    boxes.push(box);
    masks.push(m);
    under.push(kept);
    partials.push(dm);
  }
  let err = 0;
  for (let i = 0; i < canvas.length; i++) err += (canvas[i]! - target[i]!) ** 2;
  if (!grad) return err;
  grad.fill(0);
  // reverse: G = ∂E/∂C, walked down through the layers over their boxes
  const G = new Float32Array(canvas.length);
  for (let i = 0; i < canvas.length; i++) G[i] = 2 * (canvas[i]! - target[i]!);
  for (let t = N - 1; t >= 0; t--) {
    const o = t * FIELDS;
    const pl = place(t);
    const [i0, i1, j0, j1] = boxes[t]!;
    const m = masks[t]!;
    const kept = under[t]!;
    const pd = partials[t]!;
    const cth = Math.cos(pl.angle);
    const sth = Math.sin(pl.angle);
    const [ax, ay] = aspect;
    const g = Math.exp(v[o + 5]!);
    const alpha = v[o + 6]!;
    const c0 = v[o + 7]!, c1 = v[o + 8]!, c2 = v[o + 9]!;
    let gx = 0, gy = 0, gth = 0, gsx = 0, gsy = 0, gg = 0, ga = 0, gc0 = 0, gc1 = 0, gc2 = 0;
    for (let j = j0, q = 0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++, q++) {
        const mm = m[q]!;
        if (mm === 0) continue;
        const k = 3 * (j * W + i);
        const u0 = kept[3 * q]!, u1 = kept[3 * q + 1]!, u2 = kept[3 * q + 2]!;
        const G0 = G[k]!, G1 = G[k + 1]!, G2 = G[k + 2]!;
        const am = alpha * mm;
        gc0 += G0 * am;
        gc1 += G1 * am;
        gc2 += G2 * am;
        const dam = G0 * (c0 - u0) + G1 * (c1 - u1) + G2 * (c2 - u2);
        G[k] = G0 * (1 - am);
        G[k + 1] = G1 * (1 - am);
        G[k + 2] = G2 * (1 - am);
        ga += dam * mm;
        const dm = dam * alpha;
        const e = 5 * q;
        const u = pd[e + 3]!;
        const vv = pd[e + 4]!;
        const du = dm * pd[e]!;
        const dv = dm * pd[e + 1]!;
        gg += dm * pd[e + 2]! * g; // ∂/∂log g
        // u = (cos θ (X − C_x) + sin θ (Y − C_y)) / s_x, v = (−sin θ (X − C_x) + cos θ (Y − C_y)) / s_y
        gx += du * (-cth * ax / pl.sx) + dv * (sth * ax / pl.sy);
        gy += du * (-sth * ay / pl.sx) + dv * (-cth * ay / pl.sy);
        gth += du * (vv * pl.sy / pl.sx) + dv * (-u * pl.sx / pl.sy);
        gsx += -du * u;
        gsy += -dv * vv;
      }
    }
    grad.set([gx, gy, gth, gsx, gsy, gg, ga, gc0, gc1, gc2], o);
  }
  return err;
}

/**
 * Refine placed layers jointly over the fixed canvas `base` (the whole-frame layers'): projected Adam
 * on every field, the best vector seen kept. Returns the refined layers and their squared error.
 */
export function refinePlaced(placed: readonly PlacedLayer[], bank: PlaceBank, base: Float32Array, target: Float32Array, W: number, H: number, o: PlaceRefineOptions = {}): { layers: PlacedLayer[]; error: number; steps: number } {
  if ((o.halvings ?? 0) > 0 && Math.min(W, H) >= 64) {
    // steps on a coarser grid, judged on the given one: a layer of a pixel or two can be moved where
    // the coarse grid cannot see it, so the refined layers are kept only if they are better here
    const coarse = refinePlaced(placed, bank, halve(base, W, H), halve(target, W, H), W >> 1, H >> 1, { ...o, halvings: o.halvings! - 1 });
    const aspect = o.aspect ?? [1, 1];
    const shapes = placed.map((l) => l.shape);
    const before = placedError(packLayers(placed), shapes, bank, base, target, W, H, aspect);
    const after = placedError(packLayers(coarse.layers), shapes, bank, base, target, W, H, aspect);
    return after < before ? { ...coarse, error: after } : { layers: placed.map((l) => ({ ...l })), error: before, steps: coarse.steps };
  }
  const aspect = o.aspect ?? [1, 1];
  const shapes = placed.map((l) => l.shape);
  const N = placed.length;
  const v = packLayers(placed);
  const steps = o.steps ?? 40;
  if (N === 0 || steps <= 0) return { layers: placed.map((l) => ({ ...l })), error: placedError(v, shapes, bank, base, target, W, H, aspect), steps: 0 };
  const gMin = Math.log(o.minGain ?? PLACE_DEFAULTS.minGain);
  const gMax = Math.log(o.maxGain ?? PLACE_DEFAULTS.maxGain);
  const L = Math.max(W, H);
  const sMin = Math.log((2 * PLACE_DEFAULTS.minPixels) / L);
  const sMax = Math.log(1);
  const fitOpacity = o.opacity ?? true;
  // steps in natural units: a centre moves by a share of the layer's own size, angles by radians,
  // scales and gains by factors, opacity and colours by levels
  const lr = new Float64Array(v.length);
  for (let t = 0; t < N; t++) {
    const s = Math.min(placed[t]!.place.sx, placed[t]!.place.sy);
    lr.set([0.03 * s, 0.03 * s, 0.03, 0.02, 0.02, 0.05, fitOpacity ? 0.02 : 0, 0.01, 0.01, 0.01], t * FIELDS);
  }
  const grad = new Float64Array(v.length);
  const m1 = new Float64Array(v.length);
  const m2 = new Float64Array(v.length);
  const b1 = 0.9, b2 = 0.999, eps = 1e-12;
  let best: Float64Array = Float64Array.from(v);
  let bestE = Infinity;
  const t0 = performance.now();
  let n = 0;
  for (; n < steps; n++) {
    const err = placedError(v, shapes, bank, base, target, W, H, aspect, grad);
    if (!Number.isFinite(err)) break;
    if (err < bestE) {
      bestE = err;
      best = Float64Array.from(v);
    }
    o.onStep?.(n, err);
    const k1 = 1 - b1 ** (n + 1);
    const k2 = 1 - b2 ** (n + 1);
    for (let i = 0; i < v.length; i++) {
      const gi = grad[i]!;
      m1[i] = b1 * m1[i]! + (1 - b1) * gi;
      m2[i] = b2 * m2[i]! + (1 - b2) * gi * gi;
      v[i] = v[i]! - (lr[i]! * (m1[i]! / k1)) / (Math.sqrt(m2[i]! / k2) + eps);
    }
    for (let t = 0; t < N; t++) {
      const q = t * FIELDS;
      v[q] = Math.min(2, Math.max(-2, v[q]!));
      v[q + 1] = Math.min(2, Math.max(-2, v[q + 1]!));
      v[q + 3] = Math.min(sMax, Math.max(sMin, v[q + 3]!));
      v[q + 4] = Math.min(sMax, Math.max(sMin, v[q + 4]!));
      v[q + 5] = Math.min(gMax, Math.max(gMin, v[q + 5]!));
      v[q + 6] = Math.min(1, Math.max(ALPHA_MIN, v[q + 6]!));
      for (let ch = 7; ch < 10; ch++) v[q + ch] = Math.min(1, Math.max(0, v[q + ch]!));
    }
    const spent = performance.now() - t0;
    if (o.budgetMs && (spent * (n + 2)) / (n + 1) > o.budgetMs) {
      n++;
      break;
    }
  }
  const last = placedError(v, shapes, bank, base, target, W, H, aspect);
  if (last < bestE) {
    bestE = last;
    best = v;
  }
  return { layers: unpackLayers(best, placed), error: bestE, steps: n };
}
