/** stratum gan: its flags and help; the work is src/cli/actions/gan.ts, imported only when the command runs */
import { Command, Option } from 'commander';
import { GAN_DEFAULTS, MODEL_DEFAULTS, TRAIN_DEFAULTS, WGAN_DEFAULTS } from '../../config.js';
import { int, num, backendOption, outputOption, lazy } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('gan')
    .description('train the GAN (WGAN-GP, Adam lr 2e-4, β1 0): a generator builds images layer by layer from noise')
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--resume', 'continue the checkpoint in -o/--output', false)
    .option('--steps <n>', 'generator steps', int('--steps'), GAN_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), GAN_DEFAULTS.batch)
    .option('--lr <x>', 'Adam learning rate (generator and critic)', num('--lr'), WGAN_DEFAULTS.lr)
    .option('--gamma <x>', 'gradient-penalty weight γ', num('--gamma'), WGAN_DEFAULTS.gamma)
    .option('--critic-steps <n>', 'critic updates per generator update', int('--critic-steps'), WGAN_DEFAULTS.criticSteps)
    .option('--critic-width <n>', 'channels of the critic\'s first convolution', int('--critic-width'), GAN_DEFAULTS.criticWidth)
    .option('--critic-mbstd <n>', "the critic's minibatch standard deviation over groups of n samples (Karras et al. 2018; 0: off), against mode collapse", int('--critic-mbstd', 0), GAN_DEFAULTS.criticMbstd)
    .option('--T <n>', 'layers per sample', int('--T'), MODEL_DEFAULTS.T)
    .option('--K <n>', 'mask parameters per layer', int('--K'), MODEL_DEFAULTS.mask.K)
    .option('--size <n>', 'training image size (power of two)', int('--size', 16), MODEL_DEFAULTS.size)
    .option('--noise <n>', 'size of the noise η_t', int('--noise'), GAN_DEFAULTS.noise)
    .addOption(new Option('--encoder <kind>', 'canvas encoder').choices(['resnet18', 'small']).default(GAN_DEFAULTS.encoder))
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), GAN_DEFAULTS.saveEvery)
    .option('--seed <n>', 'random seed', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption());
  outputOption(cmd, 'run folder (gan.stratum, gan-metrics.jsonl, gan-curves.png, samples.png)', 'runs/gan').action(lazy(() => import('../actions/gan.js'), 'runGan'));
}
