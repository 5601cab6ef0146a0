/**
 * The paper's Fig. 6 as a picture: held-out crops, each as the photo P, Stratum's render R of its
 * default decomposition, and the enhancer's E(R) (src/research/model/unet.ts), with the PSNR of R
 * and E(R) against P in the column captions (pooled over the pictured crops).
 */
import { psnrOf } from '../../core/psnr.js';
import * as tf from '../../core/tf.js';
import { batchTensor } from '../../data/imageSet.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import type { UNet } from '../model/unet.js';
import type { Pairs } from '../train/enhanceTrainer.js';

/** writes the grid (one row per crop: photo | render | enhanced); returns its path */
export async function enhanceFigure(net: UNet, pairs: Pairs, path: string, n = 8): Promise<string> {
  const S = pairs.photos.size;
  const px = S * S * 3;
  const idx = Array.from({ length: Math.min(n, pairs.photos.n) }, (_, i) => i);
  const r = batchTensor(pairs.renders, idx);
  const p = batchTensor(pairs.photos, idx);
  const e = tf.tidy(() => net.enhance(r).dataSync() as Float32Array);
  const [rv, pv] = [r.dataSync() as Float32Array, p.dataSync() as Float32Array];
  tf.dispose([r, p]);
  const tile = (v: Float32Array, i: number): Tile => ({ pixels: v.slice(i * px, (i + 1) * px), width: S, height: S });
  const rows = idx.map((i) => [tile(pv, i), tile(rv, i), tile(e, i)]);
  const mean = (v: Float32Array) => psnrOf(v, pv);
  await writeGrid(path, rows, { scale: S <= 64 ? 3 : 1, gap: 3, columnLabels: ['photo', `render ${mean(rv).toFixed(1)} dB`, `enhanced ${mean(e).toFixed(1)} dB`] });
  return path;
}
