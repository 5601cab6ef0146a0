/**
 * stratum export-torch / import-torch / export-data: moving models and data sets between Stratum
 * and its PyTorch twin (python/stratum_torch), which trains on GPUs and across machines with
 * DistributedDataParallel (docs/scale.md). Weights travel as safetensors in the twin's layout
 * (src/research/model/torchWeights.ts), data sets as the uint8 arrays `stratum train` would train on.
 */
import { Command } from 'commander';
import { MODEL_DEFAULTS, TRAIN_DEFAULTS } from '../../config.js';
import { backendOption, int, oldOutOption, outputOpt, lazy } from '../options.js';

export function register(program: Command): void {
  program
    .command('export-torch')
    .description("write a model file or training checkpoint as safetensors for the PyTorch twin (python/stratum_torch): its state_dict names and layout, shape bank and optimiser state included, the architecture in the metadata")
    .argument('<model>', 'model file or training checkpoint (.stratum)')
    .argument('[out]', 'safetensors file to write (or -o/--output)')
    .addOption(backendOption())
    .addOption(outputOpt('safetensors file to write'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/torch.js'), 'runExportTorch'));

  program
    .command('import-torch')
    .description('write a Stratum model file (or training checkpoint, with optimiser state) from a safetensors file of the PyTorch twin or of export-torch')
    .argument('<safetensors>', 'safetensors file (python/stratum_torch, or stratum export-torch)')
    .argument('[out]', 'model file to write (or -o/--output)')
    .addOption(backendOption())
    .addOption(outputOpt('model file to write'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/torch.js'), 'runImportTorch'));

  program
    .command('export-data')
    .description("write a data set's training and held-out images, split as `stratum train` splits them, as uint8 .npy arrays [N, S, S, 3] for the PyTorch twin")
    .requiredOption('--data <spec>', 'data set (see train --data)')
    .option('--size <n>', 'image size', int('--size', 4), MODEL_DEFAULTS.size)
    .option('--holdout <n>', 'held-out images', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--seed <n>', 'seed of the split (as train --seed)', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption())
    .addOption(outputOpt('folder to write train.npy, test.npy and data.json into'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/torch.js'), 'runExportData'));
}
