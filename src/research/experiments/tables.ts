/**
 * The paper's tables, reproduced at whatever scale the machine allows:
 *   table1  our model's held-out PSNR/SSIM over (T, K) = (5,10) (10,5) (10,10) (10,20) (20,10)
 *   table2  ours vs auto-encoder baselines with the same encoder and |z| = T(K+3) = 130 and 260,
 *           plus PNG-style quantisation to 20 colours (no learning)
 * Each row trains from scratch for `steps` steps (L1, Adam) on the training split and is measured on
 * the held-out split. Finished rows are cached in OUT/rows.json (shared by both tables), so a killed
 * run resumes where it stopped. Results: OUT/NAME.md, OUT/NAME.csv and OUT/NAME.png (reconstructions side by side).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALIBRATION_BATCHES, modelConfig, TRAIN_DEFAULTS, type EncoderKind } from '../../config.js';
import * as tf from '../../core/tf.js';
import { batchTensor, range, type ImageSet } from '../../data/imageSet.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { BaselineAE, BASELINES, DECODER_TABLES, latentSize, type BaselineKind } from '../model/baselines.js';
import { Decomposer } from '../../model/decomposer.js';
import { newCtx } from '../../model/nn.js';
import { Adam } from '../../core/adam.js';
import { batchIndices } from '../train/batches.js';
import { calibrateBatchNorm } from '../train/calibrate.js';
import { l1, optimiseStep } from '../train/step.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import { quantizeRgb } from '../eval/quantize.js';
import { ssim } from '../eval/ssim.js';
import { psnrOf } from '../../core/psnr.js';
import { trainingLoop } from '../train/loop.js';
import type { ParamStore } from '../../core/params.js';
import type { Ctx } from '../../model/nn.js';

export interface ExperimentOptions {
  table: 'table1' | 'table2';
  data: string;
  train: ImageSet;
  test: ImageSet;
  steps: number;
  batch: number;
  encoder: EncoderKind;
  out: string;
  seed: number;
  /** test images shown side by side */
  show: number;
  log?: (msg: string) => void;
}

export interface Row {
  method: string;
  T: number | '';
  K: number | '';
  latent: number | '';
  steps: number;
  psnr: number;
  ssim: number;
  secPerStep: number;
}

interface Entry {
  method: string;
  T?: number;
  K?: number;
  latent?: number;
  kind?: BaselineKind;
  quantize?: number;
}

export function plan(table: 'table1' | 'table2'): Entry[] {
  if (table === 'table1') return ([[5, 10], [10, 5], [10, 10], [10, 20], [20, 10]] as const).map(([T, K]) => ({ method: `Ours T=${T} K=${K}`, T, K, latent: latentSize(T, K) }));
  const rows: Entry[] = [];
  for (const T of [10, 20]) {
    const latent = latentSize(T, 10);
    rows.push({ method: `Ours (T=${T}, K=10)`, T, K: 10, latent });
    for (const kind of BASELINES) rows.push({ method: `${kind} |z|=${latent}`, kind, latent });
  }
  rows.push({ method: 'PNG quantisation, 20 colours', quantize: 20 });
  return rows;
}

/** reconstructions of the test set as one float array [n, S, S, 3] */
export function reconstructAll(f: (x: tf.Tensor4D) => tf.Tensor4D, test: ImageSet, batch = 64): Float32Array {
  const S = test.size;
  const out = new Float32Array(test.n * S * S * 3);
  for (let i = 0; i < test.n; i += batch) {
    const idx = range(i, Math.min(test.n, i + batch));
    const r = tf.tidy(() => f(batchTensor(test, idx)).dataSync() as Float32Array);
    out.set(r, i * S * S * 3);
  }
  return out;
}

