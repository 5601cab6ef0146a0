/** stratum gan */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { modelConfig, type EncoderKind } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDataset } from '../../data/datasets.js';
import { trainGan } from '../../train/ganTrainer.js';
import { WGAN_DEFAULTS } from '../../train/wgan.js';
import { checkOutputFolder } from '../../io/paths.js';
import { checkTraining } from '../limits.js';
import { int, num, backendOption, outputOf, outputOpt, oldOutOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('gan')
    .description('train the GAN (WGAN-GP, Adam lr 2e-4, β1 0): a generator builds images layer by layer from noise')
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--resume', 'continue the checkpoint in -o/--output', false)
    .option('--steps <n>', 'generator steps', int('--steps'), 2000)
    .option('--batch <n>', 'batch size', int('--batch'), 32)
    .option('--lr <x>', 'Adam learning rate (generator and critic)', num('--lr'), WGAN_DEFAULTS.lr)
    .option('--gamma <x>', 'gradient-penalty weight γ', num('--gamma'), WGAN_DEFAULTS.gamma)
    .option('--critic-steps <n>', 'critic updates per generator update', int('--critic-steps'), WGAN_DEFAULTS.criticSteps)
    .option('--critic-width <n>', 'channels of the critic\'s first convolution', int('--critic-width'), 64)
    .option('--T <n>', 'layers per sample', int('--T'), 10)
    .option('--K <n>', 'mask parameters per layer', int('--K'), 10)
    .option('--size <n>', 'training image size (power of two)', int('--size', 16), 32)
    .option('--noise <n>', 'size of the noise η_t', int('--noise'), 32)
    .addOption(new Option('--encoder <kind>', 'canvas encoder').choices(['resnet18', 'small']).default('small'))
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), 100)
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .addOption(backendOption())
    .addOption(outputOpt('run folder (gan.stratum, gan-metrics.jsonl, gan-curves.png, samples.png)', 'runs/gan'))
    .addOption(oldOutOption())
    .action(async (o, c: Command) => {
      o.out = outputOf(c);
      checkOutputFolder(o.out);
      await useBackend(o.backend as BackendName);
      const data = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed });
      const model = { ...modelConfig({ T: o.T, size: o.size, encoder: o.encoder as EncoderKind, mask: { K: o.K } }), noise: o.noise };
      checkTraining(model, o.batch, data.data.byteLength, 'GAN training');
      await trainGan({ out: o.out, data: o.data, model, steps: o.steps, batch: o.batch, lr: o.lr, gamma: o.gamma, criticSteps: o.criticSteps, criticWidth: o.criticWidth, saveEvery: o.saveEvery, seed: o.seed, resume: o.resume }, data);
      console.log(`GAN trained to step ${o.steps}; samples in ${join(o.out, 'samples.png')}`);
    });
}
