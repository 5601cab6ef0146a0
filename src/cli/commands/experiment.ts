/** stratum experiment: its flags and help; the work is src/cli/actions/experiment.ts, imported only when the command runs */
import { Command, Option } from 'commander';
import { EXPERIMENT_DEFAULTS, MODEL_DEFAULTS, TRAIN_DEFAULTS } from '../../config.js';
import { DEFAULT_MODEL, int, backendOption, outputOption, lazy } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('experiment')
    .description("reproduce the paper's experiments: table1 (PSNR/SSIM over T×K), table2 (ours vs baselines at |z| 130 and 260, and 20-colour quantisation), jitter (Fig. 16: one mask moved along random directions of p), vectorize (Fig. 5c: the model's render at 1024 against bilinear and bicubic upsampling), transfer (Fig. 15: models on each other's held-out images)")
    .argument('<name>', 'table1 | table2 | jitter | vectorize | transfer')
    .option('--models <list>', 'transfer: comma-separated model files', 'models/default.stratum,models/fashion-mnist.stratum')
    .option('--sets <list>', 'transfer: comma-separated data sets whose held-out images are used (see train --data)', 'photos:2000:0.8:0.8,fashion-mnist')
    .option('--model <file>', 'jitter, vectorize: the model', DEFAULT_MODEL)
    .option('--images <list>', 'jitter (the first), vectorize: comma-separated images', 'samples/sunset.jpg,samples/bag.png')
    .option('--layer <n>', 'jitter: the layer to move (default: the one worth most)', int('--layer', 0))
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--steps <n>', 'training steps per row', int('--steps'), EXPERIMENT_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), TRAIN_DEFAULTS.batch)
    .option('--size <n>', 'image size', int('--size', 8), MODEL_DEFAULTS.size)
    .option('--holdout <n>', 'held-out images', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .addOption(new Option('--encoder <kind>', 'encoder for every row').choices(['resnet18', 'small']).default(EXPERIMENT_DEFAULTS.encoder))
    .option('--show <n>', 'held-out images shown side by side', int('--show'), EXPERIMENT_DEFAULTS.show)
    .option('--seed <n>', 'seed', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption());
  outputOption(cmd, 'results folder', 'runs/experiments').action(lazy(() => import('../actions/experiment.js'), 'runExperiments'));
}
