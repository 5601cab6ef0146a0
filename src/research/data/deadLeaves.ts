/**
 * Synthetic "dead leaves" images: opaque coloured discs and rectangles dropped one over another
 * on a coloured background. Exactly the kind of image a few single-colour layers can build, so
 * they make fast, meaningful tests.
 */
import { mulberry32 } from '../../core/random.js';
import type { ImageSet } from '../../data/imageSet.js';

export interface DeadLeavesOptions {
  n: number;
  size: number;
  seed?: number;
  /** leaves per image: uniform in [minLeaves, maxLeaves] */
  minLeaves?: number;
  maxLeaves?: number;
}

export function deadLeaves(o: DeadLeavesOptions): ImageSet {
  const { n, size } = o;
  const rng = mulberry32(o.seed ?? 0);
  const lo = o.minLeaves ?? 1;
  const hi = o.maxLeaves ?? 4;
  const data = new Uint8Array(n * size * size * 3);
  const img = new Float32Array(size * size * 3);
  for (let i = 0; i < n; i++) {
    const bg = [rng(), rng(), rng()];
    for (let p = 0; p < size * size; p++) img.set(bg, p * 3);
    const leaves = lo + Math.floor(rng() * (hi - lo + 1));
    for (let l = 0; l < leaves; l++) {
      const cx = rng();
      const cy = rng();
      const rx = 0.1 + 0.3 * rng();
      const ry = rng() < 0.5 ? rx : 0.1 + 0.3 * rng();
      const disc = rng() < 0.5;
      const col = [rng(), rng(), rng()];
      for (let y = 0; y < size; y++) {
        const v = (y + 0.5) / size;
        for (let x = 0; x < size; x++) {
          const u = (x + 0.5) / size;
          const inside = disc ? ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1 : Math.abs(u - cx) <= rx && Math.abs(v - cy) <= ry;
          if (inside) img.set(col, (y * size + x) * 3);
        }
      }
    }
    const off = i * size * size * 3;
    for (let j = 0; j < img.length; j++) data[off + j] = Math.round(img[j]! * 255);
  }
  return { n, size, data };
}