export function scores(rec: Float32Array, test: ImageSet): { psnr: number; ssim: number } {
  const px = test.size * test.size * 3;
  let p = 0;
  let s = 0;
  for (let i = 0; i < test.n; i++) {
    const a = Float32Array.from(test.data.subarray(i * px, (i + 1) * px), (v) => v / 255);
    const b = rec.subarray(i * px, (i + 1) * px);
    p += psnrOf(a, b);
    s += ssim(a, b, test.size, test.size);
  }
  return { psnr: p / test.n, ssim: s / test.n };
}

async function runEntry(e: Entry, o: ExperimentOptions): Promise<{ row: Row; rec: Float32Array }> {
  const S = o.test.size;
  let rec: Float32Array;
  if (e.quantize) {
    const px = S * S * 3;
    rec = new Float32Array(o.test.n * px);
    for (let i = 0; i < o.test.n; i++) {
      const q = quantizeRgb(o.test.data.subarray(i * px, (i + 1) * px), S, S, e.quantize);
      for (let k = 0; k < px; k++) rec[i * px + k] = q[k]! / 255;
    }
    return { row: { method: e.method, T: '', K: '', latent: '', steps: 0, psnr: scores(rec, o.test).psnr, ssim: scores(rec, o.test).ssim, secPerStep: 0 }, rec };
  }
  const opt = new Adam(TRAIN_DEFAULTS);
  /** train `store` on L1(reconstruction, x) for o.steps steps; returns seconds per step */
  const fit = async (store: ParamStore, reconstruct: (x: tf.Tensor4D, ctx: Ctx) => tf.Tensor4D): Promise<number> => {
    const t0 = Date.now();
    await trainingLoop({
      steps: o.steps,
      label: `${e.method} `,
      quiet: !o.log,
      step: (step) => {
        const x = batchTensor(o.train, batchIndices(o.train.n, o.batch, o.seed, step));
        const { loss } = optimiseStep(store, opt, (ctx) => l1(reconstruct(x, ctx), x));
        x.dispose();
        return `L1 ${loss.toFixed(4)}`;
      },
    });
    return (Date.now() - t0) / 1000 / Math.max(1, o.steps);
  };
  let secPerStep: number;
  if (e.kind) {
    const m = new BaselineAE({ kind: e.kind, size: S, latent: e.latent!, encoder: o.encoder, smallChannels: [32, 64, 64, 64], hidden: 512 }, o.seed);
    secPerStep = await fit(m.store, (x, ctx) => m.forward(x, ctx));
    rec = reconstructAll((x) => m.forward(x, newCtx(false)), o.test);
    m.dispose();
  } else {
    const m = new Decomposer(modelConfig({ T: e.T!, size: S, encoder: o.encoder, mask: { K: e.K! } }), o.seed);
    secPerStep = await fit(m.store, (x, ctx) => m.forward(x, ctx).canvas);
    calibrateBatchNorm(m, o.train, CALIBRATION_BATCHES, o.batch);
    rec = reconstructAll((x) => m.forward(x, newCtx(false)).canvas, o.test);
    m.dispose();
  }
  opt.dispose();
  const sc = scores(rec, o.test);
  return { row: { method: e.method, T: e.T ?? '', K: e.K ?? '', latent: e.latent ?? '', steps: o.steps, psnr: sc.psnr, ssim: sc.ssim, secPerStep }, rec };
}

/** a column caption for the side-by-side picture */
function shortLabel(r: Row): string {
  if (r.T !== '') return `ours T${r.T} K${r.K}`;
  if (r.latent !== '') return r.method.replace(/ \|z\|=/, ' z');
  return r.method.startsWith('PNG') ? 'PNG 20 col.' : r.method;
}

export function markdownTable(rows: Row[], o: { data: string; steps: number; encoder: string; testN: number }): string {
  const head = '| method | T | K | size of z | training steps | PSNR (dB) | SSIM | s/step |\n|---|---|---|---|---|---|---|---|\n';
  const cell = (v: string) => v.replace(/\|/g, '\\|');
  const body = rows.map((r) => `| ${cell(r.method)} | ${r.T} | ${r.K} | ${r.latent} | ${r.steps} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(3)} | ${r.secPerStep ? r.secPerStep.toFixed(2) : ''} |`).join('\n');
  return `Data: \`${o.data}\`, ${o.testN} held-out images, ${o.encoder} encoder, ${o.steps} training steps per row.\n\n${head}${body}\n`;
}

