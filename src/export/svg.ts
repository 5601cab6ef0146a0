/**
 * SVG export that looks like the render. Each visible layer is one group: a rectangle of the
 * layer's colour under a luminance mask that holds the soft mask M quantised to N levels, as N
 * nested iso-contour regions R_j = {M ≥ (j − ½)/N}, j = 1..N, each filled with the opaque grey j/N.
 * Opaque fills replace what is under them, so inside R_j \ R_{j+1} the mask is exactly j/N (one
 * 8-bit rounding, whatever N), where a contour crosses a pixel the rasteriser's antialiasing blends
 * the two neighbouring greys, and the masked rectangle is composited once over the layers below:
 * ordinary source-over compositing of the groups over a black rectangle reproduces
 * I_t = I_{t-1}(1 − M_t) + c_t M_t with M quantised to steps of 1/N (error ≤ 1/(2N)).
 *
 * The earlier route stacked the N regions directly as coloured fills at opacities
 * a_j = 1/(N − j + 1) (exact in real arithmetic: 1 − Π(1 − a_i) = j/N). Rasterisers composite in
 * 8 bits, so every one of the up-to-N translucent fills rounds the colour·opacity product, and with
 * small opacities (1/N of a dark colour is 1 or 2 of 255) the rounding errors add up: more levels
 * made it worse (goldfish at 256²: 33.7 dB at 16 levels, 26.5 dB at 32, while the quantised masks
 * themselves are at 43 and 49 dB). See docs/rendering.md.
 *
 * N is chosen per document by default ('auto'): the fewest levels of a ladder at which the
 * render with the quantised masks reaches `targetPsnr` dB against the true render (the rasterised
 * SVG comes within a fraction of a dB of that prediction in librsvg and Chromium).
 *
 * Contours come from marching squares on the mask at the export size (sub-pixel accurate,
 * src/export/contours.ts), simplified by Douglas–Peucker. Layers are top-level groups with
 * Inkscape's layer attributes, so editors list them as layers. `levels: 1` is one hard contour at
 * `threshold`, filled with the opaque colour (the old potrace-like export).
 */
import { colourHex } from '../edit/edits.js';
import { SVG_DEFAULTS } from '../config.js';
import { psnrFromMse } from '../core/psnr.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import { isoRingsPadded, padMask, ringArea, simplifyRing } from './contours.js';
import type { LayerRasters } from './layerImages.js';

export interface SvgOptions {
  /** mask levels per layer (1..255), or 'auto' (default): the fewest that reach `targetPsnr`; 1 = one hard contour at `threshold` */
  levels?: number | 'auto';
  /** with levels 'auto': the PSNR (dB) against the render that the quantised masks must reach (default 32) */
  targetPsnr?: number;
  /** with levels = 1: the mask threshold (default 0.5) */
  threshold?: number;
  /** Douglas–Peucker tolerance in pixels of the export size (default 0.3) */
  simplify?: number;
}

export { SVG_DEFAULTS };

/** the candidate level counts for 'auto', fewest first */
export const SVG_LEVEL_LADDER = [6, 8, 10, 12, 16, 20, 24, 28, 32, 40, 48, 64];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const grey = (v: number) => {
  const g = Math.round(v * 255).toString(16).padStart(2, '0');
  return `#${g}${g}${g}`;
};

/** a tenth of a pixel as path text, shortest form: 0.5 → .5, −0.5 → -.5 */
function tenths(t: number): string {
  const v = (t / 10).toString();
  return v.startsWith('0.') ? v.slice(1) : v.startsWith('-0.') ? '-' + v.slice(2) : v;
}

/** a closed ring as "M x y l dx dy dx dy … z", coordinates to a tenth of a pixel (deltas of the rounded points, so nothing drifts) */
function ringPath(ring: Float64Array): string {
  let px = Math.round(ring[0]! * 10), py = Math.round(ring[1]! * 10);
  let d = `M${tenths(px)} ${tenths(py)}l`;
  let first = true;
  for (let k = 2; k < ring.length; k += 2) {
    const x = Math.round(ring[k]! * 10), y = Math.round(ring[k + 1]! * 10);
    if (x === px && y === py) continue;
    for (const t of [tenths(x - px), tenths(y - py)]) {
      d += first || t.startsWith('-') ? t : ' ' + t;
      first = false;
    }
    (px = x), (py = y);
  }
  return d + 'z';
}

/** the 8-bit mask value that N levels give a mask byte (what the SVG's mask holds) */
function quantiseByte(v: number, levels: number): number {
  return Math.round((Math.round((v / 255) * levels) / levels) * 255);
}

/**
 * PSNR (dB) against the render of the layers composited with their masks quantised to `levels`
 * steps; on a grid of at most about 256² pixels (every s-th row and column), which predicts the
 * full image to a small fraction of a dB at a fraction of the cost
 */
