/**
 * Gradient magnitude similarity deviation (Xue et al. 2014), a full-reference quality index that
 * follows edges: both images to luma, 2×2 average and downsample, Prewitt gradient magnitudes
 * g_r, g_d, per-pixel similarity GMS = (2 g_r g_d + c) / (g_r² + g_d² + c), and GMSD = the
 * standard deviation of GMS over the image. 0 for identical images, larger is worse; c = 170 on
 * 0..255 (0.0026 on 0..1), as in the paper. It punishes blur at edges that PSNR forgives.
 */
const C = 170 / (255 * 255);

function lumaHalf(rgb: ArrayLike<number>, w: number, h: number): { y: Float32Array; w: number; h: number } {
  const hw = Math.max(1, w >> 1);
  const hh = Math.max(1, h >> 1);
  const y = new Float32Array(hw * hh);
  const lum = (i: number) => 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
  for (let j = 0; j < hh; j++) {
    for (let i = 0; i < hw; i++) {
      const x0 = Math.min(w - 1, 2 * i), x1 = Math.min(w - 1, 2 * i + 1);
      const y0 = Math.min(h - 1, 2 * j), y1 = Math.min(h - 1, 2 * j + 1);
      y[j * hw + i] = 0.25 * (lum(y0 * w + x0) + lum(y0 * w + x1) + lum(y1 * w + x0) + lum(y1 * w + x1));
    }
  }
  return { y, w: hw, h: hh };
}

function gradient(y: Float32Array, w: number, h: number): Float32Array {
  const g = new Float32Array(w * h);
  const at = (i: number, j: number) => y[Math.min(h - 1, Math.max(0, j)) * w + Math.min(w - 1, Math.max(0, i))]!;
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const gx = (at(i + 1, j - 1) + at(i + 1, j) + at(i + 1, j + 1) - at(i - 1, j - 1) - at(i - 1, j) - at(i - 1, j + 1)) / 3;
      const gy = (at(i - 1, j + 1) + at(i, j + 1) + at(i + 1, j + 1) - at(i - 1, j - 1) - at(i, j - 1) - at(i + 1, j - 1)) / 3;
      g[j * w + i] = Math.sqrt(gx * gx + gy * gy);
    }
  }
  return g;
}

/** GMSD of `test` against `reference`: RGB floats in [0, 1], w×h, row-major */
export function gmsd(test: ArrayLike<number>, reference: ArrayLike<number>, w: number, h: number): number {
  if (test.length !== w * h * 3 || reference.length !== w * h * 3) throw new Error(`gmsd: images must be ${w}×${h} RGB`);
  const a = lumaHalf(test, w, h);
  const b = lumaHalf(reference, w, h);
  const ga = gradient(a.y, a.w, a.h);
  const gb = gradient(b.y, b.w, b.h);
  const n = ga.length;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const s = (2 * ga[i]! * gb[i]! + C) / (ga[i]! * ga[i]! + gb[i]! * gb[i]! + C);
    sum += s;
    sq += s * s;
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}
