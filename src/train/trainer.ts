/**
 * The training loop of the reconstruction model: batches from a deterministic per-step stream,
 * L1 + Adam, held-out PSNR every evalEvery steps, atomic checkpoints every saveEvery steps, a
 * metrics log (JSONL), a loss/PSNR plot and a picture grid of targets, reconstructions, steps and
 * masks; the best model by held-out PSNR is kept in best.stratum. Killed at any point, `stratum train --resume` continues from the last checkpoint with the
 * same batches it would have seen.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { removeOrphanTempFiles } from '../io/atomicFile.js';
import { join } from 'node:path';
import type { ModelConfig, TrainConfig } from '../config.js';
import * as tf from '../core/tf.js';
import { Progress } from '../cli/progress.js';
import { batchTensor, type ImageSet } from '../data/imageSet.js';
import { decompositionGrid } from '../eval/figures.js';
import { plotPanels } from '../eval/plot.js';
import { evaluate } from '../eval/reconstruct.js';
import { Decomposer } from '../model/decomposer.js';
import { Adam } from './adam.js';
import { loadModel, readCheckpoint, saveCheckpoint } from './checkpoint.js';
import { batchIndices } from './batches.js';
import { calibrateBatchNorm } from './calibrate.js';
import { l1, optimiseStep, trainStep } from './step.js';
import { PatchCritic } from '../model/critic.js';
import { newCtx, discardBnUpdates } from '../model/nn.js';
import { criticLoss, generatorLoss, WGAN_DEFAULTS } from './wgan.js';

export interface TrainRun {
  out: string;
  data: string;
  model: ModelConfig;
  train: TrainConfig;
  resume: boolean;
  /** start a new run from this model file's weights (fine-tuning, or another data set); fresh optimiser */
  initFrom?: string;
  /** write a weights-only copy here at the end (for bundling) */
  exportTo?: string;
  quiet?: boolean;
}

export interface MetricRow {
  step: number;
  loss?: number;
  psnr?: number;
  psnrBatchStats?: number;
  secPerStep?: number;
}

export const CHECKPOINT_FILE = 'checkpoint.stratum';
/** the weights (and per-step BatchNorm statistics) of the evaluation with the best held-out PSNR so far */
export const BEST_FILE = 'best.stratum';


/**
 * The metrics log's rows up to step `upTo`. A last line without its newline is a write cut off by
 * a kill: it is dropped (the steps after the checkpoint are logged again). Any other bad line is
 * an error naming the file and line.
 */
export function readMetrics<R extends { step: number } = MetricRow>(path: string, upTo: number): R[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const rows: R[] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    let row: R;
    try {
      row = JSON.parse(l) as R;
    } catch {
      if (i === lines.length - 1) return; // torn last line
      throw new Error(`${path}: line ${i + 1} is not valid JSON`);
    }
    if (!row || typeof row !== 'object' || !Number.isInteger(row.step)) throw new Error(`${path}: line ${i + 1} has no step number`);
    rows.push(row);
  });
  return rows.filter((r) => r.step <= upTo);
}

/** the run folder's lock: one run per folder at a time (a lock left by a killed run is taken over) */
export const LOCK_FILE = 'run.lock';

