/** stratum shapes: choose a model's shape bank (src/research/train/chooseShapeBank.ts) and write the model with it */
import { Command } from 'commander';
import { MAX_SHAPES, SHAPE_BANK_DEFAULTS } from '../../config.js';
import { backendOption, int, num, outputOpt, lazy } from '../options.js';

export const SHAPES_DATA = 'photos:2000:0.8:0.8';

export function register(program: Command): void {
  program
    .command('shapes')
    .description("choose a model's shape bank from training images (decompose then swaps its weakest layers for them) and write the model with it")
    .argument('<model>', 'model file')
    .addOption(outputOpt('model file to write (never the input)'))
    .option('--data <spec>', 'training images (see train --data)', SHAPES_DATA)
    .option('--count <n>', `shapes in the bank (at most ${MAX_SHAPES}; 0 removes the bank)`, int('--count', 0), SHAPE_BANK_DEFAULTS.count)
    .option('--pool-images <n>', 'images whose layers form the pool; the rest of --data choose by usage', int('--pool-images'), SHAPE_BANK_DEFAULTS.poolImages)
    .option('--min-db <x>', 'a pool layer must be worth this many dB', num('--min-db', true), SHAPE_BANK_DEFAULTS.minDb)
    .option('--candidates <n>', 'pool shapes tried while counting usage', int('--candidates'), SHAPE_BANK_DEFAULTS.candidates)
    .option('--edges', "instead of the bank: fit the model's edge shapes (p for which f draws straight edges, corners and stripes; src/research/train/edgeShapes.ts), which placed layers draw from, and keep the bank")
    .option('--edge-steps <n>', 'Adam steps of the edge-shape fit', int('--edge-steps'), 800)
    .option('--seed <n>', 'seed of the images and the pool order', int('--seed', 0), SHAPE_BANK_DEFAULTS.seed)
    .addOption(backendOption())
    .action(lazy(() => import('../actions/shapes.js'), 'runShapes'));
}
