/** stratum train: its flags and help; the work is src/cli/actions/train.ts, imported only when the command runs */
import { Command, Option } from 'commander';
import { MODEL_DEFAULTS, TRAIN_DEFAULTS } from '../../config.js';
import { int, num, backendOption, outputOption, lazy } from '../options.js';

/** --channels: a comma-separated list of 1 to 16 channel counts, each 1..1024 */
function channelList(v: string): number[] {
  const cs = v.split(',').map((s) => Number(s.trim()));
  if (cs.length < 1 || cs.length > 16 || !cs.every((c) => Number.isInteger(c) && c >= 1 && c <= 1024)) throw new Error(`--channels must be 1 to 16 whole numbers from 1 to 1024 separated by commas, got '${v}'`);
  return cs;
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train the iterative reconstruction model (L1, Adam) with checkpoints, plots and grids in -o/--output')
    .option('--data <spec>', 'data set: fashion-mnist[:DIR] | mnist:DIR | idx:FILE | cifar10:PATH | folder:DIR | patches:DIR[:N] | deadleaves[:N] | photos[:N[:WHOLE_SHARE]]', 'fashion-mnist')
    .option('--resume', 'continue the checkpoint in -o/--output', false)
    .option('--steps <n>', 'training steps', int('--steps'), TRAIN_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), TRAIN_DEFAULTS.batch)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), TRAIN_DEFAULTS.lr)
    .option('--T <n>', 'layers (steps) per image', int('--T'), MODEL_DEFAULTS.T)
    .option('--K <n>', 'mask parameters per layer', int('--K'), MODEL_DEFAULTS.mask.K)
    .option('--size <n>', 'training image size', int('--size', 4), MODEL_DEFAULTS.size)
    .addOption(new Option('--encoder <kind>', 'encoder').choices(['resnet18', 'small']).default(MODEL_DEFAULTS.encoder))
    .option('--channels <list>', `small encoder: channels of its layers (default ${MODEL_DEFAULTS.smallChannels.join(',')}); with --init, wider layers than the model file's grow it and keep what it paints`, channelList)
    .addOption(new Option('--pool <kind>', "small encoder: 'mean' (global average of its last feature map, default) or 'flatten' (every position's features, so the heads know where a feature is); with --init, 'flatten' grows a 'mean' model and keeps what it paints").choices(['mean', 'flatten']))
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
    .option('--adv-lambda <x>', 'add λ·adversarial (WGAN-GP, patch critic) to the L1 loss; 0 = pure L1', num('--adv-lambda', true), TRAIN_DEFAULTS.advLambda)
    .option('--gamma <x>', 'gradient-penalty weight γ (with --adv-lambda)', num('--gamma'), TRAIN_DEFAULTS.gamma)
    .addOption(new Option('--schedule <kind>', "learning rate: 'constant' or 'cosine' (warm-up, then cosine decay to 5% at --steps)").choices(['constant', 'cosine']).default(TRAIN_DEFAULTS.schedule))
    .option('--warmup <n>', 'linear learning-rate warm-up steps', int('--warmup', 0), TRAIN_DEFAULTS.warmup)
    .option('--clip <x>', 'clip the gradient norm to x (0: off)', num('--clip', true), TRAIN_DEFAULTS.clip)
    .option('--ls-loss <w>', 'weight in [0, 1] of the L1 loss on the image painted with least-squares colours for the masks (what decompose paints); the best model is then chosen by that PSNR', num('--ls-loss', true), TRAIN_DEFAULTS.lsLoss)
    .option('--step-loss <w>', 'add w × the mean L1 of every step\'s canvas (deep supervision: each layer is asked to improve the image it is painted on)', num('--step-loss', true), TRAIN_DEFAULTS.stepLoss)
    .option('--coverage-loss <w>', 'add w × a hinge on masks covering less than 2 % of the image (brings layers whose mask has shrunk to nothing back to life)', num('--coverage-loss', true), TRAIN_DEFAULTS.coverageLoss)
    .option('--guard-drop <dB>', 'roll back to the best state when held-out PSNR falls this far below it (0: off)', num('--guard-drop', true), TRAIN_DEFAULTS.guardDrop)
    .option('--guard-loss-jump <x>', 'roll back when the training loss average rises to x times its lowest (0: off)', num('--guard-loss-jump', true), TRAIN_DEFAULTS.guardLossJump)
    .addOption(backendOption());
  outputOption(cmd, 'run folder (checkpoint.stratum, best.stratum, metrics.jsonl, curves.png, grid.png)', 'runs/train').action(lazy(() => import('../actions/train.js'), 'runTrain'));
}