export function csvTable(rows: Row[]): string {
  return 'method,T,K,latent,steps,psnr,ssim,sec_per_step\n' + rows.map((r) => [JSON.stringify(r.method), r.T, r.K, r.latent, r.steps, r.psnr.toFixed(4), r.ssim.toFixed(4), r.secPerStep.toFixed(4)].join(',')).join('\n') + '\n';
}

/**
 * What a row trains and measures, independent of its label, so the two tables share a result when
 * they hold the same configuration (table 2's "Ours" rows are table 1's T=10/T=20, K=10).
 */
function cacheKey(e: Entry, o: ExperimentOptions): string {
  const what = e.quantize ? `quantize:${e.quantize}` : e.kind ? `${e.kind}:z=${e.latent}` : `ours:T=${e.T}:K=${e.K}`;
  return `${what}|${o.data}|${o.steps}|${o.encoder}|${o.batch}|${o.seed}|${o.test.n}`;
}

/** a table's rows can be trained at this image size (the baselines' decoders start at S/16 and S/32) */
export function checkTableSize(table: 'table1' | 'table2', size: number): void {
  if (table === 'table2' && size % DECODER_TABLES.resup.startDivisor !== 0) throw new Error(`--size ${size}: table2's ResNet decoder (supplementary Table 7) starts at S/${DECODER_TABLES.resup.startDivisor}, so the size must be a multiple of ${DECODER_TABLES.resup.startDivisor}`);
}

export async function runExperiment(o: ExperimentOptions): Promise<Row[]> {
  checkTableSize(o.table, o.test.size);
  mkdirSync(o.out, { recursive: true });
  const cachePath = join(o.out, 'rows.json');
  const cache: Record<string, { row: Row; rec: number[] }> = existsSync(cachePath) ? JSON.parse(readFileSync(cachePath, 'utf8')) : {};
  const S = o.test.size;
  const shown = Math.min(o.show, o.test.n);
  const px = S * S * 3;
  const rows: Row[] = [];
  const columns: Float32Array[] = [];
  for (const e of plan(o.table)) {
    const key = cacheKey(e, o);
    let hit = cache[key];
    if (!hit) {
      o.log?.(`${o.table}: ${e.method} (${e.quantize ? 'no training' : `${o.steps} steps`})…`);
      const { row, rec } = await runEntry(e, o);
      hit = { row, rec: Array.from(rec.subarray(0, shown * px)) };
      cache[key] = hit;
      writeFileAtomic(cachePath, [new TextEncoder().encode(JSON.stringify(cache))]);
      o.log?.(`${o.table}: ${e.method}: PSNR ${row.psnr.toFixed(2)} dB, SSIM ${row.ssim.toFixed(3)}`);
    }
    rows.push({ ...hit.row, method: e.method });
    columns.push(Float32Array.from(hit.rec));
  }
  const meta = { data: o.data, steps: o.steps, encoder: o.encoder, testN: o.test.n };
  writeFileAtomic(join(o.out, `${o.table}.md`), [new TextEncoder().encode(markdownTable(rows, meta))]);
  writeFileAtomic(join(o.out, `${o.table}.csv`), [new TextEncoder().encode(csvTable(rows))]);
  const grid: Tile[][] = range(0, shown).map((i) => [
    { pixels: Float32Array.from(o.test.data.subarray(i * px, (i + 1) * px), (v) => v / 255), width: S, height: S },
    ...columns.map((c) => ({ pixels: c.slice(i * px, (i + 1) * px), width: S, height: S })),
  ]);
  await writeGrid(join(o.out, `${o.table}.png`), grid, { scale: S <= 32 ? 3 : 1, columnLabels: ['target', ...rows.map(shortLabel)] });
  return rows;
}
