/**
 * GAN training (WGAN-GP, Adam lr 2e-4, β1 0): `criticSteps` critic updates on real images and
 * generated ones, then one generator update. Checkpoints hold generator, critic and both optimisers,
 * written atomically; a killed run resumes.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../../core/tf.js';
import { batchTensor, type ImageSet } from '../../data/imageSet.js';
import { plotPanels } from '../eval/plot.js';
import { writeGrid } from '../../eval/grid.js';
import { PatchCritic } from '../model/critic.js';
import { GanGenerator, type GanConfig } from '../model/ganGenerator.js';
import { discardBnUpdates, newCtx } from '../../model/nn.js';
import { Adam } from '../../core/adam.js';
import { adversaryState, newAdversary, restoreAdversary, type Adversary } from './adversary.js';
import { batchIndices } from './batches.js';
import { OPTIMISER_PREFIX, readCheckpoint, restoreOptimiser, restoreStore, saveCheckpoint } from '../../model/checkpoint.js';
import { MetricsLog, trainingLoop } from './loop.js';
import { lockRunFolder } from '../io/runLock.js';
import { removeOrphanTempFiles } from '../../io/atomicFile.js';
import { optimiseStep } from './step.js';
import { criticLoss, generatorLoss } from './wgan.js';
import { GAN_DEFAULTS, WGAN_DEFAULTS } from '../../config.js';

export interface GanRun {
  out: string;
  data: string;
  model: GanConfig;
  steps: number;
  batch: number;
  lr: number;
  gamma: number;
  criticSteps: number;
  criticWidth: number;
  /** the critic's minibatch-sd group size (0: off; a resumed run keeps its checkpoint's) */
  criticMbstd?: number;
  saveEvery: number;
  seed: number;
  resume: boolean;
  quiet?: boolean;
}

export const GAN_CHECKPOINT = 'gan.stratum';
export const GAN_METRICS_FILE = 'gan-metrics.jsonl';

export interface GanRow {
  step: number;
  critic: number;
  gen: number;
}

export function saveGan(path: string, g: GanGenerator, adv: Adversary, optG: Adam, step: number, data: string): void {
  const { extra, info } = adversaryState(adv);
  saveCheckpoint(path, g, { kind: 'gan', step, opt: optG, data, info, extra });
}

export function loadGan(path: string, optG?: Adam): { g: GanGenerator; critic: PatchCritic; adv: Adversary; step: number } {
  const ck = readCheckpoint(path);
  if (ck.header.kind !== 'gan') throw new Error(`${path}: not a GAN checkpoint`);
  const g = new GanGenerator(ck.header.model as GanConfig);
  restoreStore(g.store, ck.tensors, path);
  const adv = restoreAdversary(ck, path, 0, GAN_DEFAULTS.criticWidth, optG?.cfg.lr);
  if (!adv) throw new Error(`${path}: GAN checkpoint lacks its critic`);
  if (optG) restoreOptimiser(optG, ck.tensors, OPTIMISER_PREFIX, ck.header.adamStep);
  return { g, critic: adv.critic, adv, step: ck.header.step };
}

export async function trainGan(run: GanRun, data: ImageSet): Promise<{ g: GanGenerator; critic: PatchCritic }> {
  mkdirSync(run.out, { recursive: true });
  const unlock = lockRunFolder(run.out);
  try {
    removeOrphanTempFiles(run.out);
    return await trainGanLocked(run, data);
  } finally {
    unlock();
  }
}

async function trainGanLocked(run: GanRun, data: ImageSet): Promise<{ g: GanGenerator; critic: PatchCritic }> {
  const path = join(run.out, GAN_CHECKPOINT);
  const optG = new Adam({ lr: run.lr, beta1: WGAN_DEFAULTS.beta1, beta2: WGAN_DEFAULTS.beta2, eps: WGAN_DEFAULTS.eps });
  let g: GanGenerator;
  let adv: Adversary;
  let start = 0;
  if (run.resume && existsSync(path)) ({ g, adv, step: start } = loadGan(path, optG));
  else {
    if (existsSync(path) && !run.resume) throw new Error(`${path} exists: pass --resume to continue it or choose another -o/--output folder`);
    g = new GanGenerator(run.model, run.seed);
    adv = newAdversary(run.model.size, run.criticWidth, run.seed + 1, run.lr, run.criticMbstd ?? 0);
  }
  const { critic, opt: optD } = adv;
  const metrics = new MetricsLog<GanRow>(join(run.out, GAN_METRICS_FILE), start);
  await trainingLoop({
    steps: run.steps,
    start,
    label: 'gan ',
    quiet: run.quiet,
    saveEvery: run.saveEvery,
    step: (step) => {
      let dLoss = 0;
      for (let k = 0; k < run.criticSteps; k++) {
        const real = batchTensor(data, batchIndices(data.n, run.batch, run.seed, step * 100 + k));
        const ctx = newCtx(true);
        const fake = tf.tidy(() => g.generate(run.batch, ctx).canvas);
        discardBnUpdates(ctx);
        dLoss = optimiseStep(critic.store, optD, () => criticLoss(critic, real, fake, run.gamma)).loss;
        tf.dispose([real, fake]);
      }
      const gLoss = optimiseStep(g.store, optG, (ctx) => generatorLoss(critic, g.generate(run.batch, ctx).canvas)).loss;
      metrics.add({ step, critic: dLoss, gen: gLoss });
      return `critic ${dLoss.toFixed(3)} gen ${gLoss.toFixed(3)}`;
    },
    save: async (step) => {
      metrics.flush();
      saveGan(path, g, adv, optG, step, run.data);
      await plotGanCurves(join(run.out, 'gan-curves.png'), metrics.rows);
      await sampleGrid(join(run.out, 'samples.png'), g, 16, 7);
    },
  });
  return { g, critic };
}

/** OUT/gan-curves.png: the critic's and the generator's loss against step (also redrawn from a stored gan-metrics.jsonl by scripts/gan-curves.ts) */
export async function plotGanCurves(path: string, rows: readonly GanRow[]): Promise<void> {
  const series = (key: 'critic' | 'gen') => rows.map((r): [number, number] => [r.step, r[key]]);
  await plotPanels(path, [
    { title: 'critic loss (D(fake) − D(real) + γ·GP)', yLabel: 'loss', series: [{ name: 'critic', points: series('critic'), colour: '#d62728' }] },
    { title: 'generator loss (−D(fake))', yLabel: 'loss', series: [{ name: 'generator', points: series('gen'), colour: '#1f77b4' }] },
  ]);
}

/** a grid of generated samples at the training size */
export async function sampleGrid(path: string, g: GanGenerator, n: number, seed: number): Promise<void> {
  const S = g.cfg.size;
  const ctx = newCtx(true);
  const px = tf.tidy(() => g.generate(n, ctx, seed).canvas.dataSync() as Float32Array);
  discardBnUpdates(ctx);
  const cols = Math.ceil(Math.sqrt(n));
  const tiles = Array.from({ length: n }, (_, i) => ({ pixels: px.slice(i * S * S * 3, (i + 1) * S * S * 3), width: S, height: S }));
  const rowsOf = Array.from({ length: Math.ceil(n / cols) }, (_, r) => tiles.slice(r * cols, (r + 1) * cols));
  await writeGrid(path, rowsOf, { scale: S <= 32 ? 3 : 1 });
}

