/**
 * The training loop of the reconstruction model: batches from a deterministic per-step stream,
 * L1 + Adam, held-out PSNR every evalEvery steps, atomic checkpoints every saveEvery steps, a
 * metrics log (JSONL), a loss/PSNR plot and a picture grid of targets, reconstructions, steps and
 * masks; the best model by held-out PSNR is kept in best.stratum. Killed at any point, `stratum train --resume` continues from the last checkpoint with the
 * same batches it would have seen.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { removeOrphanTempFiles } from '../../io/atomicFile.js';
import { lockRunFolder } from '../io/runLock.js';
import { join } from 'node:path';
import { CALIBRATION_BATCHES, type ModelConfig, type TrainConfig } from '../../config.js';
import * as tf from '../../core/tf.js';
import { batchTensor, type ImageSet } from '../../data/imageSet.js';
import { decompositionGrid } from '../eval/figures.js';
import { plotPanels } from '../eval/plot.js';
import { evaluate, maskHealth } from '../eval/reconstruct.js';
import { Decomposer, SHAPES_KEY } from '../../model/decomposer.js';
import { widenModel, widenProblem } from '../model/widen.js';
import { Adam } from '../../core/adam.js';
import { adversaryState, disposeAdversary, newAdversary, restoreAdversary, type Adversary } from './adversary.js';
import { loadModel, readCheckpoint, saveCheckpoint } from '../../model/checkpoint.js';
import { batchIndices } from './batches.js';
import { calibrateBatchNorm } from './calibrate.js';
import { MetricsLog, readRows, trainingLoop } from './loop.js';
import { CollapseGuard } from './guard.js';
import { learningRate } from './schedule.js';
import { l1, optimiseStep, trainStep, type StepResult } from './step.js';
import { newCtx, discardBnUpdates } from '../../model/nn.js';
import { criticLoss, generatorLoss } from './wgan.js';

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
  /** held-out PSNR with least-squares colours (evaluate's psnrLs) */
  psnrLs?: number;
  secPerStep?: number;
  /** learning rate used at this step */
  lr?: number;
  /** global gradient norm before clipping */
  gradNorm?: number;
  /** the collapse guard went back to this step's state */
  rolledBackTo?: number;
  /** seconds of training so far (across resumes), for quality-per-CPU-hour plots */
  elapsed?: number;
  /** share of flat masks (spatial std < 0.02) on held-out images, and their mean spatial std (see maskHealth) */
  flatMasks?: number;
  maskStd?: number;
}

export const CHECKPOINT_FILE = 'checkpoint.stratum';
/** the weights (and per-step BatchNorm statistics) of the evaluation with the best held-out PSNR so far */
export const BEST_FILE = 'best.stratum';
export const METRICS_FILE = 'metrics.jsonl';

/** the metrics log's rows up to step `upTo` (a torn last line dropped, see readRows) */
export function readMetrics<R extends { step: number } = MetricRow>(path: string, upTo: number): R[] {
  return readRows<R>(path).filter((r) => r.step <= upTo);
}

