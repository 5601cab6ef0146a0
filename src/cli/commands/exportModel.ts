/** stratum export-model: its flags and help; the work is src/cli/actions/exportModel.ts, imported only when the command runs */
import { Command } from 'commander';
import { backendOption, outputOpt, oldOutOption, lazy } from '../options.js';

export function register(program: Command): void {
  program
    .command('export-model')
    .description('write a small weights-only model file (no optimiser state) from a training checkpoint')
    .argument('<checkpoint>', 'training checkpoint (runs/NAME/checkpoint.stratum)')
    .argument('[out]', 'model file to write (or -o/--output)')
    .addOption(backendOption())
    .addOption(outputOpt('model file to write'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/exportModel.js'), 'runExportModel'));
}
