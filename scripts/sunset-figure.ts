/**
 * docs/results/sunset-100-layers.png (the README's picture): samples/sunset.jpg, its 10-layer
 * forward pass and its 100-layer decomposition (decompose --layers 100 --budget 3s), each rendered
 * at 512 pixels wide, with the PSNR of each render against the photo at that size.
 *
 *   node --import tsx scripts/sunset-figure.ts [OUT.png]
 */
import { useBackend } from '../src/backend/index.js';
import { frameSize, renderDocument } from '../src/core/document.js';
import { psnrOf } from '../src/core/psnr.js';
import { readImageExact, readImageFrame } from '../src/data/images.js';
import { writeGrid } from '../src/eval/grid.js';
import { softShare } from '../src/eval/soft.js';
import { loadModel } from '../src/model/checkpoint.js';
import { decomposeFrame } from '../src/model/decomposeFrame.js';

const out = process.argv[2] ?? 'docs/results/sunset-100-layers.png';
const IMAGE = 'samples/sunset.jpg';
await useBackend('auto');
const { model } = loadModel('models/default.stratum');
const frame = await readImageFrame(IMAGE, 2048);
const tiles = [];
const labels = [];
let size: [number, number] = [512, 512];
for (const [layers, budgetMs] of [[10, 0], [100, 3000]] as const) {
  const d = decomposeFrame(model, frame, { layers, budgetMs }, { image: 'sunset.jpg' });
  size = frameSize(d.doc, 512);
  const r = renderDocument(d.doc, size[0], size[1]);
  const truth = await readImageExact(IMAGE, size[0], size[1]);
  const p = psnrOf(truth, r.rgb, 1, 1 / 255);
  tiles.push({ pixels: r.rgb, width: size[0], height: size[1] });
  labels.push(`${layers} layers${budgetMs ? ` (${budgetMs / 1000} s)` : ''}: ${p.toFixed(2)} dB, soft share ${(100 * softShare(d.doc)).toFixed(0)} %`);
  console.log(labels[labels.length - 1]);
}
const input = Float32Array.from(await readImageExact(IMAGE, size[0], size[1]), (v) => v / 255);
await writeGrid(out, [[{ pixels: input, width: size[0], height: size[1] }, ...tiles]], { scale: 1, gap: 4, columnLabels: ['samples/sunset.jpg', ...labels] });
console.log(`wrote ${out}`);
