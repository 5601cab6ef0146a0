/** Figures people look at: targets, reconstructions, the canvas after each step and each layer's mask. */
import * as tf from '../../core/tf.js';
import { batchTensor, range, type ImageSet } from '../../data/imageSet.js';
import type { Decomposer } from '../../model/decomposer.js';
import { newCtx } from '../../model/nn.js';
import { colouredMaskTile, writeGrid, type Tile } from '../../eval/grid.js';

/**
 * For each of the first n images, two rows: [target | reconstruction | canvas after step 1..T]
 * and [ | | mask of layer 1..T shown in its colour].
 */
export async function decompositionGrid(path: string, model: Decomposer, set: ImageSet, n: number): Promise<void> {
  const S = model.cfg.size;
  const rows: (Tile | null)[][] = [];
  const idx = range(0, Math.min(n, set.n));
  const res = tf.tidy(() => {
    const x = batchTensor(set, idx);
    const { canvas, steps } = model.forward(x, newCtx(false), true);
    return {
      x: x.dataSync() as Float32Array,
      canvas: canvas.dataSync() as Float32Array,
      steps: steps.map((s) => ({ canvas: s.canvas.dataSync() as Float32Array, mask: s.mask.dataSync() as Float32Array, c: s.c.dataSync() as Float32Array })),
    };
  });
  const px = S * S;
  for (let i = 0; i < idx.length; i++) {
    const tile = (a: Float32Array): Tile => ({ pixels: a.slice(i * px * 3, (i + 1) * px * 3), width: S, height: S });
    rows.push([tile(res.x), tile(res.canvas), ...res.steps.map((s) => tile(s.canvas))]);
    rows.push([null, null, ...res.steps.map((s) => colouredMaskTile(s.mask.slice(i * px, (i + 1) * px), s.c.slice(i * 3, i * 3 + 3), S, S))]);
  }
  await writeGrid(path, rows, { scale: S <= 32 ? 3 : 1, columnLabels: ['target', 'result', ...res.steps.map((_, t) => `step ${t + 1}`)] });
}
