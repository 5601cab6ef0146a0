/**
 * npm run bench:quality — Stratum against greedy shape fitting on the held-out photos (issue 8).
 *
 * On the held-out photos of the photo corpus, whole and centre-cropped (data spec `photos-whole`:
 * 11 wallpapers + 78 cut-out objects on wallpapers, src/research/data/photos.ts), at each --sizes in one
 * run: Stratum amortized (each --models file at its own training size, its layers rendered at the
 * benchmark size), Stratum + refinement (src/model/refine.ts, --refine-steps at the model's size),
 * geometrize (bench/geometrize.ts: triangles at alpha 128 and opaque rotated ellipses,
 * --geometrize-candidates × --geometrize-mutations, background = the mean colour) at --shapes
 * counts, one flat colour (the mean) and --colours-colour quantisation. Writes OUT/quality.md
 * (printed too), OUT/quality.json and OUT/quality-SIZE.png (--show images × methods).
 *
 *   npm run bench:quality                                  # the full benchmark (about 20 minutes on 2 cores)
 *   npm run bench:quality -- --sizes 32 --limit 10 --geometrize-candidates 10   # a quick look
 *   npm run bench:quality -- --models models/photo-T5.stratum,models/default.stratum,models/photo-T20.stratum
 */
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { useBackend, type BackendName } from '../src/backend/index.js';
import { Progress } from '../src/io/progress.js';
import { DEFAULT_MODEL } from '../src/cli/options.js';
import { subset } from '../src/data/imageSet.js';
import { loadPhotoSources, wholePhotos } from '../src/research/data/photos.js';
import { flatMethod, placedMethod, quantizeMethod, runQuality, stratumMethod, type Method } from './qualityHarness.js';
import type { Decomposer } from '../src/model/decomposer.js';
import { loadModel } from '../src/model/checkpoint.js';
import { geometrizeMethods } from './geometrize.js';

const intList = (name: string, min: number, max: number) => (v: string): number[] => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || !xs.every((x) => Number.isInteger(x) && x >= min && x <= max)) throw new InvalidArgumentError(`${name} must be a comma-separated list of integers from ${min} to ${max}, got '${v}'`);
  return xs;
};
const int = (name: string, min: number) => (v: string): number => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return x;
};
const positive = (name: string) => (v: string): number => {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
  return x;
};

const program = new Command('bench:quality')
  .description('Stratum vs greedy shape fitting (geometrize), a flat colour and quantisation on the held-out photos')
  .option('--sizes <list>', 'benchmark sizes', intList('--sizes', 8, 1024), [32, 64, 128])
  .option('--limit <n>', 'use only the first n photos (all 89 by default)', int('--limit', 1))
  .option('--models <files>', 'Stratum model files, comma-separated (one row each, plus one refined row each)', DEFAULT_MODEL)
  .option('--refine-steps <n>', 'refinement steps per image (0: no refinement rows)', int('--refine-steps', 0), 50)
  .option('--refine-lr <x>', 'refinement learning rate', positive('--refine-lr'), 0.02)
  .option('--shapes <list>', 'geometrize shape counts N', intList('--shapes', 1, 1000), [5, 10, 20])
  .option('--geometrize-candidates <n>', 'random candidate shapes per geometrize step', int('--geometrize-candidates', 1), 50)
  .option('--geometrize-mutations <n>', 'hill-climbing mutations per candidate', int('--geometrize-mutations', 1), 100)
  .option('--no-geometrize', 'leave out the geometrize rows')
  .option('--layers <list>', 'Stratum N-layer rows (encoder + placed layers, decompose --layers N), each timed against geometrize with N triangles (added to --shapes); empty: none', (v: string) => (v === '' ? [] : intList('--layers', 1, 1000)(v)), [] as number[])
  .option('--soft', 'add a soft row (decompose --soft) beside each N-layer row (crisp by default), at the same budget')
  .option('--budget-share <x>', "each N-layer row's time budget as a share of geometrize's time for N triangles at that size", positive('--budget-share'), 0.8)
  .option('--peers <list>', 'geometrize shapes: triangle, ellipse', 'triangle,ellipse')
  .option('--colours <n>', 'palette size of the quantisation row', int('--colours', 2), 20)
  .option('--show <n>', 'photos shown in each side-by-side picture', int('--show', 1), 6)
  .option('--seed <n>', "seed of geometrize's random shapes", int('--seed', 0), 1)
  .option('--out <dir>', 'output folder', 'runs/bench-quality')
  .option('--backend <name>', 'compute backend (auto, native, cpu, wasm)', 'auto')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

