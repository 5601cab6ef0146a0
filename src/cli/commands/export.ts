/** stratum export: its flags and help; the work is src/cli/actions/export.ts, imported only when the command runs */
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXPORT_DEFAULTS, EXPORT_FORMATS, SVG_DEFAULTS } from '../../config.js';
import { int, num, backendOption, outputOption, lazy } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description('export a layered document: png (any size), psd and ora (one layer per mask), svg (one group per layer: its colour under a mask of nested iso-contours)')
    .argument('<doc>', 'layered document (.stratum.json)')
    .addOption(new Option('--format <fmt>', 'format (default: from the file extension)').choices([...EXPORT_FORMATS]))
    .option('--size <n>', "the long side in pixels (the other follows the document's frame)", int('--size'), EXPORT_DEFAULTS.size)
    .option(
      '--levels <n|auto>',
      `SVG: mask levels per layer (nested iso-contours in a luminance mask); auto = the fewest that reach ${SVG_DEFAULTS.targetPsnr} dB against the render; 1 = one hard contour`,
      (v: string) => {
        if (v.trim() === 'auto') return 'auto';
        if (!/^\s*\d+\s*$/.test(v)) throw new InvalidArgumentError(`--levels must be a whole number in 1..255 or 'auto', got '${v}'`);
        return int('--levels')(v);
      },
      SVG_DEFAULTS.levels,
    )
    .option('--threshold <t>', 'SVG with --levels 1: the mask threshold', num('--threshold'), SVG_DEFAULTS.threshold)
    .addOption(backendOption());
  outputOption(cmd, 'output file (.png, .psd, .ora, .svg)').action(lazy(() => import('../actions/export.js'), 'runExport'));
}
