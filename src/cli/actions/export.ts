/** stratum export: what the command does (its flags and help: src/cli/commands/export.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { frameSize } from '../../core/document.js';
import { loadDocument } from '../../export/documentFile.js';
import { exportDocument, exportFormat } from '../../export/exportDocument.js';
import { checkOutputs } from '../../io/paths.js';
import { checkExport } from '../limits.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';
import type { OptionValues } from 'commander';

export async function runExport(docPath: string, o: OptionValues, c: Command): Promise<void> {
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
}