interface Opts {
  sizes: number[];
  limit?: number;
  models: string;
  refineSteps: number;
  refineLr: number;
  shapes: number[];
  geometrizeCandidates: number;
  geometrizeMutations: number;
  geometrize: boolean;
  layers: number[];
  budgetShare: number;
  soft?: boolean;
  peers: string;
  colours: number;
  show: number;
  seed: number;
  out: string;
  backend: string;
}

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<Opts>();
  if (!['auto', 'native', 'cpu', 'wasm'].includes(o.backend)) throw new Error(`--backend must be auto, native, cpu or wasm, got '${o.backend}'`);
  // every model is checked before the photos are decoded
  const files = o.models.split(',').map((s) => s.trim()).filter(Boolean);
  if (files.length === 0) throw new Error('--models needs at least one model file');
  for (const f of files) if (!existsSync(f)) throw new Error(`${f}: no such model file (--models)`);
  const backend = await useBackend(o.backend as BackendName);
  const models: { file: string; model: Decomposer }[] = files.map((file) => ({ file, model: loadModel(file).model }));

  const sizesNeeded = [...o.sizes, ...models.map((m) => m.model.cfg.size)];
  console.error(`decoding the held-out photos (photo corpus, test side) for ${Math.max(...sizesNeeded)}²…`);
  const src = await loadPhotoSources('test', Math.max(...sizesNeeded), (m) => console.error(m));
  const setAt = (size: number) => {
    const all = wholePhotos(src, size, { skipUniform: true });
    if (!o.limit || o.limit >= all.n) return all;
    const idx = Array.from({ length: o.limit }, (_, i) => i);
    return { ...subset(all, idx), names: all.names.slice(0, o.limit) };
  };

  const methods: Method[] = [];
  for (const { file, model } of models) {
    const label = `T=${model.cfg.T} (${basename(file)})`;
    const short = `T=${model.cfg.T}`;
    methods.push(stratumMethod(model, { label, short, encoderColours: true }));
    // a model with a shape bank: its layers before the swaps too (the bank is rendered here, at load, untimed)
    if (model.shapeBank()) methods.push(stratumMethod(model, { label, short, shapes: false }));
    methods.push(stratumMethod(model, { label, short }));
    if (o.refineSteps > 0) methods.push(stratumMethod(model, { label, short, refineSteps: o.refineSteps, refineLr: o.refineLr }));
  }
  const peers = o.peers.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of peers) if (p !== 'triangle' && p !== 'ellipse') throw new Error(`--peers takes triangle and ellipse, got '${p}'`);
  if (o.layers.length && (!o.geometrize || !peers.includes('triangle'))) throw new Error('--layers rows take their time budget from geometrize triangles: keep --geometrize and triangle in --peers');
  const counts = [...new Set([...o.shapes, ...o.layers])].sort((a, b) => a - b);
  if (o.geometrize) {
    for (const shape of peers as ('triangle' | 'ellipse')[]) {
      methods.push(...geometrizeMethods({ shape, counts, candidates: o.geometrizeCandidates, mutations: o.geometrizeMutations, seed: o.seed }));
    }
  }
  // N-layer rows after the triangles, whose time per image at N sets their budget
  const triangleRow = (N: number) => methods.find((m) => m.name.includes(' triangles') && new RegExp(`\\b${N} triangles`).test(m.name))?.name;
  for (const N of o.layers) {
    const peer = triangleRow(N);
    if (!peer) throw new Error(`no geometrize row with ${N} triangles`);
    methods.push(placedMethod(models[models.length - 1]!.model, { layers: N, budgetFrom: peer, budgetShare: o.budgetShare, short: `Stratum ${N}` }));
    if (o.soft) methods.push(placedMethod(models[models.length - 1]!.model, { layers: N, budgetFrom: peer, budgetShare: o.budgetShare, short: `Stratum ${N} soft`, crisp: false }));
  }
  methods.push(flatMethod(), quantizeMethod(o.colours));

  const n = setAt(o.sizes[0]!).n;
  const command = `npm run bench:quality -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');
  const title = `Held-out photos of the photo corpus (photos-whole without its near-uniform wallpapers, ${n} images), ${backend} backend, ${new Date().toISOString().slice(0, 10)}; \`${command}\``;
  const bar = new Progress(o.sizes.length * n * methods.length, 0, 'bench:quality ');
  const res = await runQuality({ sizes: o.sizes, setAt, methods, show: o.show, out: o.out, title, onProgress: (done, _total, info) => bar.update(done, info) });
  bar.finish();
  console.log(res.markdown);
  console.error(`wrote ${res.files.join(', ')}`);
  for (const m of models) m.model.dispose();
}

try {
  await main();
} catch (e) {
  const err = e as { code?: string; exitCode?: number; message?: string };
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') process.exit(0);
  if (err.code?.startsWith('commander.')) process.exit(err.exitCode || 2);
  process.stderr.write(`bench:quality: ${(err.message ?? String(e)).split('\n')[0]}\n`);
  process.exit(1);
}
