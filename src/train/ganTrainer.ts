/**
 * GAN training (WGAN-GP, Adam lr 2e-4, β1 0): `criticSteps` critic updates on real images and
 * generated ones, then one generator update. Checkpoints hold generator, critic and both optimisers,
 * written atomically; a killed run resumes.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Progress } from '../cli/progress.js';
import * as tf from '../core/tf.js';
import { batchTensor, type ImageSet } from '../data/imageSet.js';
import { plotPanels } from '../eval/plot.js';
import { writeGrid } from '../eval/grid.js';
import { PatchCritic } from '../model/critic.js';
import { GanGenerator, type GanConfig } from '../model/ganGenerator.js';
import { discardBnUpdates, newCtx } from '../model/nn.js';
import { Adam } from './adam.js';
import { batchIndices } from './batches.js';
import { readCheckpoint, saveCheckpoint } from './checkpoint.js';
import { lockRunFolder, readMetrics } from './trainer.js';
import { removeOrphanTempFiles } from '../io/atomicFile.js';
import { optimiseStep } from './step.js';
import { criticLoss, generatorLoss, WGAN_DEFAULTS } from './wgan.js';

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
  saveEvery: number;
  seed: number;
  resume: boolean;
  quiet?: boolean;
}

export const GAN_CHECKPOINT = 'gan.stratum';

function prefixed(prefix: string, m: Map<string, tf.Variable>): [string, tf.Tensor][] {
  return [...m].map(([k, v]) => [`${prefix}${k}`, v]);
}

export function saveGan(path: string, g: GanGenerator, critic: PatchCritic, optG: Adam, optD: Adam, step: number, data: string): void {
  saveCheckpoint(path, g, {
    kind: 'gan',
    step,
    opt: optG,
    data,
    info: { criticWidth: critic.cfg.width, optDStep: optD.step },
    extra: [...prefixed('', new Map([...critic.store.entries].map(([k, e]) => [k, e.variable]))), ...prefixed('adamD.m.', optD.m), ...prefixed('adamD.v.', optD.v)],
  });
}

export function loadGan(path: string, optG?: Adam, optD?: Adam): { g: GanGenerator; critic: PatchCritic; step: number } {
  const ck = readCheckpoint(path);
  if (ck.header.kind !== 'gan') throw new Error(`${path}: not a GAN checkpoint`);
  const g = new GanGenerator(ck.header.model as GanConfig);
  const width = ck.header.info?.criticWidth ?? 64;
  if (!Number.isInteger(width) || (width as number) < 1 || (width as number) > 4096) throw new Error(`${path}: info.criticWidth must be an integer in [1, 4096]`);
  const critic = new PatchCritic({ size: ck.header.model.size, width: width as number });
  for (const store of [g.store, critic.store]) {
    for (const [name, e] of store.entries) {
      const t = ck.tensors.get(name);
      if (!t) throw new Error(`${path}: checkpoint lacks ${name}`);
      if (t.shape.join(',') !== e.variable.shape.join(',')) throw new Error(`${path}: ${name} has shape [${t.shape}] in the checkpoint, the model expects [${e.variable.shape}]`);
      e.variable.assign(tf.tensor(t.values, t.shape));
    }
  }
  for (const [name, t] of ck.tensors) {
    const m = /^adam(D?)\.(m|v)\.(.*)$/.exec(name);
    if (!m) continue;
    const opt = m[1] ? optD : optG;
    if (opt) (m[2] === 'm' ? opt.m : opt.v).set(m[3]!, tf.variable(tf.tensor(t.values, t.shape), false));
  }
  if (optG) optG.step = ck.header.adamStep;
  if (optD) optD.step = Number(ck.header.info?.optDStep ?? 0);
  return { g, critic, step: ck.header.step };
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
  const adam = { lr: run.lr, beta1: WGAN_DEFAULTS.beta1, beta2: WGAN_DEFAULTS.beta2, eps: 1e-8 };
  const optG = new Adam(adam);
  const optD = new Adam(adam);
  let g: GanGenerator;
  let critic: PatchCritic;
  let start = 0;
  if (run.resume && existsSync(path)) ({ g, critic, step: start } = loadGan(path, optG, optD));
  else {
    if (existsSync(path) && !run.resume) throw new Error(`${path} exists: pass --resume to continue it or choose another -o/--output folder`);
    g = new GanGenerator(run.model, run.seed);
    critic = new PatchCritic({ size: run.model.size, width: run.criticWidth }, run.seed + 1);
  }
  const logPath = join(run.out, 'gan-metrics.jsonl');
  const rows = start > 0 ? readMetrics<{ step: number; critic: number; gen: number }>(logPath, start) : [];
  writeFileSync(logPath, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  const bar = new Progress(run.steps, start, 'gan ');
  for (let step = start + 1; step <= run.steps; step++) {
    let dLoss = 0;
    for (let k = 0; k < run.criticSteps; k++) {
      const real = batchTensor(data, batchIndices(data.n, run.batch, run.seed, step * 100 + k));
      const ctx = newCtx(true);
      const fake = tf.tidy(() => g.generate(run.batch, ctx).canvas);
      discardBnUpdates(ctx);
      dLoss = optimiseStep(critic.store, optD, () => criticLoss(critic, real, fake, run.gamma));
      tf.dispose([real, fake]);
    }
    const gLoss = optimiseStep(g.store, optG, (ctx) => generatorLoss(critic, g.generate(run.batch, ctx).canvas));
    const row = { step, critic: dLoss, gen: gLoss };
    rows.push(row);
    writeFileSync(logPath, JSON.stringify(row) + '\n', { flag: 'a' });
    if (!run.quiet) bar.update(step, `critic ${dLoss.toFixed(3)} gen ${gLoss.toFixed(3)}`);
    if (step % run.saveEvery === 0 || step === run.steps) {
      saveGan(path, g, critic, optG, optD, step, run.data);
      await plotPanels(join(run.out, 'gan-curves.png'), [
        { title: 'critic loss (D(fake) − D(real) + γ·GP)', yLabel: 'loss', series: [{ name: 'critic', points: rows.map((r) => [r.step, r.critic]), colour: '#d62728' }] },
        { title: 'generator loss (−D(fake))', yLabel: 'loss', series: [{ name: 'generator', points: rows.map((r) => [r.step, r.gen]), colour: '#1f77b4' }] },
      ]);
      await sampleGrid(join(run.out, 'samples.png'), g, 16, 7);
    }
  }
  bar.finish();
  return { g, critic };
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

