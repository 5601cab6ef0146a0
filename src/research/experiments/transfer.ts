/**
 * Fig. 15 (transfer): the same held-out images through models trained on different data, e.g. the
 * photo model and the Fashion-MNIST model on each other's test images. Each image is decomposed as
 * `stratum decompose` does at the model's size (forward pass, least-squares colours, swaps with the
 * model's bank) and its PSNR taken against the image; a table (model × data) and a picture (per data
 * set, its first images: the image, then each model's reconstruction).
 */
import { join } from 'node:path';
import { psnrOf } from '../../core/psnr.js';
import type { ImageSet } from '../../data/imageSet.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import type { Decomposer } from '../../model/decomposer.js';
import { decomposeImage } from '../../model/decomposeImage.js';

export interface TransferCell {
  model: string;
  data: string;
  psnr: number;
  images: number;
}

export async function transferTable(models: { name: string; model: Decomposer }[], sets: { name: string; set: ImageSet }[], out: string, show = 4): Promise<{ cells: TransferCell[]; markdown: string; picture: string }> {
  const S = models[0]!.model.cfg.size;
  for (const m of models) if (m.model.cfg.size !== S) throw new Error(`${m.name}: a ${m.model.cfg.size}² model; transfer compares models of one size (${models[0]!.name} is ${S}²)`);
  for (const d of sets) if (d.set.size !== S) throw new Error(`${d.name}: images of ${d.set.size}², the models are ${S}²`);
  const cells: TransferCell[] = [];
  const rows: (Tile | null)[][] = [];
  const px = S * S * 3;
  for (const d of sets) {
    const shown: Tile[][] = Array.from({ length: Math.min(show, d.set.n) }, (_, i) => [{ pixels: Float32Array.from(d.set.data.subarray(i * px, (i + 1) * px), (v) => v / 255), width: S, height: S }]);
    for (const m of models) {
      let sum = 0;
      for (let i = 0; i < d.set.n; i++) {
        const rgb = d.set.data.subarray(i * px, (i + 1) * px);
        const { canvas } = decomposeImage(m.model, rgb, {});
        sum += psnrOf(rgb, canvas, 1, 1 / 255);
        if (i < shown.length) shown[i]!.push({ pixels: canvas, width: S, height: S });
      }
      cells.push({ model: m.name, data: d.name, psnr: sum / d.set.n, images: d.set.n });
    }
    rows.push(...shown);
  }
  const head = `| model \\ data | ${sets.map((d) => `${d.name} (${d.set.n})`).join(' | ')} |`;
  const lines = [head, `|---|${sets.map(() => '---|').join('')}`];
  for (const m of models) lines.push(`| ${m.name} | ${sets.map((d) => `${cells.find((c) => c.model === m.name && c.data === d.name)!.psnr.toFixed(2)} dB`).join(' | ')} |`);
  const markdown = `${lines.join('\n')}\n`;
  writeFileAtomic(join(out, 'transfer.md'), [new TextEncoder().encode(markdown)]);
  const picture = join(out, 'transfer.png');
  await writeGrid(picture, rows, { scale: 3, gap: 2, columnLabels: ['image', ...models.map((m) => m.name)] });
  return { cells, markdown, picture };
}
