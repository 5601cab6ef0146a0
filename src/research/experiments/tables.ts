/**
 * The paper's tables, reproduced at whatever scale the machine allows:
 *   table1  our model's held-out PSNR/SSIM over (T, K) = (5,10) (10,5) (10,10) (10,20) (20,10)
 *   table2  ours vs auto-encoder baselines with the same encoder and |z| = T(K+3) = 130 and 260,
 *           plus PNG-style quantisation to 20 colours (no learning)
 * Each row trains from scratch for `steps` steps (L1, Adam) on the training split and is measured on
 * the held-out split. Finished rows are cached in OUT/rows.json (shared by both tables); the row in
 * training writes its state every saveEvery steps (OUT/rows/, rowState.ts), so a killed run resumes
 * at the row and step where it stopped. Every evalEvery steps and at the last a row's held-out PSNR
 * on the first evalImages held-out images goes to OUT/curves.jsonl (cut back to the resumed step on
 * resume).
 * Results: OUT/NAME.md, OUT/NAME.csv, OUT/NAME.png (reconstructions side by side) and
 * OUT/NAME-curves.png (held-out PSNR against step, one line per row).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CALIBRATION_BATCHES, EXPERIMENT_DEFAULTS, modelConfig, TRAIN_DEFAULTS, type EncoderKind } from '../../config.js';
import * as tf from '../../core/tf.js';
import { batchTensor, imageSet, range, type ImageSet } from '../../data/imageSet.js';
import { removeOrphanTempFiles, writeFileAtomic } from '../../io/atomicFile.js';
import { BaselineAE, BASELINES, DECODER_TABLES, latentSize, type BaselineKind } from '../model/baselines.js';
import { Decomposer } from '../../model/decomposer.js';
import { newCtx } from '../../model/nn.js';
import { Adam } from '../../core/adam.js';
import { batchIndices } from '../train/batches.js';
import { calibrateBatchNorm } from '../train/calibrate.js';
import { l1, mse, optimiseStep } from '../train/step.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import { quantizeRgb } from '../eval/quantize.js';
import { ssim } from '../eval/ssim.js';
import { psnrOf } from '../../core/psnr.js';
import { MetricsLog, readRows, trainingLoop } from '../train/loop.js';
import type { Ctx } from '../../model/nn.js';
import { plotPanels } from '../eval/plot.js';
import { lateOrder, lateSpread, orderLastChanged, rowSeries, type RowCurve } from '../eval/rowCurves.js';
import { lockRunFolder } from '../io/runLock.js';
import { loadRowState, rowStatePath, saveRowState, ROWS_DIR } from './rowState.js';

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
  /** write the training row's state every this many steps (default EXPERIMENT_DEFAULTS.saveEvery) */
  saveEvery?: number;
  /** held-out PSNR on the first evalImages held-out images every this many steps (EXPERIMENT_DEFAULTS) */
  evalEvery?: number;
  evalImages?: number;
  /** only the plan's rows whose names hold one of these ("T=10 K=10", or "T=10:K=10"); absent: all */
  rows?: string[];
  /** Adam's learning rate (absent: TRAIN_DEFAULTS.lr, 1e-3, as the rows of 3–5 Dec were trained) */
  lr?: number;
  /** clip each step's gradient norm to this (0 or absent: off, as the rows of 3–4 Dec were trained) */
  clip?: number;
  /**
   * the reconstruction loss (absent: 'l1', the paper's). 'mse' is for a baseline that L1 kills: on
   * Fashion-MNIST, MLP-xy starts nearly flat, and L1's optimum for a flat image is the median pixel,
   * black, where its sigmoid saturates (docs/results.md)
   */
  loss?: 'l1' | 'mse';
  /**
   * our rows feed the canvas to the encoder detached, as the authors' code does (`canvas.detach()`):
   * docs/photos.md traced the photo model's collapse to the canvas gradient (absent: false, as the rows
   * of 3–5 Dec were trained; the baselines have no canvas)
   */
  stopCanvasGrad?: boolean;
  /**
   * train nothing: the table, its picture and its curves from the rows finished so far (OUT/rows.json);
   * a row in training (points in curves.jsonl, not finished) shows its curve so far, marked as such
   */
  finishedOnly?: boolean;
  log?: (msg: string) => void;
  /** called after every training step (and its evaluation, before its save) with the row's cache key: tests stop a run there by throwing, as a kill would */
  afterStep?: (row: string, step: number) => void;
}