export function quantisedPsnr(r: LayerRasters, levels: number): number {
  const { width, height } = r;
  const step = Math.max(1, Math.ceil(Math.sqrt((width * height) / 65536)));
  const table = Float32Array.from({ length: 256 }, (_, v) => quantiseByte(v, levels) / 255);
  const layers = r.layers.filter((l) => l.visible);
  let s = 0, n = 0;
  const out = [0, 0, 0];
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step) {
      const p = y * width + x;
      out[0] = out[1] = out[2] = 0;
      for (const l of layers) {
        const a = table[l.rgba[4 * p + 3]!]!;
        for (let c = 0; c < 3; c++) out[c] = out[c]! * (1 - a) + (l.rgba[4 * p + c]! / 255) * a;
      }
      for (let c = 0; c < 3; c++) s += (out[c]! - r.composite[3 * p + c]!) ** 2;
      n += 3;
    }
  }
  return psnrFromMse(s / n);
}

/** the fewest levels of SVG_LEVEL_LADDER whose quantised masks reach `targetPsnr` (the last if none does) */
export function autoLevels(r: LayerRasters, targetPsnr = SVG_DEFAULTS.targetPsnr): number {
  // PSNR grows with the level count: binary search the ladder
  let lo = 0, hi = SVG_LEVEL_LADDER.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (quantisedPsnr(r, SVG_LEVEL_LADDER[mid]!) >= targetPsnr) hi = mid;
    else lo = mid + 1;
  }
  return SVG_LEVEL_LADDER[lo]!;
}

export function toSvg(r: LayerRasters, opt: SvgOptions = {}): string {
  const threshold = opt.threshold ?? SVG_DEFAULTS.threshold;
  const simplify = opt.simplify ?? SVG_DEFAULTS.simplify;
  const target = opt.targetPsnr ?? SVG_DEFAULTS.targetPsnr;
  const lv = opt.levels ?? SVG_DEFAULTS.levels;
  if (lv !== 'auto' && (!Number.isInteger(lv) || lv < 1 || lv > 255)) throw new Error(`SVG levels must be a whole number in 1..255 or 'auto', got ${lv}`);
  if (!(threshold > 0 && threshold < 1)) throw new Error(`SVG threshold must lie in (0, 1), got ${threshold}`);
  if (!(simplify >= 0)) throw new Error(`SVG simplify tolerance must be ≥ 0, got ${simplify}`);
  if (!(target > 0 && Number.isFinite(target))) throw new Error(`SVG target PSNR must be a positive number of dB, got ${target}`);
  const levels = lv === 'auto' ? autoLevels(r, target) : lv;
  const { width, height } = r;
  const groups: string[] = [];
  r.layers.forEach((l, i) => {
    if (!l.visible) return;
    const mask = new Float32Array(width * height);
    for (let p = 0; p < mask.length; p++) mask[p] = l.rgba[4 * p + 3]! / 255;
    const padded = padMask(mask, width, height);
    const paths: string[] = [];
    const thresholds = levels === 1 ? [threshold] : Array.from({ length: levels }, (_, j) => (j + 0.5) / levels);
    thresholds.forEach((tau, j) => {
      const rings = isoRingsPadded(padded, width, height, tau)
        .map((ring) => simplifyRing(ring, simplify))
        .filter((ring) => ring.length >= 6 && Math.abs(ringArea(ring)) > 0.05);
      if (rings.length === 0) return;
      const fill = levels === 1 ? '' : ` fill="${grey((j + 1) / levels)}"`;
      paths.push(`<path${fill} d="${rings.map(ringPath).join('')}"/>`);
    });
    const name = esc(l.name || `layer ${i + 1}`);
    const layer = `<g id="layer-${i + 1}" inkscape:groupmode="layer" inkscape:label="${name}" data-layer="${name}"`;
    if (levels === 1) {
      groups.push(`${layer} fill="${colourHex(l.colour)}" fill-rule="evenodd">\n${paths.join('\n')}\n</g>`);
      return;
    }
    if (paths.length === 0) {
      groups.push(`${layer}/>`); // the mask is below the first level everywhere: an empty layer
      return;
    }
    const id = `stratum-mask-${i + 1}`;
    groups.push(
      `${layer}>\n<defs><mask id="${id}" maskUnits="userSpaceOnUse" x="0" y="0" width="${width}" height="${height}" fill-rule="evenodd">\n${paths.join('\n')}\n</mask></defs>\n` +
        `<rect width="${width}" height="${height}" fill="${colourHex(l.colour)}" mask="url(#${id})"/>\n</g>`,
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<rect id="background" width="${width}" height="${height}" fill="#000000"/>\n${groups.join('\n')}\n</svg>\n`
  );
}

export function writeSvgFile(path: string, r: LayerRasters, opt: SvgOptions = {}): void {
  writeFileAtomic(path, [new TextEncoder().encode(toSvg(r, opt))]);
}
