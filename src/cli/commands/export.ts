/** stratum export */
import { Command, Option } from 'commander';
import { EXPORT_DEFAULTS } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDocument } from '../../export/documentFile.js';
import { EXPORT_FORMATS, exportDocument, exportFormat } from '../../export/exportDocument.js';
import { int, num, backendOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('export a layered document: png (any size), psd and ora (one layer per mask), svg (one traced path per layer)')
    .argument('<doc>', 'layered document (.stratum.json)')
    .requiredOption('-o, --output <file>', 'output file (.png, .psd, .ora, .svg)')
    .addOption(new Option('--format <fmt>', 'format (default: from the file extension)').choices([...EXPORT_FORMATS]))
    .option('--size <n>', 'width and height in pixels', int('--size'), EXPORT_DEFAULTS.size)
    .option('--threshold <t>', 'mask threshold for SVG tracing', num('--threshold'), EXPORT_DEFAULTS.threshold)
    .addOption(backendOption())
    .action(async (docPath: string, o) => {
      exportFormat(o.output, o.format);
      if (o.threshold >= 1) throw new Error('--threshold must lie in (0, 1)');
      await useBackend(o.backend as BackendName);
      const doc = loadDocument(docPath);
      const fmt = await exportDocument(doc, o.output, { format: o.format, size: o.size, threshold: o.threshold });
      console.log(`wrote ${o.output} (${fmt}, ${o.size}², ${doc.layers.length} layers)`);
    });
}
