/** stratum sample: its flags and help; the work is src/cli/actions/sample.ts, imported only when the command runs */
import { Command } from 'commander';
import { int, backendOption, outputOpt, oldOutOption, lazy } from '../options.js';

export function register(program: Command): void {
  program
    .command('sample')
    .description('draw GAN samples and render them at any resolution (e.g. trained at 32, written at 1024)')
    .option('--model <file>', 'GAN checkpoint', 'runs/gan/gan.stratum')
    .option('--n <n>', 'number of samples', int('--n'), 8)
    .option('--size <n>', 'output size in pixels', int('--size'), 1024)
    .option('--seed <n>', 'noise seed', int('--seed', 0), 0)
    .option('--sheet-size <n>', 'tile size of sheet.png (the canvas after each layer, each sample at --size)', int('--sheet-size', 8), 64)
    .addOption(backendOption())
    .addOption(outputOpt('output folder', 'out/samples'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/sample.js'), 'runSample'));
}
