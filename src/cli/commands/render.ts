/** stratum render */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { renderDocument, renderSize } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { loadDocument } from '../../export/documentFile.js';
import { checkOutputs } from '../../io/paths.js';
import { checkRender } from '../limits.js';
import { int, backendOption, outputOf, outputOpt, oldOutOption } from '../options.js';
import { say, shown } from '../say.js';

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
    .action(async (docPath: string, o, c: Command) => {
      const given = c.opts().output !== undefined || c.opts().out !== undefined;
      if (given) checkOutputs([outputOf(c)], [docPath]);
      await useBackend(o.backend as BackendName);
      const doc = loadDocument(docPath);
      const [w, h] = renderSize(doc, o.size, o.width, o.height);
      const out = given ? outputOf(c) : docPath.replace(/(\.stratum)?\.json$/, '') + `.${w}x${h}.png`;
      checkOutputs([out], [docPath]);
      checkRender(doc, w, h, 'render');
      const r = renderDocument(doc, w, h);
      await writePng(out, w, h, r.rgb);
      say(`wrote ${shown(out)} (${w}×${h}, ${doc.layers.filter((l) => l.visible !== false).length} visible layers)`);
    });
}
