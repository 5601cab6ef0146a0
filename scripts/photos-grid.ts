/**
 * docs/results/photos-train.png (docs/photos.md): the first 64 training images of the photo corpus
 * as the trainer sees them (`photos:64` at 32², src/research/data/photos.ts), 4 rows of 16.
 *
 *   node --import tsx scripts/photos-grid.ts [OUT.png]
 */
import { loadDataset } from '../src/research/data/datasets.js';
import { writeGrid, type Tile } from '../src/eval/grid.js';

const out = process.argv[2] ?? 'docs/results/photos-train.png';
const set = await loadDataset('photos:64', { size: 32 });
const px = 32 * 32 * 3;
const tile = (i: number): Tile => ({ pixels: Float32Array.from(set.data.subarray(i * px, (i + 1) * px), (v) => v / 255), width: 32, height: 32 });
await writeGrid(out, Array.from({ length: 4 }, (_, r) => Array.from({ length: 16 }, (_, c) => tile(r * 16 + c))), { scale: 1, gap: 0 });
console.log(`wrote ${out}`);
