/** stratum render: what the command does (its flags and help: src/cli/commands/render.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { renderDocument, renderSize } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { loadDocument } from '../../export/documentFile.js';
import { checkOutputs } from '../../io/paths.js';
import { checkRender } from '../limits.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';
import type { OptionValues } from 'commander';

export async function runRender(docPath: string, o: OptionValues, c: Command): Promise<void> {
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
}
