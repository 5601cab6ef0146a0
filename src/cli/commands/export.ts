/** stratum export */
import { Command, Option } from 'commander';
import { extname } from 'node:path';
import { useBackend, type BackendName } from '../../backend/index.js';
import { renderDocument } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { loadDocument } from '../../export/documentFile.js';
import { layerRasters } from '../../export/layerImages.js';
import { writeOraFile } from '../../export/ora.js';
import { writePsdFile } from '../../export/psd.js';
import { writeSvgFile } from '../../export/svg.js';
import { checkOutputs } from '../../io/paths.js';
import { checkRender } from '../limits.js';
import { int, num, backendOption, outputOf, outputOpt, oldOutOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('export a layered document: png (any size), psd and ora (one layer per mask), svg (one traced path per layer)')
    .argument('<doc>', 'layered document (.stratum.json)')
    .addOption(new Option('--format <fmt>', 'format (default: from the file extension)').choices(['png', 'psd', 'ora', 'svg']))
    .option('--size <n>', 'width and height in pixels', int('--size'), 1024)
    .option('--threshold <t>', 'mask threshold for SVG tracing', num('--threshold'), 0.5)
    .addOption(backendOption())
    .addOption(outputOpt('output file (.png, .psd, .ora, .svg)'))
    .addOption(oldOutOption())
    .action(async (docPath: string, o, c: Command) => {
      const output = outputOf(c);
      const fmt = (o.format ?? extname(output).slice(1).toLowerCase()) as string;
      if (!['png', 'psd', 'ora', 'svg'].includes(fmt)) throw new Error(`unsupported export format '${fmt || extname(output)}' (png, psd, ora, svg)`);
      checkOutputs([output], [docPath]);
      if (o.threshold >= 1) throw new Error('--threshold must lie in (0, 1)');
      await useBackend(o.backend as BackendName);
      const doc = loadDocument(docPath);
      checkRender(doc, o.size, o.size, `export to ${fmt}`, fmt !== 'png');
      if (fmt === 'png') await writePng(output, o.size, o.size, renderDocument(doc, o.size).rgb);
      else {
        const r = layerRasters(doc, o.size);
        if (fmt === 'psd') writePsdFile(output, r);
        else if (fmt === 'ora') await writeOraFile(output, r);
        else await writeSvgFile(output, r, o.threshold);
      }
      console.log(`wrote ${output} (${fmt}, ${o.size}², ${doc.layers.length} layers)`);
    });
}
