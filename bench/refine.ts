/**
 * npm run bench:refine — PSNR and seconds per image of refinement (issue 9) on the held-out
 * photos (data spec photos-whole), against geometrize (triangles, alpha 128, 50 candidates × 100
 * mutations per shape, background = the image's mean colour) at the same size and shape count.
 *
 * For each fit size F and layer count N: the amortized model's N layers (the encoder run past
 * its T steps when N > T) rendered at F², then refined at F² with each time budget.
 * Seconds per image are wall time of the decomposition + refinement (or of geometrize).
 *
 *   npm run bench:refine -- --images 6 --sizes 32,64,128 --layers 10,20 --budgets 0.5,2,10
 */
import { Command } from 'commander';
import { loadavg } from 'node:os';
import { basename } from 'node:path';
import { geometrizeRun } from './geometrize.js';
import { mixSeed } from '../src/core/random.js';
import { psnrOf } from '../src/core/psnr.js';
import { useBackend } from '../src/backend/index.js';
import { loadPhotoSources, wholePhotos } from '../src/research/data/photos.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { refineDecomposition, type RefineDocumentOptions } from '../src/model/refineDocument.js';
import { loadModel } from '../src/model/checkpoint.js';
import { DEFAULT_MODEL } from '../src/cli/options.js';

const o = new Command()
  .option('--model <file>', 'model', DEFAULT_MODEL)
  .option('--images <n>', 'held-out photos (evenly spaced over photos-whole)', '6')
  .option('--sizes <list>', 'fit sizes', '32,64,128')
  .option('--layers <list>', 'layer counts N', '10,20')
  .option('--budgets <list>', 'refinement budgets in seconds', '0.5,2,10')
  .option('--pixels <n>', 'pixels per refinement step (0: all)')
  .option('--stats-size <n>', 'GroupNorm statistics grid while optimising (0: reference)')
  .option('--lr <x>', 'Adam learning rate for p')
  .option('--clock <wall|cpu>', 'what the budgets count: wall time, or this process\'s CPU time (a loaded shared machine)', 'wall')
  .option('--no-least-squares', 'colours by Adam instead of least squares')
  .option('--greedy <n>', 'add n greedy layers before refining (on top of the N from the model)', '0')
  .option('--no-geometrize', 'skip the geometrize rows')
  .parse()
  .opts();

const list = (s: string) => s.split(',').map(Number);
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

await useBackend('native');
const { model } = loadModel(o.model);
const S = model.cfg.size;
const count = Number(o.images);
const whole = async (size: number) => wholePhotos(await loadPhotoSources('test', size), size, { skipUniform: true });
const small = await whole(S);
const pick = Array.from({ length: Math.min(count, small.n) }, (_, i) => Math.floor(((i + 0.5) * small.n) / Math.min(count, small.n)));
const refineOpts: RefineDocumentOptions = {};
if (o.pixels !== undefined) refineOpts.pixels = Number(o.pixels);
if (o.statsSize !== undefined) refineOpts.statsSize = Number(o.statsSize);
if (o.lr !== undefined) refineOpts.lr = Number(o.lr);
refineOpts.leastSquares = o.leastSquares;
if (o.clock !== 'wall' && o.clock !== 'cpu') throw new Error(`--clock must be wall or cpu, got ${o.clock}`);
refineOpts.clock = o.clock;

console.log(`model ${basename(o.model)} (${model.cfg.encoder} encoder, T=${model.cfg.T}, K=${model.cfg.mask.K}, ${S}²); ${pick.length} of ${small.n} held-out photos (photos-whole without near-uniform wallpapers: ${pick.join(',')}); load average ${loadavg().map((v) => v.toFixed(1)).join(' ')}`);
console.log(`refinement options: ${JSON.stringify(refineOpts)}, greedy ${o.greedy}`);
console.log('\n| method | size | N | budget | PSNR (dB) | s / image | CPU s / image | steps |\n|---|---|---|---|---|---|---|---|');
let cpuMark = process.cpuUsage();
/** CPU seconds of this process (all threads) since the last call: load-independent, unlike wall time */
const cpuSince = () => {
  const d = process.cpuUsage(cpuMark);
  cpuMark = process.cpuUsage();
  return (d.user + d.system) / 1e6;
};
const row = (m: string, F: number, N: number, budget: string, p: number[], s: number[], cpu: number, steps = '') =>
  console.log(`| ${m} | ${F}² | ${N} | ${budget} | ${mean(p).toFixed(2)} | ${mean(s).toFixed(2)} | ${(cpu / p.length).toFixed(2)} | ${steps} |`);

for (const F of list(o.sizes)) {
  const big = F === S ? small : await whole(F);
  const targets = pick.map((i) => Float32Array.from(big.data.subarray(i * F * F * 3, (i + 1) * F * F * 3), (v) => v / 255));
  for (const N of list(o.layers)) {
    cpuSince();
    const docs = pick.map((i) => {
      const t0 = performance.now();
      const d = decomposeImage(model, small.data.subarray(i * S * S * 3, (i + 1) * S * S * 3), { layers: N });
      return { doc: d.doc, seconds: (performance.now() - t0) / 1000 };
    });
    const decomposeCpu = cpuSince();
    const amortized = docs.map((d, k) => refineDecomposition(d.doc, { rgb: targets[k]!, size: F }, { noOptimise: true }).psnrAfter);
    cpuSince();
    row('amortized', F, N, '-', amortized, docs.map((d) => d.seconds), decomposeCpu);
    for (const b of list(o.budgets)) {
      const ps: number[] = [];
      const ss: number[] = [];
      const st: number[] = [];
      docs.forEach((d, k) => {
        const r = refineDecomposition(d.doc, { rgb: targets[k]!, size: F }, { ...refineOpts, budgetMs: b * 1000, addLayers: Number(o.greedy) });
        ps.push(r.psnrAfter);
        ss.push(d.seconds + r.seconds);
        st.push(r.refine!.steps);
      });
      row(`refined${Number(o.greedy) ? ` +${o.greedy} greedy` : ''}`, F, N, `${b} s${o.clock === 'cpu' ? ' CPU' : ''}`, ps, ss, cpuSince() + decomposeCpu, `${mean(st).toFixed(0)}`);
    }
    if (o.geometrize) {
      cpuSince();
      const ps: number[] = [];
      const ss: number[] = [];
      pick.forEach((i) => {
        const bytes = big.data.subarray(i * F * F * 3, (i + 1) * F * F * 3);
        // the quality benchmark's peer, seeded per photo (bench/geometrize.ts): reproducible
        const r = geometrizeRun(bytes, F, { shape: 'triangle', counts: [N], candidates: 50, mutations: 100 }, mixSeed(1, i + 1)).get(N)!;
        ss.push(r.seconds);
        ps.push(psnrOf(r.render!, targets[pick.indexOf(i)]!));
      });
      row('geometrize triangles', F, N, '-', ps, ss, cpuSince());
    }
  }
}
console.log(`\nload average at the end ${loadavg().map((v) => v.toFixed(1)).join(' ')}`);