export async function plotMetrics(path: string, log: MetricsLog<MetricRow>): Promise<void> {
  const ls = log.series('psnrLs');
  await plotPanels(path, [
    { title: 'training L1 loss', yLabel: 'L1', logY: true, series: [{ name: 'train L1', points: log.series('loss'), colour: '#1f77b4' }] },
    {
      title: 'held-out PSNR',
      yLabel: 'dB',
      series: [
        { name: 'inference BN', points: log.series('psnr'), colour: '#d62728' },
        { name: 'batch-stat BN', points: log.series('psnrBatchStats'), colour: '#ff9f0e' },
      ],
    },
    // what decompose paints (least-squares colours for the masks): its own panel, several dB higher
    ...(ls.length ? [{ title: 'held-out PSNR, least-squares colours', yLabel: 'dB', series: [{ name: 'inference BN', points: ls, colour: '#2ca02c' }] }] : []),
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
  const cfg = run.train;
  const ckptPath = join(run.out, CHECKPOINT_FILE);
  // its own copy: the schedule sets opt.cfg.lr at every step and reads the base rate from cfg
  const opt = new Adam({ ...cfg });
  let adv: Adversary | null = null;
  let model: Decomposer;
  let grownFrom: ModelConfig | undefined;
  let start = 0;
  let guardState: { lrScale?: number; rollbacks?: number } = {};
  let elapsedBefore = 0;
  if (run.resume && existsSync(ckptPath)) {
    const loaded = loadModel(ckptPath, opt);
    if (cfg.advLambda > 0) adv = restoreAdversary(loaded.ckpt, ckptPath, cfg.seed + 7, cfg.criticWidth);
    model = loaded.model;
    start = loaded.ckpt.header.step;
    const info = loaded.ckpt.header.info ?? {};
    guardState = { lrScale: Number(info.lrScale), rollbacks: Number(info.rollbacks) };
    elapsedBefore = Number(info.elapsed) || 0;
  } else {
    if (!run.resume && existsSync(ckptPath)) {
      throw new Error(`${ckptPath} exists: pass --resume to continue it or choose another -o/--output folder`);
    }
    if (run.initFrom) ({ model, grownFrom } = initialModel(run.initFrom, run.model));
    else model = new Decomposer(run.model, cfg.seed);
  }
  // a shape bank belongs to the mask network it was chosen with: training changes that network, so
  // the bank is not carried on (rebuild it with `stratum shapes`; --init copies only the weights anyway)
  const droppedBank = model.store.has(SHAPES_KEY) || model.edgeShapes() !== null;
  if (droppedBank) {
    model.setShapes(null);
    model.setEdgeShapes(null);
  }
  // λ > 0 with no critic yet (a fresh run, or resuming an L1-only run): a fresh critic
  if (cfg.advLambda > 0 && !adv) adv = newAdversary(run.model.size, cfg.criticWidth, cfg.seed + 7);
  const metrics = new MetricsLog<MetricRow>(join(run.out, METRICS_FILE), start);
  const say = (m: string) => (run.quiet ? undefined : process.stderr.write(`${m}\n`));
  if (droppedBank) say('the checkpoint\'s shape bank is dropped, and its edge shapes: training changes the mask network they were chosen for (rebuild them with `stratum shapes`, `stratum shapes --edges`)');
  say(`model: ${model.cfg.encoder} encoder, T=${model.cfg.T}, K=${model.cfg.mask.K}, ${model.cfg.size}², GroupNorm ${model.cfg.mask.norm}, ${model.store.count()} parameters; data ${run.data}: ${data.train.n} train / ${data.test.n} held out`);
  if (orphans.length) say(`removed ${orphans.length} temporary file(s) left by a killed run: ${orphans.join(', ')}`);
  if (start > 0) say(`resumed from ${ckptPath} at step ${start}`);
  else if (run.initFrom) say(`initialised from ${run.initFrom}${grownFrom ? ` (its small encoder grown from ${encoderShape(grownFrom)} to ${encoderShape(model.cfg)}, painting the same)` : ''}`);
  const guard = new CollapseGuard(cfg, guardState);
  const tStart = Date.now();
  const elapsed = () => Math.round(elapsedBefore + (Date.now() - tStart) / 1000);
  const save = async (step: number) => {
    const critic = adv ? adversaryState(adv) : { extra: [], info: {} };
    metrics.flush();
    saveCheckpoint(ckptPath, model, { train: cfg, step, opt, data: run.data, info: { lastPsnr: metrics.last('psnr')?.psnr, lrScale: guard.lrScale, rollbacks: guard.rollbacks, elapsed: elapsed(), ...critic.info }, extra: critic.extra });
    await plotMetrics(join(run.out, 'curves.png'), metrics);
    await decompositionGrid(join(run.out, 'grid.png'), model, data.test, 6);
  };
  const bestPath = join(run.out, BEST_FILE);
  // the number the run is judged by (best model, collapse guard): the PSNR of what it is trained to paint
  const scoreKey = cfg.lsLoss > 0 ? 'psnrLs' : 'psnr';
  let best = start > 0 && existsSync(bestPath) ? Number(readCheckpoint(bestPath).header.info?.heldOutPsnr ?? -Infinity) : -Infinity;
  const evalNow = (step: number) => {
    calibrateBatchNorm(model, data.train, CALIBRATION_BATCHES, cfg.batch);
    const r = evaluate(model, data.test);
    const h = maskHealth(model, data.test);
    metrics.add({ step, psnr: r.psnr, psnrBatchStats: r.psnrBatchStats, psnrLs: r.psnrLs, flatMasks: h.flat, maskStd: h.spatialStd });
    const score = r[scoreKey];
    if (score > best) {
      best = score;
      saveCheckpoint(bestPath, model, { step, data: run.data, weightsOnly: true, info: { heldOutPsnr: score, heldOutPsnrEncoderColours: r.psnr, heldOutPsnrLs: r.psnrLs, heldOutImages: data.test.n, trainConfig: cfg } });
    }
    return { ...r, score };
  };
  if (start === 0) guard.keep(0, evalNow(0).score, model.store, opt);
  else guard.keep(start, metrics.last(scoreKey)?.[scoreKey] ?? -Infinity, model.store, opt);
  if (guard.lrScale < 1) say(`learning rate at ${guard.lrScale}× after ${guard.rollbacks} rollback(s)`);
  let lossAvg = NaN;
  let lastPsnr = metrics.last('psnr')?.psnr ?? NaN;
  let lastLs = metrics.last('psnrLs')?.psnrLs ?? NaN;
  const rollback = (step: number, why: string, log: (m: string) => void) => {
    const lrBefore = learningRate(cfg, step, guard.lrScale);
    const to = guard.rollback(model.store, opt);
    const msg = `collapse at step ${step}: ${why} -> rolled back to step ${to} (held-out ${guard.snapshot!.psnr.toFixed(2)} dB), learning rate ${lrBefore.toPrecision(2)} -> ${learningRate(cfg, step, guard.lrScale).toPrecision(2)}`;
    metrics.add({ step, rolledBackTo: to });
    if (run.quiet) return;
    log(msg);
  };
  const t0 = Date.now();
  await trainingLoop({
    steps: cfg.steps,
    start,
    label: 'train ',
    quiet: run.quiet,
    saveEvery: cfg.saveEvery,
    save,
    step: (step, log) => {
      const lr = learningRate(cfg, step, guard.lrScale);
      opt.cfg.lr = lr;
      const x = batchTensor(data.train, batchIndices(data.train.n, cfg.batch, cfg.seed, step));
      let r: StepResult;
      try {
        r = adv ? adversarialStep(model, opt, adv, x, cfg) : trainStep(model, opt, x, cfg.bnMomentum, cfg.clip, cfg);
      } finally {
        x.dispose();
      }
      const loss = r.loss;
      lossAvg = Number.isNaN(lossAvg) ? loss : 0.95 * lossAvg + 0.05 * loss;
      metrics.add({ step, loss, lr, gradNorm: adv ? undefined : r.gradNorm, secPerStep: (Date.now() - t0) / 1000 / (step - start), elapsed: elapsed() });
      const jump = guard.afterStep(loss);
      if (jump) {
        rollback(step, jump, log);
        lossAvg = NaN;
      }
      if (step % cfg.evalEvery === 0 || step === cfg.steps) {
        const r = evalNow(step);
        lastPsnr = r.psnr;
        lastLs = r.psnrLs;
        const fall = guard.afterEval(step, r.score, model.store, opt);
        if (fall) rollback(step, fall, log);
      }
      const lrNote = guard.rollbacks > 0 ? ` lr ${lr.toPrecision(2)} (${guard.rollbacks} rollback${guard.rollbacks > 1 ? 's' : ''})` : '';
      return `L1 ${Number.isNaN(lossAvg) ? '-' : lossAvg.toFixed(4)} PSNR ${Number.isNaN(lastPsnr) ? '-' : lastPsnr.toFixed(2)} dB (LS colours ${Number.isNaN(lastLs) ? '-' : lastLs.toFixed(2)})${lrNote}`;
    },
  });
  const final = metrics.last('psnr') ?? { step: start };
  if (run.exportTo) {
    saveCheckpoint(run.exportTo, model, { step: cfg.steps, data: run.data, weightsOnly: true, info: { heldOutPsnr: final.psnr, heldOutImages: data.test.n, trainConfig: cfg } });
  }
  opt.dispose();
  guard.dispose();
  disposeAdversary(adv);
  return { model, final };
}

/** what makes two model configurations hold different weights, or '' when they can share them */
export function architectureDifference(a: ModelConfig, b: ModelConfig): string {
  const fields: [string, unknown, unknown][] = [
    ['encoder', a.encoder, b.encoder],
    ['encoder normalisation', a.encoderNorm ?? 'batch', b.encoderNorm ?? 'batch'],
    ['T', a.T, b.T],
    ['K', a.mask.K, b.mask.K],
    ['size', a.size, b.size],
    ['GroupNorm mode', a.mask.norm, b.mask.norm],
    ['mask MLP', `${a.mask.depth}×${a.mask.hidden}/${a.mask.groups}`, `${b.mask.depth}×${b.mask.hidden}/${b.mask.groups}`],
    ['small-encoder channels', a.smallChannels.join(','), b.smallChannels.join(',')],
    ['small-encoder pooling', a.smallPool ?? 'mean', b.smallPool ?? 'mean'],
  ];
  return fields
    .filter(([, x, y]) => x !== y)
    .map(([name, x, y]) => `${name} ${x} (model file) vs ${y} (this run)`)
    .join(', ');
}

/** a new model of configuration `cfg` holding the weights (and BatchNorm running statistics) of a model file */
/** the small encoder's channels and pooling, for messages */
const encoderShape = (c: ModelConfig) => `${c.smallChannels.join(',')} channels, ${c.smallPool ?? 'mean'} pooling`;

function initialModel(path: string, cfg: ModelConfig): { model: Decomposer; grownFrom?: ModelConfig } {
  const { model: src } = loadModel(path);
  try {
    const diff = architectureDifference(src.cfg, cfg);
    // wider small-encoder layers or a flattened pooling only: grow the model, keeping its function (src/research/model/widen.ts)
    if (diff && architectureDifference({ ...src.cfg, smallChannels: cfg.smallChannels, smallPool: cfg.smallPool }, cfg) === '') {
      const problem = widenProblem(src.cfg, cfg);
      if (problem) throw new Error(`${path}: cannot initialise from this model: ${problem}`);
      return { model: widenModel(src, cfg, 1), grownFrom: src.cfg };
    }
    if (diff) throw new Error(`${path}: cannot initialise from this model: ${diff}`);
    const model = new Decomposer(cfg);
    for (const [name, e] of model.store.entries) e.variable.assign(src.store.get(name));
    return { model };
  } finally {
    src.dispose();
  }
}

// ------------------------------------------------------------------ adversarial reconstruction
/** one critic update on (target, reconstruction), then the model on L1 + λ·(−D(reconstruction)) */
export function adversarialStep(model: Decomposer, opt: Adam, adv: Adversary, x: tf.Tensor4D, cfg: TrainConfig): StepResult {
  const ctx = newCtx(true);
  const fake = tf.tidy(() => model.forward(x, ctx).canvas);
  discardBnUpdates(ctx);
  optimiseStep(adv.critic.store, adv.opt, () => criticLoss(adv.critic, x, fake, cfg.gamma));
  fake.dispose();
  let rec = 0;
  const { gradNorm } = optimiseStep(
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
  // the reconstruction part of the loss; the norm is of the whole objective's gradient
  return { loss: rec, gradNorm };
}
