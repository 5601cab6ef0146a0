/**
 * SSIM (Wang et al. 2004) with an 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, data
 * range 1, computed per channel over 'valid' windows and averaged — the usual definition
 * (skimage's structural_similarity with gaussian_weights=True). Images smaller than the window
 * use a window clipped to the image.
 */
const C1 = (0.01 * 1) ** 2;
const C2 = (0.03 * 1) ** 2;

function gaussian(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const h = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += g[i] = Math.exp(-((i - h) ** 2) / (2 * sigma * sigma));
  return g.map((v) => v / s);
}

/** SSIM of two images [H, W, C] in [0, 1] */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, width: number, height: number, channels = 3): number {
  const win = Math.min(11, width, height) | 1;
  const w = gaussian(win, 1.5 * (win / 11));
  const oh = height - win + 1;
  const ow = width - win + 1;
  let total = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
        for (let i = 0; i < win; i++) {
          for (let j = 0; j < win; j++) {
            const k = w[i]! * w[j]!;
            const idx = ((y + i) * width + (x + j)) * channels + c;
            const u = a[idx]!;
            const v = b[idx]!;
            mx += k * u;
            my += k * v;
            sxx += k * u * u;
            syy += k * v * v;
            sxy += k * u * v;
          }
        }
        const vx = sxx - mx * mx;
        const vy = syy - my * my;
        const cxy = sxy - mx * my;
        total += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      }
    }
  }
  return total / (channels * oh * ow);
}
