/** stratum decompose: its flags and help; the work is src/cli/actions/decompose.ts, imported only when the command runs */
import { Command } from 'commander';
import { REFINE_DEFAULTS } from '../../config.js';
import { DEFAULT_MODEL, int, num, backendOption, duration, nonNegative, outputOption, lazy } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('decompose')
    .description('decompose images into layers: for each, writes the render (PNG, any size), a layers/masks grid and the layered document; several images go through a pool of worker processes')
    .argument('<images...>', 'input images (jpg, png, webp...), folders of images, or quoted globs such as "photos/*.jpg"')
    .option('--model <file>', 'model checkpoint', DEFAULT_MODEL)
    .option('--size <n>', 'size of the rendered PNG', int('--size'), 512)
    .option('--T <n>', 'use only the first T layers (same as --layers)', int('--T'))
    .option('--layers <n>', "number of layers N: up to the model's T from its forward pass; above T, N − T placed layers of the learned shape family fitted to the whole frame (see --budget)", int('--layers'))
    .option('--greedy <n>', 'then add n layers greedily where the residual is largest (at the fit size)', int('--greedy', 0), 0)
    .option('--refine [steps]', "then optimise every layer's p and c jointly at --fit-size for --budget (or this many steps)", int('--refine', 0))
    .option('--fit-size <n>', 'edge of the grid the refinement fits the image on (placed layers: its long side, default 256)', int('--fit-size', 8), REFINE_DEFAULTS.fitSize)
    .option('--budget <time>', 'time to find the layers (with --layers above T) or to refine them (with --refine), e.g. 500ms, 2s, 1m; default for --refine 2s', duration('--budget'))
    .option('--prune <dB>', 'then remove layers whose removal costs less than this many dB at the fit size', nonNegative('--prune'))
    .option('--refine-colours-only', 'refine only the colours', false)
    .option('--no-reorder', "keep the encoder's layers in the order it painted them (by default weak layers are swapped for the model's bank shapes, or without a bank restacked)")
    .option('--no-shapes', "do not swap weak layers for the model's bank shapes (layers worth < 0.1 dB are then tried at the top and the bottom of the stack instead)")
    .option('--no-least-squares', "keep the encoder's colours (and refine colours by Adam on logits) instead of least-squares colours given the masks")
    .option('--refine-lr <x>', 'refinement learning rate (Adam, mask parameters)', num('--refine-lr'), REFINE_DEFAULTS.lr)
    .option('--pixels <n>', 'fit-size pixels evaluated per refinement step (0: all)', int('--pixels', 0), REFINE_DEFAULTS.pixels)
    .option('--crisp', 'crisp layers: flat regions with anti-aliased edges (every layer at logit gain ≥ 8); the default with placed layers (--layers above the model\'s T)')
    .option('--soft', 'soft layers: a layer may be a wash (a gradient) as well as a region; a little more PSNR, a less vector look')
    .option('--jobs <n>', 'several images: worker processes (default: the CPU cores, at most the images)', int('--jobs'))
    .option('--skip-existing', 'several images: skip an image whose three files are already in the output folder', false)
    .addOption(backendOption());
  outputOption(cmd, 'output folder (STEM.png, STEM.layers.png, STEM.stratum.json for each image; with several, summary.csv)', 'out').action(lazy(() => import('../actions/decompose.js'), 'runDecompose'));
  program
    .command('decompose-worker', { hidden: true })
    .description('(internal) one worker of `stratum decompose IMAGES...`')
    .action(lazy(() => import('../decomposeBatch.js'), 'runWorker'));
}
