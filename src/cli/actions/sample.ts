/** stratum sample: what the command does (its flags and help: src/cli/commands/sample.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { useBackend, type BackendName } from '../../backend/index.js';
import { renderDocument } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { saveDocument } from '../../export/documentFile.js';
import { loadGan } from '../../research/train/ganTrainer.js';
import { discardBnUpdates, newCtx } from '../../model/nn.js';
import { makeDocument } from '../../core/document.js';
import { canvasAfterEachLayer } from '../../core/stack.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { checkGrid, checkRender, renderEstimate } from '../limits.js';
import type { LayeredDocument } from '../../core/document.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';
import type { OptionValues } from 'commander';

/** most samples of one run */
export const MAX_SAMPLES = 1024;

export async function runSample(o: OptionValues, c: Command): Promise<void> {
  const out = outputOf(c);
  // (a sheet of more rows than this exceeds the PNG writer's 16,383 pixels at any --sheet-size)
  if (o.n > MAX_SAMPLES) throw new Error(`--n ${o.n}: at most ${MAX_SAMPLES} samples (one row each in sheet.png)`);
  checkOutputFolder(out);
  checkOutputs([...Array.from({ length: o.n as number }, (_, i) => [join(out, `sample-${i}.stratum.json`), join(out, `sample-${i}.png`)]).flat(), join(out, 'sheet.png')], [o.model]);
  await useBackend(o.backend as BackendName);
  const { g } = loadGan(o.model);
  const shape = { mask: g.cfg.mask, referenceSize: g.cfg.size, layers: Array.from({ length: g.cfg.T }) } as unknown as LayeredDocument;
  checkRender(shape, o.size, o.size, 'sample render');
  // sheet.png holds every sample's steps: --n rows of T tiles, all kept until it is written
  checkGrid({ columns: g.cfg.T, rows: o.n, tile: o.sheetSize, labels: true }, renderEstimate(shape, o.size, o.size), `sample sheet (--n ${o.n} rows of ${g.cfg.T} tiles at --sheet-size ${o.sheetSize})`);
  const ctx = newCtx(true);
  const samples = g.sampleLayers(o.n, ctx, o.seed);
  discardBnUpdates(ctx);
  mkdirSync(out, { recursive: true });
  const sheet: Tile[][] = [];
  const S = o.sheetSize as number;
  for (let i = 0; i < samples.length; i++) {
    const doc = makeDocument(g.cfg.mask, g.cfg.size, g.store, samples[i]!.map((l, t) => ({ ...l, name: `layer ${t + 1}` })), { gan: basename(o.model), seed: o.seed, index: i });
    saveDocument(join(out, `sample-${i}.stratum.json`), doc);
    await writePng(join(out, `sample-${i}.png`), o.size, o.size, renderDocument(doc, o.size).rgb);
    // the sample built layer by layer: the canvas after each layer
    const small = renderDocument(doc, S, S, { keepMasks: true });
    sheet.push(canvasAfterEachLayer(small.masks!, doc.layers.map((l) => l.colour)).map((pixels) => ({ pixels, width: S, height: S })));
  }
  const sheetPath = join(out, 'sheet.png');
  await writeGrid(sheetPath, sheet, { scale: 1, columnLabels: samples[0]!.map((_, t) => `after ${t + 1}`) });
  say(`wrote ${samples.length} samples at ${o.size}² (trained at ${g.cfg.size}²) to ${shown(out)}, and ${shown(sheetPath)} (each built layer by layer at ${S}²)`);
}
