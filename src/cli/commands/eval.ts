/** stratum eval: its flags and help; the work is src/cli/actions/eval.ts, imported only when the command runs */
import { Command } from 'commander';
import { TRAIN_DEFAULTS } from '../../config.js';
import { DEFAULT_MODEL, int, backendOption, lazy } from '../options.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('held-out PSNR of a model on a data set')
    .option('--model <file>', 'model checkpoint', DEFAULT_MODEL)
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--holdout <n>', 'evaluate on the held-out split of this size (same split as training)', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--all', 'evaluate on every image instead of the held-out split', false)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--T <n>', 'layers to use (default: the model\'s T)', int('--T'))
    .option('--seed <n>', 'split seed (as in training)', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption())
    .action(lazy(() => import('../actions/eval.js'), 'runEval'));

}
