/** stratum decompose */
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { useBackend, type BackendName } from '../../backend/index.js';
import { documentStore, renderDocument } from '../../core/document.js';
import { canvasAfterEachLayer } from '../../core/blend.js';
import { refineLayers } from '../../model/refine.js';
import { readImageSquare, writePng } from '../../data/images.js';
import { colouredMaskTile, writeGrid, type Tile } from '../../eval/grid.js';
import { saveDocument } from '../../export/documentFile.js';
import { decomposeImage } from '../../model/decomposeImage.js';
import { loadModel } from '../../train/checkpoint.js';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { checkRender } from '../limits.js';
import type { LayeredDocument } from '../../core/document.js';
import { DEFAULT_MODEL, int, num, backendOption, outputOf, outputOpt, oldOutOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('decompose')
    .description('decompose an image into layers: writes the render (PNG, any size), a layers/masks grid and the layered document')
    .argument('<image>', 'input image (jpg, png, webp...)')
    .option('--model <file>', 'model checkpoint', DEFAULT_MODEL)
    .option('--size <n>', 'size of the rendered PNG', int('--size'), 512)
    .option('--T <n>', 'use only the first T layers', int('--T'))
    .option('--refine <n>', 'then optimise p_t and c_t by gradient descent on L1 for n steps', int('--refine', 0), 0)
    .option('--refine-colours-only', 'refine only the colours', false)
    .option('--refine-lr <x>', 'refinement learning rate', num('--refine-lr'), 0.02)
    .addOption(backendOption())
    .addOption(outputOpt('output folder (STEM.png, STEM.layers.png, STEM.stratum.json)', 'out'))
    .addOption(oldOutOption())
    .action(async (image: string, o, c: Command) => {
      const out = outputOf(c);
      checkOutputFolder(out);
      const stem = basename(image, extname(image));
      const outputs = { png: join(out, `${stem}.png`), grid: join(out, `${stem}.layers.png`), doc: join(out, `${stem}.stratum.json`) };
      checkOutputs(Object.values(outputs), [image, o.model]);
      await useBackend(o.backend as BackendName);
      const { model, ckpt } = loadModel(o.model);
      if (o.T && o.T > model.cfg.T * 4) throw new Error(`--T ${o.T} is far beyond the model's T=${model.cfg.T}`);
      const S = model.cfg.size;
      const T = o.T ?? model.cfg.T;
      // the decomposition itself works at the model's size; the render at --size dominates
      const shape = { mask: model.cfg.mask, referenceSize: S, layers: Array.from({ length: T }) } as unknown as LayeredDocument;
      checkRender(shape, o.size, o.size, 'decompose render');
      const rgb = await readImageSquare(image, S);
      const res = decomposeImage(model, rgb, { image: basename(image), checkpoint: basename(o.model), trainedOn: ckpt.header.data }, o.T ?? model.cfg.T);
      let refineNote = '';
      if (o.refine > 0) {
        const store = documentStore(res.doc);
        const target = Float32Array.from(rgb, (v) => v / 255);
        const r = refineLayers(store, res.doc.mask, res.doc.layers, target, S, { steps: o.refine, lr: o.refineLr, coloursOnly: o.refineColoursOnly });
        store.dispose();
        res.doc = { ...res.doc, layers: r.layers.map((l, t) => ({ ...res.doc.layers[t]!, p: l.p, colour: l.colour })), source: { ...res.doc.source, refined: { steps: o.refine, coloursOnly: o.refineColoursOnly, psnrBefore: r.psnrBefore, psnrAfter: r.psnrAfter } } };
        const again = renderDocument(res.doc, S, S, { keepMasks: true });
        res.canvas = again.rgb;
        refineNote = `; refinement ${o.refine} steps: ${r.psnrBefore.toFixed(2)} -> ${r.psnrAfter.toFixed(2)} dB`;
        // per-step canvases and masks of the refined layers
        const canvases = canvasAfterEachLayer(again.masks!, res.doc.layers.map((l) => l.colour));
        res.steps = canvases.map((canvas, t) => ({ canvas, mask: again.masks![t]! }));
      }
      mkdirSync(out, { recursive: true });
      const docPath = outputs.doc;
      saveDocument(docPath, res.doc);
      const big = renderDocument(res.doc, o.size, o.size);
      await writePng(outputs.png, o.size, o.size, big.rgb);
      const tile = (a: Float32Array): Tile => ({ pixels: a, width: S, height: S });
      const inputTile = tile(Float32Array.from(rgb, (v) => v / 255));
      await writeGrid(outputs.grid, [
        [inputTile, tile(res.canvas), ...res.steps.map((s) => tile(s.canvas))],
        [null, null, ...res.steps.map((s, t) => colouredMaskTile(s.mask, res.doc.layers[t]!.colour, S, S))],
      ], { scale: Math.max(1, Math.floor(96 / S)), columnLabels: ['input', 'result', ...res.steps.map((_, t) => `layer ${t + 1}`)] });
      const mse = rgb.reduce((a, v, i) => a + (v / 255 - res.canvas[i]!) ** 2, 0) / rgb.length;
      console.log(`${res.doc.layers.length} layers, PSNR ${(10 * Math.log10(1 / mse)).toFixed(2)} dB at ${S}²${refineNote}; wrote ${outputs.png} (${o.size}²), ${outputs.grid}, ${docPath}`);
    });
}
