/** stratum train: what the command does (its flags and help: src/cli/commands/train.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { MODEL_DEFAULTS, modelConfig, TRAIN_DEFAULTS, type EncoderKind, type EncoderNorm, type MaskNorm } from '../../config.js';
import { readCheckpoint } from '../../model/checkpoint.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadSplit } from '../../research/data/datasets.js';
import { BEST_FILE, CHECKPOINT_FILE, train } from '../../research/train/trainer.js';
import { existsSync } from 'node:fs';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { checkModelFlags, checkTraining } from '../limits.js';
import { outputOf } from '../options.js';
import { join } from 'node:path';
import { say, shown } from '../say.js';

/** the loss weights a run records and --resume keeps (its objective, which also picks its best model), by flag */
const OBJECTIVE_FLAGS = { lsLoss: '--ls-loss', stepLoss: '--step-loss', coverageLoss: '--coverage-loss' } as const;

/**
 * With --init the architecture comes from the model file; an architecture flag given on the command
 * line that disagrees with it is an error rather than silently ignored.
 */
function architectureOf(path: string, cmd: Command, how: '--init' | '--resume'): Record<string, unknown> {
  const { header } = readCheckpoint(path);
  if (header.kind) throw new Error(`${path}: a ${header.kind} checkpoint, not a reconstruction model`);
  const m = header.model;
  const fromFile: Record<string, unknown> = { T: m.T, K: m.mask.K, size: m.size, encoder: m.encoder, norm: m.mask.norm, encoderNorm: m.encoderNorm ?? 'batch', stopCanvasGrad: m.stopCanvasGrad ?? false };
  // a resumed run continues on its own data set and objective (which PSNR picks its best model); --init may fine-tune on another
  if (how === '--resume' && header.data !== undefined) fromFile.data = header.data;
  for (const key of Object.keys(OBJECTIVE_FLAGS) as (keyof typeof OBJECTIVE_FLAGS)[]) {
    if (how === '--resume' && header.train?.[key] !== undefined) fromFile[key] = header.train[key];
  }
  for (const [key, value] of Object.entries(fromFile)) {
    const given = cmd.getOptionValue(key);
    const objective = key in OBJECTIVE_FLAGS;
    const flag = key === 'stopCanvasGrad' ? '--stop-canvas-grad' : key === 'encoderNorm' ? '--encoder-norm' : objective ? OBJECTIVE_FLAGS[key as keyof typeof OBJECTIVE_FLAGS] : `--${key}`;
    if (cmd.getOptionValueSource(key) === 'cli' && given !== value) throw new Error(`${flag} ${given} differs from the ${objective ? 'run' : 'model'} in ${path} (${key} ${value}); leave it out with ${how}`);
  }
  const channels = cmd.getOptionValue('channels') as number[] | undefined;
  if (channels && how === '--resume' && channels.join(',') !== m.smallChannels.join(',')) throw new Error(`--channels ${channels.join(',')} differs from the model in ${path} (${m.smallChannels.join(',')}); leave it out with --resume`);
  const pool = cmd.getOptionValue('pool') as string | undefined;
  if (pool && how === '--resume' && pool !== (m.smallPool ?? 'mean')) throw new Error(`--pool ${pool} differs from the model in ${path} (${m.smallPool ?? 'mean'}); leave it out with --resume`);
  return { ...fromFile, smallChannels: m.smallChannels, smallPool: m.smallPool ?? 'mean' };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runTrain(o: any, cmd: Command): Promise<void> {
  o.out = outputOf(cmd);
  // every flag is checked before anything is read or made (the run folder is made by train())
  checkModelFlags(o);
  checkOutputFolder(o.out);
  checkOutputs([o.export, ...['checkpoint.stratum', 'best.stratum', 'metrics.jsonl', 'curves.png', 'grid.png'].map((f) => join(o.out, f))], [o.init], '--output/--export');
  checkOutputs([o.export], [join(o.out, 'checkpoint.stratum'), join(o.out, 'best.stratum')], '--export');
  const resuming = o.resume && existsSync(join(o.out, CHECKPOINT_FILE));
  if (resuming && o.init) throw new Error(`--init and --resume: ${join(o.out, CHECKPOINT_FILE)} already holds this run's weights; leave out --init`);
  if (resuming) Object.assign(o, architectureOf(join(o.out, CHECKPOINT_FILE), cmd, '--resume'));
  else if (o.init) Object.assign(o, architectureOf(o.init, cmd, '--init'));
  // (after the run's own objective is taken from its checkpoint: a crafted one is held to the flags' ranges too)
  if (!(o.advLambda >= 0)) throw new Error('--adv-lambda must be a number ≥ 0');
  if (!(o.lsLoss >= 0 && o.lsLoss <= 1)) throw new Error(`--ls-loss must be a weight in [0, 1], got ${o.lsLoss}`);
  if (!(o.stepLoss >= 0 && o.stepLoss <= 10)) throw new Error(`--step-loss must be a weight in [0, 10], got ${o.stepLoss}`);
  if (!(o.coverageLoss >= 0 && o.coverageLoss <= 100)) throw new Error(`--coverage-loss must be a weight in [0, 100], got ${o.coverageLoss}`);
  if (o.coverageLoss > 0 && o.advLambda > 0) throw new Error('--coverage-loss and --adv-lambda: the adversarial step has its own loss; use one of them');
  if (o.stepLoss > 0 && o.advLambda > 0) throw new Error('--step-loss and --adv-lambda: the adversarial step has its own loss; use one of them');
  if (o.lsLoss > 0 && o.advLambda > 0) throw new Error('--ls-loss and --adv-lambda: the adversarial step trains on the encoder\'s colours only; use one of them');
  if (o.channels && o.encoder !== 'small') throw new Error(`--channels sets the small encoder's layers; this run's encoder is ${o.encoder}`);
  if (o.pool && o.encoder !== 'small') throw new Error(`--pool sets the small encoder's pooling; this run's encoder is ${o.encoder}`);
  await useBackend(o.backend as BackendName);
  const data = await loadSplit(o.data, o.holdout, { size: o.size, limit: o.limit, seed: o.seed, log: (m) => process.stderr.write(`${m}\n`) });
  const model = modelConfig({ T: o.T, size: o.size, encoder: o.encoder as EncoderKind, smallChannels: o.channels ?? o.smallChannels ?? MODEL_DEFAULTS.smallChannels, smallPool: o.pool ?? o.smallPool ?? 'mean', stopCanvasGrad: o.stopCanvasGrad, encoderNorm: o.encoderNorm as EncoderNorm, mask: { K: o.K, norm: o.norm as MaskNorm } });
  checkTraining(model, o.batch, data.train.data.byteLength + data.test.data.byteLength);
  const { final } = await train(
    { out: o.out, data: o.data, model, resume: o.resume, initFrom: o.init, exportTo: o.export, train: { ...TRAIN_DEFAULTS, steps: o.steps, batch: o.batch, lr: o.lr, holdout: data.test.n, evalEvery: o.evalEvery, saveEvery: o.saveEvery, seed: o.seed, advLambda: o.advLambda, gamma: o.gamma, schedule: o.schedule, warmup: o.warmup, clip: o.clip, lsLoss: o.lsLoss, stepLoss: o.stepLoss, coverageLoss: o.coverageLoss, guardDrop: o.guardDrop, guardLossJump: o.guardLossJump } },
    data,
  );
  say(`held-out PSNR ${final.psnr?.toFixed(2)} dB after ${final.step} steps (${data.test.n} images); run folder ${shown(o.out)} (best model: ${BEST_FILE})`);
}
