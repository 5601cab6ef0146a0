/** stratum render */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { renderDocument } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { loadDocument } from '../../export/documentFile.js';
import { int, backendOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('render')
    .description('render a layered document at any resolution')
    .argument('<doc>', 'layered document (.stratum.json)')
    .option('--size <n>', 'width and height', int('--size'), 1024)
    .option('--width <n>', 'width (overrides --size)', int('--width'))
    .option('--height <n>', 'height (overrides --size)', int('--height'))
    .option('-o, --output <file>', 'output PNG (default: next to the document)')
    .addOption(backendOption())
    .action(async (docPath: string, o) => {
      await useBackend(o.backend as BackendName);
      const doc = loadDocument(docPath);
      const w = o.width ?? o.size;
      const h = o.height ?? o.size;
      const out = o.output ?? docPath.replace(/(\.stratum)?\.json$/, '') + `.${w}x${h}.png`;
      const r = renderDocument(doc, w, h);
      await writePng(out, w, h, r.rgb);
      console.log(`wrote ${out} (${w}×${h}, ${doc.layers.filter((l) => l.visible !== false).length} visible layers)`);
    });
}