export function lockRunFolder(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      const release = () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return () => {
        process.removeListener('exit', release);
        release();
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${path}: cannot create the run lock (${(e as NodeJS.ErrnoException).code})`);
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) throw new Error(`${dir}: another run (process ${pid}) is using this folder`);
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new Error(`${path}: cannot take the run lock`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function plotMetrics(path: string, rows: MetricRow[]): Promise<void> {
  const loss = rows.filter((r) => r.loss !== undefined).map((r) => [r.step, r.loss!] as [number, number]);
  const ps = rows.filter((r) => r.psnr !== undefined).map((r) => [r.step, r.psnr!] as [number, number]);
  const pb = rows.filter((r) => r.psnrBatchStats !== undefined).map((r) => [r.step, r.psnrBatchStats!] as [number, number]);
  await plotPanels(path, [
    { title: 'training L1 loss', yLabel: 'L1', logY: true, series: [{ name: 'train L1', points: loss, colour: '#1f77b4' }] },
    {
      title: 'held-out PSNR',
      yLabel: 'dB',
      series: [
        { name: 'inference BN', points: ps, colour: '#d62728' },
        { name: 'batch-stat BN', points: pb, colour: '#ff9f0e' },
      ],
    },
  ]);
}

export async function train(run: TrainRun, data: { train: ImageSet; test: ImageSet }): Promise<{ model: Decomposer; final: MetricRow }> {
  if (data.train.n < 1 || data.test.n < 1) throw new Error(`${run.data}: ${data.train.n + data.test.n} images are too few to train on and hold some out (need at least 5)`);
  mkdirSync(run.out, { recursive: true });
  const unlock = lockRunFolder(run.out);
  try {
    return await trainLocked(run, data);
  } finally {
    unlock();
  }
}

async function trainLocked(run: TrainRun, data: { train: ImageSet; test: ImageSet }): Promise<{ model: Decomposer; final: MetricRow }> {
  const orphans = removeOrphanTempFiles(run.out);
  const ckptPath = join(run.out, CHECKPOINT_FILE);
  const metricsPath = join(run.out, 'metrics.jsonl');
  const opt = new Adam(run.train);
  let adv: Adversary | null = null;
  let model: Decomposer;
  let start = 0;
  if (run.resume && existsSync(ckptPath)) {
    const loaded = loadModel(ckptPath, opt);
    adv = restoreCritic(loaded.ckpt.tensors, run.train, run.model.size, loaded.ckpt.header.info);
    model = loaded.model;
    start = loaded.ckpt.header.step;
  } else {
    if (!run.resume && existsSync(ckptPath)) {
      throw new Error(`${ckptPath} exists: pass --resume to continue it or choose another -o/--output folder`);
    }
    model = run.initFrom ? initialModel(run.initFrom, run.model) : new Decomposer(run.model, run.train.seed);
  }
  const cfg = run.train;
  if (cfg.advLambda > 0 && !adv) adv = newAdversary(cfg, run.model.size);
  // a run that starts from step 0 keeps no earlier rows (no duplicate step-0 evaluation)
  let metrics = start > 0 ? readMetrics(metricsPath, start) : [];
  writeFileSync(metricsPath, metrics.map((m) => JSON.stringify(m) + '\n').join(''));
  const log = (row: MetricRow) => {
    metrics.push(row);
    writeFileSync(metricsPath, JSON.stringify(row) + '\n', { flag: 'a' });
  };
  const bar = new Progress(cfg.steps, start, 'train ');
  const say = (m: string) => (run.quiet ? undefined : bar.log(m));
  say(`model: ${model.cfg.encoder} encoder, T=${model.cfg.T}, K=${model.cfg.mask.K}, ${model.cfg.size}², GroupNorm ${model.cfg.mask.norm}, ${model.store.count()} parameters; data ${run.data}: ${data.train.n} train / ${data.test.n} held out`);
  if (orphans.length) say(`removed ${orphans.length} temporary file(s) left by a killed run: ${orphans.join(', ')}`);
  if (start > 0) say(`resumed from ${ckptPath} at step ${start}`);
  else if (run.initFrom) say(`initialised from ${run.initFrom}`);
  const save = async (step: number) => {
    saveCheckpoint(ckptPath, model, {
      train: cfg,
      step,
      opt,
      data: run.data,
      info: { lastPsnr: metrics.filter((m) => m.psnr !== undefined).at(-1)?.psnr, criticAdamStep: adv?.opt.step },
      extra: adv ? adversaryTensors(adv) : [],
    });
    await plotMetrics(join(run.out, 'curves.png'), metrics);
    await decompositionGrid(join(run.out, 'grid.png'), model, data.test, 6);
  };
  const bestPath = join(run.out, BEST_FILE);
  let best = start > 0 && existsSync(bestPath) ? Number(readCheckpoint(bestPath).header.info?.heldOutPsnr ?? -Infinity) : -Infinity;
  const evalNow = (step: number) => {
    calibrateBatchNorm(model, data.train, 8, cfg.batch);
    const r = evaluate(model, data.test);
    log({ step, psnr: r.psnr, psnrBatchStats: r.psnrBatchStats });
    if (r.psnr > best) {
      best = r.psnr;
      saveCheckpoint(bestPath, model, { step, data: run.data, weightsOnly: true, info: { heldOutPsnr: r.psnr, heldOutImages: data.test.n, trainConfig: cfg } });
    }
    return r;
  };
  if (start === 0) evalNow(0);
  let lossAvg = NaN;
  let lastPsnr = metrics.filter((m) => m.psnr !== undefined).at(-1)?.psnr ?? NaN;
  const t0 = Date.now();
  for (let step = start + 1; step <= cfg.steps; step++) {
    const idx = batchIndices(data.train.n, cfg.batch, cfg.seed, step);
    const x = batchTensor(data.train, idx);
    let loss: number;
    try {
      loss = adv ? adversarialStep(model, opt, adv, x, cfg) : trainStep(model, opt, x, cfg.bnMomentum);
    } finally {
      x.dispose();
    }
    lossAvg = Number.isNaN(lossAvg) ? loss : 0.95 * lossAvg + 0.05 * loss;
    log({ step, loss, secPerStep: (Date.now() - t0) / 1000 / (step - start) });
    if (step % cfg.evalEvery === 0 || step === cfg.steps) lastPsnr = evalNow(step).psnr;
    if (!run.quiet) bar.update(step, `L1 ${lossAvg.toFixed(4)} PSNR ${Number.isNaN(lastPsnr) ? '-' : lastPsnr.toFixed(2)} dB`);
    if (step % cfg.saveEvery === 0 || step === cfg.steps) await save(step);
  }
  if (start >= cfg.steps) await save(start);
  bar.finish();
  const final = metrics.filter((m) => m.psnr !== undefined).at(-1) ?? { step: start };
  if (run.exportTo) {
    saveCheckpoint(run.exportTo, model, { step: cfg.steps, data: run.data, weightsOnly: true, info: { heldOutPsnr: final.psnr, heldOutImages: data.test.n, trainConfig: cfg } });
  }
  opt.dispose();
  adv?.opt.dispose();
  adv?.critic.dispose();
  return { model, final };
}

/** what makes two model configurations hold different weights, or '' when they can share them */
export function architectureDifference(a: ModelConfig, b: ModelConfig): string {
  const fields: [string, unknown, unknown][] = [
    ['encoder', a.encoder, b.encoder],
    ['T', a.T, b.T],
    ['K', a.mask.K, b.mask.K],
    ['size', a.size, b.size],
    ['GroupNorm mode', a.mask.norm, b.mask.norm],
    ['mask MLP', `${a.mask.depth}×${a.mask.hidden}/${a.mask.groups}`, `${b.mask.depth}×${b.mask.hidden}/${b.mask.groups}`],
    ['small-encoder channels', a.smallChannels.join(','), b.smallChannels.join(',')],
  ];
  return fields
    .filter(([, x, y]) => x !== y)
    .map(([name, x, y]) => `${name} ${x} (model file) vs ${y} (this run)`)
    .join(', ');
}

/** a new model of configuration `cfg` holding the weights (and BatchNorm running statistics) of a model file */
function initialModel(path: string, cfg: ModelConfig): Decomposer {
  const { model: src } = loadModel(path);
  try {
    const diff = architectureDifference(src.cfg, cfg);
    if (diff) throw new Error(`${path}: cannot initialise from this model: ${diff}`);
    const model = new Decomposer(cfg);
    for (const [name, e] of model.store.entries) e.variable.assign(src.store.get(name));
    return model;
  } finally {
    src.dispose();
  }
}

// ------------------------------------------------------------------ adversarial reconstruction
/** the patch critic and its optimiser for L1 + λ·adversarial training */
interface Adversary {
  critic: PatchCritic;
  opt: Adam;
}

function newAdversary(cfg: TrainConfig, size: number): Adversary {
  return { critic: new PatchCritic({ size, width: cfg.criticWidth }, cfg.seed + 7), opt: new Adam({ lr: WGAN_DEFAULTS.lr, beta1: WGAN_DEFAULTS.beta1, beta2: WGAN_DEFAULTS.beta2, eps: 1e-8 }) };
}

function adversaryTensors(a: Adversary): [string, tf.Tensor][] {
  return [
    ...[...a.critic.store.entries].map(([k, e]) => [k, e.variable] as [string, tf.Tensor]),
    ...[...a.opt.m].map(([k, v]) => [`adamD.m.${k}`, v] as [string, tf.Tensor]),
    ...[...a.opt.v].map(([k, v]) => [`adamD.v.${k}`, v] as [string, tf.Tensor]),
  ];
}

function restoreCritic(tensors: Map<string, { shape: number[]; values: Float32Array }>, cfg: TrainConfig, size: number, info?: Record<string, unknown>): Adversary | null {
  if (cfg.advLambda <= 0) return null;
  const a = newAdversary(cfg, size);
  if (!tensors.has('critic.c0.w')) return a; // resuming an L1-only run with λ > 0: fresh critic
  for (const [name, e] of a.critic.store.entries) {
    const t = tensors.get(name);
    if (!t) throw new Error(`checkpoint lacks critic parameter ${name}`);
    e.variable.assign(tf.tensor(t.values, t.shape));
  }
  for (const [name, t] of tensors) {
    const m = /^adamD\.(m|v)\.(.*)$/.exec(name);
    if (m) (m[1] === 'm' ? a.opt.m : a.opt.v).set(m[2]!, tf.variable(tf.tensor(t.values, t.shape), false));
  }
  a.opt.step = Number(info?.criticAdamStep ?? 0);
  return a;
}

/** one critic update on (target, reconstruction), then the model on L1 + λ·(−D(reconstruction)) */
export function adversarialStep(model: Decomposer, opt: Adam, adv: Adversary, x: tf.Tensor4D, cfg: TrainConfig): number {
  const ctx = newCtx(true);
  const fake = tf.tidy(() => model.forward(x, ctx).canvas);
  discardBnUpdates(ctx);
  optimiseStep(adv.critic.store, adv.opt, () => criticLoss(adv.critic, x, fake, cfg.gamma));
  fake.dispose();
  let rec = 0;
  optimiseStep(
    model.store,
    opt,
    (c) => {
      const canvas = model.forward(x, c).canvas;
      const r = l1(canvas, x);
      rec = r.dataSync()[0]!;
      return r.add(generatorLoss(adv.critic, canvas).mul(cfg.advLambda));
    },
    cfg.bnMomentum,
  );
  return rec;
}
