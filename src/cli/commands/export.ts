/** stratum export */
import { Command, Option } from 'commander';
import { EXPORT_DEFAULTS } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDocument } from '../../export/documentFile.js';
import { EXPORT_FORMATS, exportDocument, exportFormat } from '../../export/exportDocument.js';
import { checkOutputs } from '../../io/paths.js';
import { checkRender } from '../limits.js';
import { int, num, backendOption, outputOf, outputOption } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description('export a layered document: png (any size), psd and ora (one layer per mask), svg (one traced path per layer)')
    .argument('<doc>', 'layered document (.stratum.json)')
    .addOption(new Option('--format <fmt>', 'format (default: from the file extension)').choices([...EXPORT_FORMATS]))
    .option('--size <n>', 'width and height in pixels', int('--size'), EXPORT_DEFAULTS.size)
    .option('--threshold <t>', 'mask threshold for SVG tracing', num('--threshold'), EXPORT_DEFAULTS.threshold)
    .addOption(backendOption());
  outputOption(cmd, 'output file (.png, .psd, .ora, .svg)').action(async (docPath: string, o, c: Command) => {
    const output = outputOf(c);
    const fmt = exportFormat(output, o.format);
    checkOutputs([output], [docPath]);
    if (o.threshold >= 1) throw new Error('--threshold must lie in (0, 1)');
    await useBackend(o.backend as BackendName);
    const doc = loadDocument(docPath);
    checkRender(doc, o.size, o.size, `export to ${fmt}`, fmt !== 'png');
    await exportDocument(doc, output, { format: o.format, size: o.size, threshold: o.threshold });
    console.log(`wrote ${output} (${fmt}, ${o.size}², ${doc.layers.length} layers)`);
  });
}
