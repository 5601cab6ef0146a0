/**
 * Edge sharpness: the 99th percentile of the luminance gradient magnitude |∇L| per pixel, in grey
 * levels of 255. A resolution-free edge keeps it when rendered bigger, an interpolated one divides
 * it by the upsampling factor, a blur lowers it (Fig. 5c, Fig. 9, Fig. 8, the enhancer of Fig. 6).
 */
/** 99th percentile of the luminance gradient magnitude, in grey levels per pixel */
export function edgeSharpness(rgb: ArrayLike<number>, w: number, h: number, scale = 255): number {
  const L = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) L[i] = scale * (0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!);
  const g: number[] = [];
  for (let y = 0; y < h - 1; y++) for (let x = 0; x < w - 1; x++) g.push(Math.hypot(L[y * w + x + 1]! - L[y * w + x]!, L[(y + 1) * w + x]! - L[y * w + x]!));
  g.sort((a, b) => a - b);
  return g.length ? g[Math.floor(0.99 * (g.length - 1))]! : 0;
}

