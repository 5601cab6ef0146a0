/**
 * Placed layers: the learned mask family drawn at any position, size, angle and sharpness.
 *
 * A layer of the paper covers the whole frame: M(x, y) = f(x, y, p). Learned at 32², that family
 * cannot draw anything finer than about 1/32 of the frame, so more layers stop helping (issue 22).
 * A placed layer keeps the same network f and puts it in its own frame:
 *
 *   (X, Y) = (x · a_x, y · a_y)                          isotropic coordinates (the long side spans [−1, 1])
 *   u = ( cos θ · (X − C_x) + sin θ · (Y − C_y)) / s_x
 *   v = (−sin θ · (X − C_x) + cos θ · (Y − C_y)) / s_y
 *   M(x, y) = α · W(u) · W(v) · σ(g · z(u, v, p)),     W(u) = clamp(κ · (1 − |u|), 0, 1)
 *
 * where x, y ∈ [−1, 1] are frame coordinates (pixel centres, src/core/grid.ts), a = (W, H) / max(W, H)
 * the frame's aspect, C = (c_x · a_x, c_y · a_y) the centre, z = logit f the network's pre-sigmoid
 * output, g the layer's gain and α its opacity (a translucent layer, as in any layered editor). The window W is exactly zero outside |u|, |v| < 1, so a layer costs
 * only its box to render and to fit; the gain makes a layer a crisp region (g ≫ 1: σ(g·z) is a
 * step with an anti-aliased edge) or keeps it a soft gradient (g = 1). Per-image GroupNorm
 * statistics come from the reference grid in the layer's own (u, v) frame — the same numbers as an
 * unplaced layer with the same p — so a placed mask is exactly the network's mask, moved.
 * Without `place` a layer is today's (u, v) = (x, y) with no window, and without `gain` (or g = 1)
 * it is f itself, bit for bit.
 */

/** a layer's frame: centre (c_x, c_y) in frame coordinates, angle θ (radians), half-extents s_x, s_y in isotropic units */
export interface Placement {
  x: number;
  y: number;
  angle: number;
  sx: number;
  sy: number;
}

/** the window's ramp: W(u) rises from 0 at |u| = 1 to 1 at |u| = 1 − 1/κ */
export const WINDOW_KAPPA = 16;
/** bounds a document's placement and gain must respect (src/core/validate.ts) */
export const PLACEMENT_LIMITS = { centre: 4, scaleMin: 1e-4, scaleMax: 8, gainMin: 0.01, gainMax: 1000 } as const;
/** σ is clamped to [ε, 1 − ε] before taking its logit, so a saturated mask keeps a finite z */
const LOGIT_EPS = 1e-7;

/** (a_x, a_y): the frame's sides over its long side; a square (or no frame) is (1, 1) */
export function frameAspect(frame?: { width: number; height: number }): [number, number] {
  if (!frame) return [1, 1];
  const L = Math.max(frame.width, frame.height);
  return [frame.width / L, frame.height / L];
}

/** the window's ramp W(u) */
export function windowRamp(u: number): number {
  const w = WINDOW_KAPPA * (1 - Math.abs(u));
  return w <= 0 ? 0 : w >= 1 ? 1 : w;
}

/** σ(g · logit m): the gain applied to a mask value m = σ(z) */
export function withGain(m: number, g: number): number {
  if (g === 1) return m;
  const c = m < LOGIT_EPS ? LOGIT_EPS : m > 1 - LOGIT_EPS ? 1 - LOGIT_EPS : m;
  return 1 / (1 + Math.exp(-g * Math.log(c / (1 - c))));
}

/** the frame-coordinate box [x0, x1] × [y0, y1] outside which the placed mask is exactly 0 */
export function placedBox(pl: Placement, aspect: [number, number]): [number, number, number, number] {
  const c = Math.abs(Math.cos(pl.angle));
  const s = Math.abs(Math.sin(pl.angle));
  const hx = (pl.sx * c + pl.sy * s) / aspect[0];
  const hy = (pl.sx * s + pl.sy * c) / aspect[1];
  return [pl.x - hx, pl.x + hx, pl.y - hy, pl.y + hy];
}

/** the affine map (x, y) -> (u, v) as [u = A·x + B·y + C, v = D·x + E·y + F] */
export function placementMatrix(pl: Placement, aspect: [number, number]): [number, number, number, number, number, number] {
  const c = Math.cos(pl.angle);
  const s = Math.sin(pl.angle);
  const [ax, ay] = aspect;
  const Cx = pl.x * ax;
  const Cy = pl.y * ay;
  return [(c * ax) / pl.sx, (s * ay) / pl.sx, -(c * Cx + s * Cy) / pl.sx, (-s * ax) / pl.sy, (c * ay) / pl.sy, (s * Cx - c * Cy) / pl.sy];
}

/**
 * Map n frame coordinates xy [n, 2] into the layer's (u, v); `win` gets W(u)·W(v). Returns how many
 * points have a non-zero window; their indices are in `inside`, and `uv` holds their (u, v) packed.
 */
export function toLayerFrame(pl: Placement, aspect: [number, number], xy: Float32Array, n: number, uv: Float32Array, win: Float32Array, inside: Int32Array): number {
  const [A, B, C, D, E, F] = placementMatrix(pl, aspect);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i]!;
    const y = xy[2 * i + 1]!;
    const u = A * x + B * y + C;
    const v = D * x + E * y + F;
    const w = windowRamp(u) * windowRamp(v);
    win[i] = w;
    if (w > 0) {
      uv[2 * k] = u;
      uv[2 * k + 1] = v;
      inside[k++] = i;
    }
  }
  return k;
}

/** does this layer need more than f on shared frame coordinates (a placement, or a gain ≠ 1)? */
export function isPlacedOrSharp(l: { place?: Placement; gain?: number; opacity?: number }): boolean {
  return !!l.place || (l.gain !== undefined && l.gain !== 1) || (l.opacity !== undefined && l.opacity !== 1);
}
