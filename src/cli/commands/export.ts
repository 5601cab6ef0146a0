/** stratum export */
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXPORT_DEFAULTS } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { frameSize } from '../../core/document.js';
import { loadDocument } from '../../export/documentFile.js';
import { EXPORT_FORMATS, exportDocument, exportFormat } from '../../export/exportDocument.js';
import { checkOutputs } from '../../io/paths.js';
import { checkExport } from '../limits.js';
import { SVG_DEFAULTS } from '../../export/svg.js';
import { int, num, backendOption, outputOf, outputOption } from '../options.js';
import { say, shown } from '../say.js';

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
  outputOption(cmd, 'output file (.png, .psd, .ora, .svg)').action(async (docPath: string, o, c: Command) => {
    const output = outputOf(c);
    const fmt = exportFormat(output, o.format);
    checkOutputs([output], [docPath]);
    if (o.threshold >= 1) throw new Error('--threshold must lie in (0, 1)');
    if (o.levels !== 'auto' && (o.levels < 1 || o.levels > 255)) throw new Error("--levels must lie in 1..255, or be 'auto'");
    await useBackend(o.backend as BackendName);
    const doc = loadDocument(docPath);
    checkExport(doc, o.size, fmt);
    await exportDocument(doc, output, { format: o.format, size: o.size, threshold: o.threshold, levels: o.levels });
    const [w, h] = frameSize(doc, o.size);
    say(`wrote ${shown(output)} (${fmt}, ${w}×${h}, ${doc.layers.length} layers)`);
  });
}
