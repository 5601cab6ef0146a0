/** stratum render: its flags and help; the work is src/cli/actions/render.ts, imported only when the command runs */
import { Command } from 'commander';
import { int, backendOption, outputOpt, oldOutOption, lazy } from '../options.js';

export function register(program: Command): void {
  program
    .command('render')
    .description('render a layered document at any resolution')
    .argument('<doc>', 'layered document (.stratum.json)')
    .option('--size <n>', "the long side; the other follows the document's frame (square documents: width and height)", int('--size'), 1024)
    .option('--width <n>', 'width (overrides --size; alone, the height follows the frame)', int('--width'))
    .option('--height <n>', 'height (overrides --size; alone, the width follows the frame)', int('--height'))
    .addOption(backendOption())
    .addOption(outputOpt('output PNG (default: next to the document, DOC.WxH.png)'))
    .addOption(oldOutOption())
    .action(lazy(() => import('../actions/render.js'), 'runRender'));
}
