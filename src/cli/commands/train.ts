/** stratum train */
import { Command, Option } from 'commander';
import { MODEL_DEFAULTS, modelConfig, TRAIN_DEFAULTS, type EncoderKind, type EncoderNorm, type MaskNorm } from '../../config.js';
import { readCheckpoint } from '../../model/checkpoint.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadSplit } from '../../data/datasets.js';
import { BEST_FILE, train } from '../../train/trainer.js';
import { int, num, nonNegative, backendOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('train')
    .description('train the iterative reconstruction model (L1, Adam) with checkpoints, plots and grids in --out')
    .option('--data <spec>', 'data set: fashion-mnist[:DIR] | mnist:DIR | idx:FILE | cifar10:PATH | folder:DIR | patches:DIR[:N] | deadleaves[:N] | photos[:N]', 'fashion-mnist')
    .option('--out <dir>', 'run folder (checkpoint.stratum, best.stratum, metrics.jsonl, curves.png, grid.png)', 'runs/train')
    .option('--resume', 'continue the checkpoint in --out', false)
    .option('--steps <n>', 'training steps', int('--steps'), TRAIN_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), TRAIN_DEFAULTS.batch)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), TRAIN_DEFAULTS.lr)
    .option('--T <n>', 'layers (steps) per image', int('--T'), MODEL_DEFAULTS.T)
    .option('--K <n>', 'mask parameters per layer', int('--K'), MODEL_DEFAULTS.mask.K)
    .option('--size <n>', 'training image size', int('--size', 4), MODEL_DEFAULTS.size)
    .addOption(new Option('--encoder <kind>', 'encoder').choices(['resnet18', 'small']).default(MODEL_DEFAULTS.encoder))
    .addOption(new Option('--norm <mode>', "mask-MLP GroupNorm: 'image' (authors' code) or 'pixel' (paper's table)").choices(['image', 'pixel']).default(MODEL_DEFAULTS.mask.norm))
    .addOption(new Option('--encoder-norm <kind>', "encoder normalisation: 'batch' (BatchNorm) or 'group' (GroupNorm, as the authors' code)").choices(['batch', 'group']).default(MODEL_DEFAULTS.encoderNorm))
    .option('--stop-canvas-grad', 'feed the canvas to the encoder with gradients stopped (authors\' code)', false)
    .option('--holdout <n>', 'held-out images', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--eval-every <n>', 'held-out PSNR every n steps', int('--eval-every'), TRAIN_DEFAULTS.evalEvery)
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), TRAIN_DEFAULTS.saveEvery)
    .option('--seed <n>', 'random seed', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .option('--init <model>', 'start from the weights of this model file (architecture taken from it; fresh optimiser), e.g. to fine-tune on another data set')
    .option('--export <file>', 'also write a small weights-only model file at the end')
    .option('--adv-lambda <x>', 'add λ·adversarial (WGAN-GP, patch critic) to the L1 loss; 0 = pure L1', Number, TRAIN_DEFAULTS.advLambda)
    .option('--gamma <x>', 'gradient-penalty weight γ (with --adv-lambda)', num('--gamma'), TRAIN_DEFAULTS.gamma)
    .addOption(new Option('--schedule <kind>', "learning rate: 'constant' or 'cosine' (warm-up, then cosine decay to 5% at --steps)").choices(['constant', 'cosine']).default(TRAIN_DEFAULTS.schedule))
    .option('--warmup <n>', 'linear learning-rate warm-up steps', int('--warmup', 0), TRAIN_DEFAULTS.warmup)
    .option('--clip <x>', 'clip the gradient norm to x (0: off)', nonNegative('--clip'), TRAIN_DEFAULTS.clip)
    .option('--guard-drop <dB>', 'roll back to the best state when held-out PSNR falls this far below it (0: off)', nonNegative('--guard-drop'), TRAIN_DEFAULTS.guardDrop)
    .option('--guard-loss-jump <x>', 'roll back when the training loss average rises to x times its lowest (0: off)', nonNegative('--guard-loss-jump'), TRAIN_DEFAULTS.guardLossJump)
    .addOption(backendOption())
    .action(async (o, cmd: Command) => {
      if (!(o.advLambda >= 0)) throw new Error('--adv-lambda must be a number ≥ 0');
      if (o.init) Object.assign(o, architectureOf(o.init, cmd));
      await useBackend(o.backend as BackendName);
      const data = await loadSplit(o.data, o.holdout, { size: o.size, limit: o.limit, seed: o.seed, log: (m) => process.stderr.write(`${m}\n`) });
      const model = modelConfig({ T: o.T, size: o.size, encoder: o.encoder as EncoderKind, smallChannels: o.smallChannels ?? MODEL_DEFAULTS.smallChannels, stopCanvasGrad: o.stopCanvasGrad, encoderNorm: o.encoderNorm as EncoderNorm, mask: { K: o.K, norm: o.norm as MaskNorm } });
      const { final } = await train(
        { out: o.out, data: o.data, model, resume: o.resume, initFrom: o.init, exportTo: o.export, train: { ...TRAIN_DEFAULTS, steps: o.steps, batch: o.batch, lr: o.lr, holdout: data.test.n, evalEvery: o.evalEvery, saveEvery: o.saveEvery, seed: o.seed, advLambda: o.advLambda, gamma: o.gamma, schedule: o.schedule, warmup: o.warmup, clip: o.clip, guardDrop: o.guardDrop, guardLossJump: o.guardLossJump } },
        data,
      );
      console.log(`held-out PSNR ${final.psnr?.toFixed(2)} dB after ${final.step} steps (${data.test.n} images); run folder ${o.out} (best model: ${BEST_FILE})`);
    });
}

/**
 * With --init the architecture comes from the model file; an architecture flag given on the command
 * line that disagrees with it is an error rather than silently ignored.
 */
function architectureOf(path: string, cmd: Command): Record<string, unknown> {
  const { header } = readCheckpoint(path);
  if (header.kind) throw new Error(`${path}: a ${header.kind} checkpoint, not a reconstruction model`);
  const m = header.model;
  const fromFile: Record<string, unknown> = { T: m.T, K: m.mask.K, size: m.size, encoder: m.encoder, norm: m.mask.norm, encoderNorm: m.encoderNorm ?? 'batch' };
  for (const [key, value] of Object.entries(fromFile)) {
    const given = cmd.getOptionValue(key);
    if (cmd.getOptionValueSource(key) === 'cli' && given !== value) throw new Error(`--${key} ${given} differs from the model in ${path} (${key} ${value}); leave it out with --init`);
  }
  return { ...fromFile, smallChannels: m.smallChannels };
}