/** a line of OUT/curves.jsonl: a row's held-out PSNR (first evalImages held-out images) after `step` steps */
export interface CurvePoint {
  /** the row's cache key */
  row: string;
  method: string;
  step: number;
  psnr: number;
  /** seconds spent in training steps so far */
  seconds: number;
}

export const CURVES_FILE = 'curves.jsonl';
/** the finished rows, by cache key (shared by both tables) */
export const ROWS_FILE = 'rows.json';
export type RowCache = Record<string, { row: Row; rec: number[] }>;

/** OUT/rows.json ({} where there is none yet); a file that is not a table's rows is a one-line error naming it */
export function readRowCache(out: string): RowCache {
  const path = join(out, ROWS_FILE);
  if (!existsSync(path)) return {};
  try {
    const v = JSON.parse(readFileSync(path, 'utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw new Error(`${path}: not a table's rows.json (${(e as Error).message})`);
  }
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
  /** the steps at which the row resumed from a compact state (weights in bf16, Adam restarted; rowState.ts) */
  compactResumes?: number[];
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

/** the plan's rows that o.rows names (all without it); a name that matches none is refused in one line */
export function chosenRows(o: Pick<ExperimentOptions, 'table' | 'rows'>): Entry[] {
  const all = plan(o.table);
  if (!o.rows?.length) return all;
  const names = o.rows.map((r) => r.trim().replace(/:/g, ' '));
  const unknown = names.filter((n) => !all.some((e) => e.method.includes(n)));
  if (unknown.length) throw new Error(`--rows ${unknown.join(',')}: ${o.table} has no such row (its rows: ${all.map((e) => e.method).join('; ')})`);
  return all.filter((e) => names.some((n) => e.method.includes(n)));
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

/** mean PSNR and SSIM over the images (SSIM left at NaN with withSsim false) */
export function scores(rec: Float32Array, test: ImageSet, withSsim = true): { psnr: number; ssim: number } {
  const px = test.size * test.size * 3;
  let p = 0;
  let s = 0;
  for (let i = 0; i < test.n; i++) {
    const a = Float32Array.from(test.data.subarray(i * px, (i + 1) * px), (v) => v / 255);
    const b = rec.subarray(i * px, (i + 1) * px);
    p += psnrOf(a, b);
    if (withSsim) s += ssim(a, b, test.size, test.size);
  }
  return { psnr: p / test.n, ssim: withSsim ? s / test.n : NaN };
}

/** the first n images of a set */
const firstImages = (set: ImageSet, n: number): ImageSet => {
  const k = Math.min(n, set.n);
  return imageSet(k, set.size, set.data.subarray(0, k * set.size * set.size * 3));
};

async function runEntry(e: Entry, o: ExperimentOptions, key: string, saved: () => Promise<void>): Promise<{ row: Row; rec: Float32Array }> {
  if (!e.quantize) return trainRow(e, o, key, saved);
  const S = o.test.size;
  const px = S * S * 3;
  const rec = new Float32Array(o.test.n * px);
  for (let i = 0; i < o.test.n; i++) {
    const q = quantizeRgb(o.test.data.subarray(i * px, (i + 1) * px), S, S, e.quantize);
    for (let k = 0; k < px; k++) rec[i * px + k] = q[k]! / 255;
  }
  const sc = scores(rec, o.test);
  return { row: { method: e.method, T: '', K: '', latent: '', steps: 0, psnr: sc.psnr, ssim: sc.ssim, secPerStep: 0 }, rec };
}

/**
 * Train one row on L1(reconstruction, x) for o.steps steps from its saved state (or from scratch),
 * saving the state every saveEvery steps and appending its held-out curve every evalEvery steps;
 * then measure it on the whole held-out split. `saved` runs after every save (redraws the curves).
 */
export async function trainRow(e: Entry, o: ExperimentOptions, key: string, saved: () => Promise<void>): Promise<{ row: Row; rec: Float32Array }> {
  const S = o.test.size;
  const model = e.kind
    ? new BaselineAE({ kind: e.kind, size: S, latent: e.latent!, encoder: o.encoder, smallChannels: [32, 64, 64, 64], hidden: 512 }, o.seed)
    : new Decomposer(modelConfig({ T: e.T!, size: S, encoder: o.encoder, stopCanvasGrad: o.stopCanvasGrad ?? false, mask: { K: e.K! } }), o.seed);
  const reconstruct = (x: tf.Tensor4D, ctx: Ctx): tf.Tensor4D => (model instanceof Decomposer ? model.forward(x, ctx).canvas : model.forward(x, ctx));
  /** inference: the per-step BatchNorm statistics of our model measured first (training does not use them) */
  const inference = (set: ImageSet): Float32Array => {
    if (model instanceof Decomposer) calibrateBatchNorm(model, o.train, CALIBRATION_BATCHES, o.batch);
    return reconstructAll((x) => reconstruct(x, newCtx(false)), set);
  };
  const opt = new Adam({ ...TRAIN_DEFAULTS, lr: o.lr ?? TRAIN_DEFAULTS.lr });
  const [loss, lossName] = o.loss === 'mse' ? [mse, 'MSE'] : [l1, 'L1'];
  try {
    const statePath = rowStatePath(o.out, key);
    const { step: start, trainSeconds: before, compactResumes, fromCompact } = existsSync(statePath) ? loadRowState(statePath, key, model.store, opt) : { step: 0, trainSeconds: 0, compactResumes: undefined, fromCompact: false };
    const compact = fromCompact ? ' (a compact state: weights in bf16, Adam restarted)' : '';
    if (start > 0) o.log?.(`${o.table}: ${e.method}: resumed from ${statePath} at step ${start}${compact}`);
    let trainSeconds = before;
    const curves = new MetricsLog<CurvePoint>(join(o.out, CURVES_FILE), start, (r) => r.row === key);
    const evalSet = firstImages(o.test, o.evalImages ?? EXPERIMENT_DEFAULTS.evalImages);
    const evalEvery = o.evalEvery ?? EXPERIMENT_DEFAULTS.evalEvery;
    const point = (step: number, rec: Float32Array) => {
      curves.add({ row: key, method: e.method, step, psnr: scores(rec, evalSet, false).psnr, seconds: Math.round(trainSeconds * 10) / 10 });
      curves.flush();
    };
    await trainingLoop({
      steps: o.steps,
      start,
      label: `${e.method} `,
      quiet: !o.log,
      saveEvery: o.saveEvery ?? EXPERIMENT_DEFAULTS.saveEvery,
      save: async (step) => {
        saveRowState(statePath, key, model.store, opt, { step, trainSeconds, compactResumes });
        curves.flush();
        await saved();
      },
      step: (step) => {
        const t0 = performance.now();
        const x = batchTensor(o.train, batchIndices(o.train.n, o.batch, o.seed, step));
        const { loss: value, gradNorm } = optimiseStep(model.store, opt, (ctx) => loss(reconstruct(x, ctx), x), TRAIN_DEFAULTS.bnMomentum, undefined, o.clip ?? 0);
        x.dispose();
        trainSeconds += (performance.now() - t0) / 1000;
        // the last step's point comes from the final measurement below
        if (step % evalEvery === 0 && step < o.steps) point(step, inference(evalSet));
        o.afterStep?.(key, step);
        return `${lossName} ${value.toFixed(4)} |g| ${gradNorm.toFixed(3)}`;
      },
    });
    const rec = inference(o.test);
    // (a run killed after measuring a finished row, before caching it, has this point already)
    if (!curves.rows.some((r) => r.row === key && r.step === o.steps)) point(o.steps, rec.subarray(0, evalSet.n * S * S * 3));
    const sc = scores(rec, o.test);
    return { row: { method: e.method, T: e.T ?? '', K: e.K ?? '', latent: e.latent ?? '', steps: o.steps, psnr: sc.psnr, ssim: sc.ssim, secPerStep: trainSeconds / Math.max(1, o.steps), ...(compactResumes ? { compactResumes } : {}) }, rec };
  } finally {
    model.dispose();
    opt.dispose();
  }
}

/** a column caption for the side-by-side picture */
function shortLabel(r: Row): string {
  if (r.T !== '') return `ours T${r.T} K${r.K}`;
  if (r.latent !== '') return r.method.replace(/ \|z\|=/, ' z');
  return r.method.startsWith('PNG') ? 'PNG 20 col.' : r.method;
}

export function markdownTable(rows: Row[], o: { data: string; steps: number; encoder: string; testN: number; loss?: 'l1' | 'mse' }): string {
  const head = '| method | T | K | size of z | training steps | PSNR (dB) | SSIM | s/step |\n|---|---|---|---|---|---|---|---|\n';
  const cell = (v: string) => v.replace(/\|/g, '\\|');
  const mark = (r: Row) => (r.compactResumes?.length ? ' †' : '');
  const body = rows.map((r) => `| ${cell(r.method)}${mark(r)} | ${r.T} | ${r.K} | ${r.latent} | ${r.steps} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(3)} | ${r.secPerStep ? r.secPerStep.toFixed(2) : ''} |`).join('\n');
  const compact = rows.filter((r) => r.compactResumes?.length).map((r) => `${r.method} at step ${r.compactResumes!.join(', ')}`);
  const foot = compact.length ? `\n† resumed from a compact state (weights in bf16, Adam's moments restarted; rowState.ts): ${compact.join('; ')}.\n` : '';
  const loss = o.loss === 'mse' ? ', trained on MSE (not the paper\'s L1)' : '';
  return `Data: \`${o.data}\`, ${o.testN} held-out images, ${o.encoder} encoder, ${o.steps} training steps per row${loss}.\n\n${head}${body}\n${foot}`;
}

export function csvTable(rows: Row[]): string {
  return 'method,T,K,latent,steps,psnr,ssim,sec_per_step\n' + rows.map((r) => [JSON.stringify(r.method), r.T, r.K, r.latent, r.steps, r.psnr.toFixed(4), r.ssim.toFixed(4), r.secPerStep.toFixed(4)].join(',')).join('\n') + '\n';
}

/**
 * What a row trains and measures, independent of its label, so the two tables share a result when
 * they hold the same configuration (table 2's "Ours" rows are table 1's T=10/T=20, K=10).
 */
export function cacheKey(e: Entry, o: ExperimentOptions): string {
  const what = e.quantize ? `quantize:${e.quantize}` : e.kind ? `${e.kind}:z=${e.latent}` : `ours:T=${e.T}:K=${e.K}`;
  // a clipped row, one at another learning rate or loss, or one with a detached canvas is another experiment; the others keep the keys they were cached under
  const lr = o.lr !== undefined && o.lr !== TRAIN_DEFAULTS.lr ? `|lr=${o.lr}` : '';
  const stop = o.stopCanvasGrad && !e.kind && !e.quantize ? '|stopgrad' : '';
  const loss = o.loss === 'mse' && !e.quantize ? '|loss=mse' : '';
  return `${what}|${o.data}|${o.steps}|${o.encoder}|${o.batch}|${o.seed}|${o.test.n}${o.clip ? `|clip=${o.clip}` : ''}${lr}${stop}${loss}`;
}

/** a table's rows can be trained at this image size (the baselines' decoders start at S/16 and S/32) */
export function checkTableSize(table: 'table1' | 'table2', size: number): void {
  if (table === 'table2' && size % DECODER_TABLES.resup.startDivisor !== 0) throw new Error(`--size ${size}: table2's ResNet decoder (supplementary Table 7) starts at S/${DECODER_TABLES.resup.startDivisor}, so the size must be a multiple of ${DECODER_TABLES.resup.startDivisor}`);
}

/**
 * the held-out curves of the table's rows so far (OUT/curves.jsonl), in the table's order; with
 * `finished` (the finished rows' keys), a row not among them is marked in training
 */
function tableCurves(o: ExperimentOptions, finished?: Set<string>): (RowCurve & { inTraining: boolean })[] {
  const points = readRows<CurvePoint>(join(o.out, CURVES_FILE));
  return chosenRows(o)
    .filter((e) => !e.quantize)
    .map((e) => {
      const key = cacheKey(e, o);
      const inTraining = !!finished && !finished.has(key);
      return { name: e.method, inTraining, points: points.filter((p) => p.row === key).map((p): [number, number] => [p.step, p.psnr]) };
    });
}

const evalTitle = (o: ExperimentOptions) => `held-out PSNR, first ${Math.min(o.evalImages ?? EXPERIMENT_DEFAULTS.evalImages, o.test.n)} held-out images`;

/** OUT/NAME-curves.png: held-out PSNR against step, one line per row (those with a curve so far) */
async function drawCurves(o: ExperimentOptions, finished?: Set<string>): Promise<(RowCurve & { inTraining: boolean })[]> {
  const curves = tableCurves(o, finished);
  const drawn = curves.filter((c) => c.points.length).map((c) => (c.inTraining ? { ...c, name: `${c.name} (in training)` } : c));
  await plotPanels(join(o.out, `${o.table}-curves.png`), [{ title: evalTitle(o), yLabel: 'dB', series: rowSeries(drawn) }], 640, 300 + 14 * drawn.length);
  return curves;
}

/** the Markdown lines under the table: where the curves are and when the rows stopped crossing */
function curvesNote(o: ExperimentOptions, curves: RowCurve[]): string {
  const every = o.evalEvery ?? EXPERIMENT_DEFAULTS.evalEvery;
  const head = `\n${evalTitle(o)} every ${every} steps: ${o.table}-curves.png (the points: curves.jsonl).`;
  const missing = curves.filter((c) => !c.points.length).map((c) => c.name);
  if (missing.length) return `${head} No curve for ${missing.join(', ')} (trained before curves were recorded).\n`;
  const { at, lastChange, order } = orderLastChanged(curves);
  if (at === null) return `${head} The rows share no evaluation step.\n`;
  return `${head} The rows' order by it last changed at step ${lastChange} (of ${at}); from there on: ${order.join(' > ')}.\n` + lateNote(o, curves);
}

/** the rows' mean ± sd over the last quarter of training, where each row's curve only wobbles */
function lateNote(o: ExperimentOptions, curves: RowCurve[]): string {
  const from = Math.ceil(o.steps * 0.75);
  const spread = lateSpread(curves, from);
  if (spread.length < 2) return '';
  const ns = [...new Set(spread.map((r) => r.n))];
  const counts = ns.length === 1 ? `${ns[0]} evaluations each` : `${spread.map((r) => r.n).join('/')} evaluations`;
  return `Over the last quarter (steps ≥ ${from}, ${counts}), mean ± sd, best first, ">" where two neighbours differ by more than twice the standard error of the difference: ${lateOrder(spread)}.\n`;
}

export async function runExperiment(o: ExperimentOptions): Promise<Row[]> {
  checkTableSize(o.table, o.test.size);
  mkdirSync(join(o.out, ROWS_DIR), { recursive: true });
  const unlock = lockRunFolder(o.out);
  try {
    for (const dir of [o.out, join(o.out, ROWS_DIR)]) removeOrphanTempFiles(dir);
    return await runLocked(o);
  } finally {
    unlock();
  }
}

async function runLocked(o: ExperimentOptions): Promise<Row[]> {
  const cachePath = join(o.out, ROWS_FILE);
  const cache = readRowCache(o.out);
  const S = o.test.size;
  const shown = Math.min(o.show, o.test.n);
  const px = S * S * 3;
  const rows: Row[] = [];
  const columns: Float32Array[] = [];
  const entries = chosenRows(o).filter((e) => !o.finishedOnly || cache[cacheKey(e, o)]);
  if (!entries.length) throw new Error(`${cachePath}: none of ${o.table}'s rows asked for is finished (--finished-only trains nothing)`);
  for (const e of entries) {
    const key = cacheKey(e, o);
    let hit = cache[key];
    if (!hit) {
      o.log?.(`${o.table}: ${e.method} (${e.quantize ? 'no training' : `${o.steps} steps`})…`);
      const { row, rec } = await runEntry(e, o, key, async () => void (await drawCurves(o)));
      // the shown reconstructions, for the picture: 1e-3 is finer than its 8 bits and keeps rows.json a third the size
      hit = { row, rec: Array.from(rec.subarray(0, shown * px), (v) => Math.round(v * 1000) / 1000) };
      cache[key] = hit;
      writeFileAtomic(cachePath, [new TextEncoder().encode(JSON.stringify(cache))]);
      // the row is in rows.json now: its training state is no longer needed
      rmSync(rowStatePath(o.out, key), { force: true });
      o.log?.(`${o.table}: ${e.method}: PSNR ${row.psnr.toFixed(2)} dB, SSIM ${row.ssim.toFixed(3)}`);
    }
    rows.push({ ...hit.row, method: e.method });
    columns.push(Float32Array.from(hit.rec));
  }
  const meta = { data: o.data, steps: o.steps, encoder: o.encoder, testN: o.test.n, loss: o.loss };
  const curves = await drawCurves(o, o.finishedOnly ? new Set(entries.map((e) => cacheKey(e, o))) : undefined);
  const training = curves.filter((c) => c.inTraining && c.points.length).map((c) => `${c.name} at step ${c.points.at(-1)![0]}`);
  const trainingNote = training.length ? `In training, their curves so far drawn, not in the table: ${training.join(', ')}.\n` : '';
  const note = curvesNote(o, curves.filter((c) => !c.inTraining)) + trainingNote;
  writeFileAtomic(join(o.out, `${o.table}.md`), [new TextEncoder().encode(markdownTable(rows, meta) + note)]);
  writeFileAtomic(join(o.out, `${o.table}.csv`), [new TextEncoder().encode(csvTable(rows))]);
  const grid: Tile[][] = range(0, shown).map((i) => [
    { pixels: Float32Array.from(o.test.data.subarray(i * px, (i + 1) * px), (v) => v / 255), width: S, height: S },
    ...columns.map((c) => ({ pixels: c.slice(i * px, (i + 1) * px), width: S, height: S })),
  ]);
  await writeGrid(join(o.out, `${o.table}.png`), grid, { scale: S <= 32 ? 3 : 1, columnLabels: ['target', ...rows.map(shortLabel)] });
  return rows;
}
