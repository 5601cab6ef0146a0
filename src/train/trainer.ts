/**
 * The training loop of the reconstruction model: batches from a deterministic per-step stream,
 * L1 + Adam, held-out PSNR every evalEvery steps, atomic checkpoints every saveEvery steps, a
 * metrics log (JSONL), a loss/PSNR plot and a picture grid of targets, reconstructions, steps and
 * masks. Killed at any point, `stratum train --resume` continues from the last checkpoint with the
 * same batches it would have seen.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import { loadModel, saveCheckpoint } from './checkpoint.js';
import { batchIndices } from './batches.js';
import { calibrateBatchNorm } from './calibrate.js';
import { trainStep } from './step.js';

export interface TrainRun {
  out: string;
  data: string;
  model: ModelConfig;
  train: TrainConfig;
  resume: boolean;
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


function readMetrics(path: string, upTo: number): MetricRow[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MetricRow)
    .filter((r) => r.step <= upTo);
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
  mkdirSync(run.out, { recursive: true });
  const ckptPath = join(run.out, CHECKPOINT_FILE);
  const metricsPath = join(run.out, 'metrics.jsonl');
  const opt = new Adam(run.train);
  let model: Decomposer;
  let start = 0;
  if (run.resume && existsSync(ckptPath)) {
    const loaded = loadModel(ckptPath, opt);
    model = loaded.model;
    start = loaded.ckpt.header.step;
  } else {
    if (!run.resume && existsSync(ckptPath)) {
      throw new Error(`${ckptPath} exists: pass --resume to continue it or choose another --out`);
    }
    model = new Decomposer(run.model, run.train.seed);
  }
  const cfg = run.train;
  let metrics = readMetrics(metricsPath, start);
  writeFileSync(metricsPath, metrics.map((m) => JSON.stringify(m) + '\n').join(''));
  const log = (row: MetricRow) => {
    metrics.push(row);
    writeFileSync(metricsPath, JSON.stringify(row) + '\n', { flag: 'a' });
  };
  const bar = new Progress(cfg.steps, start, 'train ');
  const say = (m: string) => (run.quiet ? undefined : bar.log(m));
  say(`model: ${model.cfg.encoder} encoder, T=${model.cfg.T}, K=${model.cfg.mask.K}, ${model.cfg.size}², GroupNorm ${model.cfg.mask.norm}, ${model.store.count()} parameters; data ${run.data}: ${data.train.n} train / ${data.test.n} held out`);
  if (start > 0) say(`resumed from ${ckptPath} at step ${start}`);
  const save = async (step: number) => {
    saveCheckpoint(ckptPath, model, { train: cfg, step, opt, data: run.data, info: { lastPsnr: metrics.filter((m) => m.psnr !== undefined).at(-1)?.psnr } });
    await plotMetrics(join(run.out, 'curves.png'), metrics);
    await decompositionGrid(join(run.out, 'grid.png'), model, data.test, 6);
  };
  const evalNow = (step: number) => {
    calibrateBatchNorm(model, data.train, 8, cfg.batch);
    const r = evaluate(model, data.test);
    log({ step, psnr: r.psnr, psnrBatchStats: r.psnrBatchStats });
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
      loss = trainStep(model, opt, x, cfg.bnMomentum);
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
  return { model, final };
}
