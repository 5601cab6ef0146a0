/** stratum train */
import { Command, Option } from 'commander';
import { MODEL_DEFAULTS, modelConfig, TRAIN_DEFAULTS, type EncoderKind, type MaskNorm } from '../../config.js';
import { readCheckpoint } from '../../train/checkpoint.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDataset, split } from '../../data/datasets.js';
import { BEST_FILE, CHECKPOINT_FILE, train } from '../../train/trainer.js';
import { existsSync } from 'node:fs';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { checkTraining } from '../limits.js';
import { int, num, backendOption, outputOf, outputOpt, oldOutOption } from '../options.js';
import { join } from 'node:path';

export function register(program: Command): void {
  program
    .command('train')
    .description('train the iterative reconstruction model (L1, Adam) with checkpoints, plots and grids in -o/--output')
    .option('--data <spec>', 'data set: fashion-mnist[:DIR] | mnist:DIR | idx:FILE | cifar10:PATH | folder:DIR | patches:DIR[:N] | deadleaves[:N]', 'fashion-mnist')
    .option('--resume', 'continue the checkpoint in -o/--output', false)
    .option('--steps <n>', 'training steps', int('--steps'), TRAIN_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), TRAIN_DEFAULTS.batch)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), TRAIN_DEFAULTS.lr)
    .option('--T <n>', 'layers (steps) per image', int('--T'), 10)
    .option('--K <n>', 'mask parameters per layer', int('--K'), 10)
    .option('--size <n>', 'training image size', int('--size', 4), 32)
    .addOption(new Option('--encoder <kind>', 'encoder').choices(['resnet18', 'small']).default('resnet18'))
    .addOption(new Option('--norm <mode>', "mask-MLP GroupNorm: 'image' (authors' code) or 'pixel' (paper's table)").choices(['image', 'pixel']).default('image'))
    .option('--stop-canvas-grad', 'feed the canvas to the encoder with gradients stopped (authors\' code)', false)
    .option('--holdout <n>', 'held-out images', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--eval-every <n>', 'held-out PSNR every n steps', int('--eval-every'), TRAIN_DEFAULTS.evalEvery)
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), TRAIN_DEFAULTS.saveEvery)
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .option('--init <model>', 'start from the weights of this model file (architecture taken from it; fresh optimiser), e.g. to fine-tune on another data set')
    .option('--export <file>', 'also write a small weights-only model file at the end')
    .option('--adv-lambda <x>', 'add λ·adversarial (WGAN-GP, patch critic) to the L1 loss; 0 = pure L1', num('--adv-lambda', true), 0)
    .option('--gamma <x>', 'gradient-penalty weight γ (with --adv-lambda)', num('--gamma'), TRAIN_DEFAULTS.gamma)
    .addOption(backendOption())
    .addOption(outputOpt('run folder (checkpoint.stratum, best.stratum, metrics.jsonl, curves.png, grid.png)', 'runs/train'))
    .addOption(oldOutOption())
    .action(async (o, cmd: Command) => {
      o.out = outputOf(cmd);
      if (!(o.advLambda >= 0)) throw new Error('--adv-lambda must be a number ≥ 0');
      checkOutputFolder(o.out);
      checkOutputs([o.export, ...['checkpoint.stratum', 'best.stratum', 'metrics.jsonl', 'curves.png', 'grid.png'].map((f) => join(o.out, f))], [o.init], '--output/--export');
      checkOutputs([o.export], [join(o.out, 'checkpoint.stratum'), join(o.out, 'best.stratum')], '--export');
      const resuming = o.resume && existsSync(join(o.out, CHECKPOINT_FILE));
      if (resuming && o.init) throw new Error(`--init and --resume: ${join(o.out, CHECKPOINT_FILE)} already holds this run's weights; leave out --init`);
      if (resuming) Object.assign(o, architectureOf(join(o.out, CHECKPOINT_FILE), cmd, '--resume'));
      else if (o.init) Object.assign(o, architectureOf(o.init, cmd, '--init'));
      await useBackend(o.backend as BackendName);
      const set = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed, log: (m) => process.stderr.write(`${m}\n`) });
      const data = split(set, Math.min(o.holdout, Math.floor(set.n / 5)), o.seed);
      const model = modelConfig({ T: o.T, size: o.size, encoder: o.encoder as EncoderKind, smallChannels: o.smallChannels ?? MODEL_DEFAULTS.smallChannels, stopCanvasGrad: o.stopCanvasGrad, mask: { K: o.K, norm: o.norm as MaskNorm } });
      checkTraining(model, o.batch, set.data.byteLength);
      const { final } = await train(
        { out: o.out, data: o.data, model, resume: o.resume, initFrom: o.init, exportTo: o.export, train: { ...TRAIN_DEFAULTS, steps: o.steps, batch: o.batch, lr: o.lr, holdout: data.test.n, evalEvery: o.evalEvery, saveEvery: o.saveEvery, seed: o.seed, advLambda: o.advLambda, gamma: o.gamma } },
        data,
      );
      console.log(`held-out PSNR ${final.psnr?.toFixed(2)} dB after ${final.step} steps (${data.test.n} images); run folder ${o.out} (best model: ${BEST_FILE})`);
    });
}

/**
 * With --init the architecture comes from the model file; an architecture flag given on the command
 * line that disagrees with it is an error rather than silently ignored.
 */
function architectureOf(path: string, cmd: Command, how: '--init' | '--resume'): Record<string, unknown> {
  const { header } = readCheckpoint(path);
  if (header.kind) throw new Error(`${path}: a ${header.kind} checkpoint, not a reconstruction model`);
  const m = header.model;
  const fromFile: Record<string, unknown> = { T: m.T, K: m.mask.K, size: m.size, encoder: m.encoder, norm: m.mask.norm, stopCanvasGrad: m.stopCanvasGrad ?? false };
  // a resumed run continues on its own data set; --init may fine-tune on another
  if (how === '--resume' && header.data !== undefined) fromFile.data = header.data;
  for (const [key, value] of Object.entries(fromFile)) {
    const given = cmd.getOptionValue(key);
    const flag = key === 'stopCanvasGrad' ? '--stop-canvas-grad' : `--${key}`;
    if (cmd.getOptionValueSource(key) === 'cli' && given !== value) throw new Error(`${flag} ${given} differs from the model in ${path} (${key} ${value}); leave it out with ${how}`);
  }
  return { ...fromFile, smallChannels: m.smallChannels };
}
