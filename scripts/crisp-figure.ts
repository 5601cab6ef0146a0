/**
 * docs/results/sunset-crisp.png: samples/sunset.jpg decomposed into 100 and 300 layers, the default
 * (crisp: every layer a flat region with an anti-aliased edge) against --soft (a layer may be a
 * wash), each rendered at 512 pixels wide, with its PSNR against the photo at that size and its soft
 * share. Fixed search effort (no budget), so the picture does not depend on the machine's load.
 *
 *   node --import tsx scripts/crisp-figure.ts [OUT.png]
 */
import { useBackend } from '../src/backend/index.js';
import { frameSize, renderDocument } from '../src/core/document.js';
import { psnrOf } from '../src/core/psnr.js';
import { readImageExact, readImageFrame } from '../src/data/images.js';
import { writeGrid, type Tile } from '../src/eval/grid.js';
import { softShare } from '../src/eval/soft.js';
import { loadModel } from '../src/model/checkpoint.js';
import { decomposePipeline } from '../src/pipeline/decompose.js';

const out = process.argv[2] ?? 'docs/results/sunset-crisp.png';
const IMAGE = 'samples/sunset.jpg';
await useBackend('auto');
const { model } = loadModel('models/default.stratum');
const frame = await readImageFrame(IMAGE, 2048);
const rows: (Tile | null)[][] = [];
const labels: string[][] = [];
let size: [number, number] = [512, 512];
for (const layers of [100, 300]) {
  const row: Tile[] = [];
  const names: string[] = [];
  for (const crisp of [true, false]) {
    const t0 = performance.now();
    const d = decomposePipeline(model, frame, { layers, crisp }, { image: 'sunset.jpg' });
    const s = (performance.now() - t0) / 1000;
    size = frameSize(d.doc, 512);
    const r = renderDocument(d.doc, size[0], size[1]);
    const truth = await readImageExact(IMAGE, size[0], size[1]);
    const p = psnrOf(truth, r.rgb, 1, 1 / 255);
    row.push({ pixels: r.rgb, width: size[0], height: size[1] });
    names.push(`${layers} layers${crisp ? '' : ', --soft'}: ${p.toFixed(2)} dB, soft ${(100 * softShare(d.doc)).toFixed(0)} %`);
    console.log(`${names[names.length - 1]} (${s.toFixed(1)} s)`);
  }
  rows.push(row);
  labels.push(names);
}
const input = Float32Array.from(await readImageExact(IMAGE, size[0], size[1]), (v) => v / 255);
await writeGrid(out, [[{ pixels: input, width: size[0], height: size[1] }, ...rows[0]!], [null, ...rows[1]!]], { scale: 1, gap: 4, columnLabels: ['samples/sunset.jpg', 'default, crisp (rows: 100, 300 layers)', '--soft'] });
console.log(`wrote ${out}`);
for (const l of labels) console.log(l.join(' | '));
