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
import { SVG_DEFAULTS, writeSvgFile } from '../../export/svg.js';
import { int, num, backendOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('export a layered document: png (any size), psd and ora (one layer per mask), svg (one group of stepped-opacity iso-contours per layer)')
    .argument('<doc>', 'layered document (.stratum.json)')
    .requiredOption('-o, --output <file>', 'output file (.png, .psd, .ora, .svg)')
    .addOption(new Option('--format <fmt>', 'format (default: from the file extension)').choices(['png', 'psd', 'ora', 'svg']))
    .option('--size <n>', 'width and height in pixels', int('--size'), 1024)
    .option('--levels <n>', 'SVG: opacity steps per mask (iso-contours at stepped opacities; 1 = one hard contour)', int('--levels'), SVG_DEFAULTS.levels)
    .option('--threshold <t>', 'SVG with --levels 1: the mask threshold', num('--threshold'), SVG_DEFAULTS.threshold)
    .addOption(backendOption())
    .action(async (docPath: string, o) => {
      const fmt = (o.format ?? extname(o.output).slice(1).toLowerCase()) as string;
      if (!['png', 'psd', 'ora', 'svg'].includes(fmt)) throw new Error(`unsupported export format '${fmt || extname(o.output)}' (png, psd, ora, svg)`);
      if (!(o.threshold > 0 && o.threshold < 1)) throw new Error('--threshold must lie in (0, 1)');
      if (o.levels < 1 || o.levels > 255) throw new Error('--levels must lie in 1..255');
      await useBackend(o.backend as BackendName);
      const doc = loadDocument(docPath);
      if (fmt === 'png') await writePng(o.output, o.size, o.size, renderDocument(doc, o.size).rgb);
      else {
        const r = layerRasters(doc, o.size);
        if (fmt === 'psd') writePsdFile(o.output, r);
        else if (fmt === 'ora') await writeOraFile(o.output, r);
        else writeSvgFile(o.output, r, { levels: o.levels, threshold: o.threshold });
      }
      console.log(`wrote ${o.output} (${fmt}, ${o.size}², ${doc.layers.length} layers)`);
    });
}
