/** stratum enhance / train-enhancer (the paper's Fig. 6): flags and help; the work is src/cli/actions/enhance.ts, imported only when a command runs */
import { Command } from 'commander';
import { ENHANCE_DEFAULTS, TRAIN_DEFAULTS } from '../../config.js';
import { int, num, backendOption, outputOpt, outputOption, oldOutOption, lazy, DEFAULT_ENHANCER, DEFAULT_MODEL } from '../options.js';

export function register(program: Command): void {
  program
    .command('enhance')
    .description("render a layered document and add back the photo's details with the enhancer (an image-to-image U-Net, the paper's Fig. 6)")
    .argument('<doc>', 'layered document (.stratum.json)')
    .option('--size <n>', "the long side; the other follows the document's frame", int('--size', 16), 1024)
    .option('--net <file>', 'enhancer (stratum train-enhancer)', DEFAULT_ENHANCER)
    .option('--photo <file>', 'the photo the document came from: print the PSNR of the render and of the enhanced render against it')
    .option('--compare <file>', 'also write the plain render and the enhanced one side by side to this PNG')
    .addOption(backendOption())
    .addOption(outputOpt('output PNG (default: next to the document, DOC.enhanced.WxH.png)'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/enhance.js'), 'runEnhance'));
  const train = program
    .command('train-enhancer')
    .description("train the enhancer on pairs (Stratum render → photo) from the photo corpus: U-Net, L1 + λ·WGAN-GP patch critic (pix2pix's loss)")
    .option('--model <file>', 'reconstruction model whose renders are enhanced', DEFAULT_MODEL)
    .option('--data <spec>', 'training photos (see train --data)', ENHANCE_DEFAULTS.train)
    .option('--test <spec>', 'held-out photos', ENHANCE_DEFAULTS.test)
    .option('--size <n>', 'crop size of the pairs (a power of two ≥ 16)', int('--size', 16), ENHANCE_DEFAULTS.size)
    .option('--steps <n>', 'training steps', int('--steps'), ENHANCE_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), ENHANCE_DEFAULTS.batch)
    .option('--lr <x>', 'Adam learning rate (U-Net and critic)', num('--lr'), ENHANCE_DEFAULTS.lr)
    .option('--lambda <x>', 'weight of the adversarial term (0: L1 alone, no critic)', num('--lambda', true), ENHANCE_DEFAULTS.lambda)
    .option('--critic-width <n>', "channels of the critic's first convolution", int('--critic-width'), ENHANCE_DEFAULTS.criticWidth)
    .option('--width <n>', "channels of the U-Net's first level", int('--width'), ENHANCE_DEFAULTS.width)
    .option('--depth <n>', 'U-Net levels below the input resolution', int('--depth'), ENHANCE_DEFAULTS.depth)
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), ENHANCE_DEFAULTS.saveEvery)
    .option('--eval-every <n>', 'held-out PSNR every n steps', int('--eval-every'), ENHANCE_DEFAULTS.evalEvery)
    .option('--limit <n>', 'use at most this many training photos', int('--limit'))
    .option('--seed <n>', 'random seed', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .option('--resume', 'continue the enhancer in -o/--output', false)
    .addOption(backendOption());
  outputOption(train, 'run folder (enhancer.stratum, enhance-metrics.jsonl, enhance-curves.png, enhance.png, enhance.json)', 'runs/enhance').action(lazy(() => import('../actions/enhance.js'), 'runTrainEnhancer'));
}
