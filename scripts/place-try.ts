// quick A/B: encoder base + greedy placed layers vs geometrize triangles at one size
import { useBackend } from '../src/backend/index.js';
import { loadModel } from '../src/model/checkpoint.js';
import { loadPhotoSources, wholePhotos } from '../src/research/data/photos.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { decomposeFrame, placeBankOf } from '../src/model/decomposeFrame.js';
import { renderDocument } from '../src/core/document.js';
import { softShareOfMasks } from '../src/eval/soft.js';
import { renderLayers } from '../src/core/render.js';
import { psnrOf } from '../src/core/psnr.js';
import { geometrizeRun } from '../bench/geometrize.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { PLACE_DEFAULTS } from '../src/config.js';

const size = Number(process.env.SIZE ?? 256);
const Ns = (process.env.NS ?? '20,50,100').split(',').map(Number);
const limit = Number(process.env.LIMIT ?? 4);
const geo = process.env.GEO !== '0';
await useBackend('native');
const { model } = loadModel(process.env.MODEL ?? 'models/default.stratum');
const S = model.cfg.size;
const src = await loadPhotoSources('test', size);
const set = wholePhotos(src, size, { skipUniform: true });
const small = wholePhotos(src, S, { skipUniform: true });
const bank0 = model.shapeBank()!;
const D = Number(process.env.D ?? PLACE_DEFAULTS.bankShapes);
let t = performance.now();
for (const [k, v] of Object.entries(process.env)) if (k.startsWith('PD_')) (PLACE_DEFAULTS as Record<string, number>)[k.slice(3)] = Number(v);
const bank = placeBankOf(model)!;
console.log(`bank ${D} shapes at ${bank.B}²: ${((performance.now() - t) / 1000).toFixed(2)} s`);
const res: Record<string, number[]> = {};
const add = (k: string, v: number) => (res[k] ??= []).push(v);
for (let n = 0; n < Math.min(limit, set.n); n++) {
  const rgb = set.data.subarray(n * size * size * 3, (n + 1) * size * size * 3);
  const target = Float32Array.from(rgb, (v) => v / 255);
  for (const N of Ns) {
    const budgetMs = process.env.BUDGET ? Number(JSON.parse(process.env.BUDGET)[String(N)]) : 0;
    t = performance.now();
    const d = decomposeFrame(model, { width: size, height: size, rgb }, { layers: N, budgetMs, crisp: process.env.CRISP === '1', placeRefineSteps: Number(process.env.REFINE ?? PLACE_DEFAULTS.refineSteps) });
    const tp = performance.now();
    const r = renderDocument(d.doc, size, size, { keepMasks: true });
    add(`N=${N} soft`, softShareOfMasks(r.masks!, d.doc.layers.map((l) => l.opacity ?? 1)));
    const te = performance.now();
    add(`N=${N} stratum`, psnrOf(target, r.rgb));
    add(`N=${N} approx`, psnrOf(d.fit.target, d.fit.canvas));
    add(`N=${N} time(fit)`, (tp - t) / 1000);
    add(`N=${N} time(render)`, (te - tp) / 1000);
  }
  if (geo) {
    const file = `/tmp/geo-${size}-${n}-${Ns.join('_')}.json`;
    let rows: Record<string, [number, number]>;
    if (existsSync(file)) rows = JSON.parse(readFileSync(file, 'utf8'));
    else {
      const g = geometrizeRun(rgb, size, { shape: 'triangle', counts: Ns, candidates: 50, mutations: 100 }, n + 1);
      rows = Object.fromEntries(Ns.map((N) => [N, [psnrOf(target, g.get(N)!.render), g.get(N)!.seconds]]));
      writeFileSync(file, JSON.stringify(rows));
    }
    for (const N of Ns) {
      add(`N=${N} geometrize`, rows[N]![0]);
      add(`N=${N} geo time`, rows[N]![1]);
      if (process.env.PER) console.log(`image ${n} N=${N}: stratum ${res[`N=${N} stratum`]!.at(-1)!.toFixed(2)} geometrize ${rows[N]![0].toFixed(2)} soft ${res[`N=${N} soft`]!.at(-1)!.toFixed(2)}`);
    }
  }
}
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(24), (v.reduce((a, b) => a + b, 0) / v.length).toFixed(3));
