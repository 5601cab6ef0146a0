/** stratum decompose */
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { REFINE_DEFAULTS } from '../../config.js';
import { psnrOf } from '../../core/psnr.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { renderDocument } from '../../core/document.js';
import { canvasAfterEachLayer } from '../../core/blend.js';
import { refineDecomposition } from '../../model/refineDocument.js';
import { Progress } from '../../io/progress.js';
import { readImageSquare, writePng } from '../../data/images.js';
import { formatContributions, layerContributions } from '../../eval/contribution.js';
import { colouredMaskTile, writeGrid, type Tile } from '../../eval/grid.js';
import { saveDocument } from '../../export/documentFile.js';
import { decomposeImage, maxEncoderSteps } from '../../model/decomposeImage.js';
import { loadModel } from '../../model/checkpoint.js';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { checkRender } from '../limits.js';
import { DECOMPOSE_BYTES } from '../../core/memory.js';
import type { LayeredDocument } from '../../core/document.js';
import { DEFAULT_MODEL, int, num, backendOption, duration, nonNegative, outputOf, outputOption } from '../options.js';
import { say, shown } from '../say.js';

export function register(program: Command): void {
  const cmd = program
    .command('decompose')
    .description('decompose an image into layers: writes the render (PNG, any size), a layers/masks grid and the layered document')
    .argument('<image>', 'input image (jpg, png, webp...)')
    .option('--model <file>', 'model checkpoint', DEFAULT_MODEL)
    .option('--size <n>', 'size of the rendered PNG', int('--size'), 512)
    .option('--T <n>', 'use only the first T layers (same as --layers)', int('--T'))
    .option('--layers <n>', 'number of layers: keeps running the iterative encoder past its T steps (it looks at the canvas)', int('--layers'))
    .option('--greedy <n>', 'then add n layers greedily where the residual is largest (at the fit size)', int('--greedy', 0), 0)
    .option('--refine [steps]', "then optimise every layer's p and c jointly at --fit-size for --budget (or this many steps)", int('--refine', 0))
    .option('--fit-size <n>', 'edge of the grid the refinement fits the image on', int('--fit-size', 8), REFINE_DEFAULTS.fitSize)
    .option('--budget <time>', 'refinement time budget, e.g. 500ms, 2s, 1m (default 2s without a step count)', duration('--budget'))
    .option('--prune <dB>', 'then remove layers whose removal costs less than this many dB at the fit size', nonNegative('--prune'))
    .option('--refine-colours-only', 'refine only the colours', false)
    .option('--no-reorder', "keep the encoder's layers in the order it painted them (by default weak layers are swapped for the model's bank shapes, or without a bank restacked)")
    .option('--no-shapes', "do not swap weak layers for the model's bank shapes (layers worth < 0.1 dB are then tried at the top and the bottom of the stack instead)")
    .option('--no-least-squares', "keep the encoder's colours (and refine colours by Adam on logits) instead of least-squares colours given the masks")
    .option('--refine-lr <x>', 'refinement learning rate (Adam, mask parameters)', num('--refine-lr'), REFINE_DEFAULTS.lr)
    .option('--pixels <n>', 'fit-size pixels evaluated per refinement step (0: all)', int('--pixels', 0), REFINE_DEFAULTS.pixels)
    .addOption(backendOption());
  outputOption(cmd, 'output folder (STEM.png, STEM.layers.png, STEM.stratum.json)', 'out').action(async (image: string, o, c: Command) => {
    if (o.fitSize > 1024) throw new Error(`--fit-size ${o.fitSize} is too large (at most 1024)`);
    const steps = typeof o.refine === 'number' ? o.refine : 0;
    const refining = o.refine !== undefined && (o.refine === true || steps > 0);
    if (!refining && (o.budget !== undefined || o.refineColoursOnly)) throw new Error('--budget and --refine-colours-only need --refine');
    const out = outputOf(c);
    checkOutputFolder(out);
    const stem = basename(image, extname(image));
    const outputs = { png: join(out, `${stem}.png`), grid: join(out, `${stem}.layers.png`), doc: join(out, `${stem}.stratum.json`) };
    checkOutputs(Object.values(outputs), [image, o.model]);
    await useBackend(o.backend as BackendName);
    const { model, ckpt } = loadModel(o.model);
    const N = o.layers ?? o.T ?? model.cfg.T;
    const cap = maxEncoderSteps(model.cfg.T);
    if (N > cap) throw new Error(`--layers ${N} is far beyond the model's T=${model.cfg.T} (at most ${cap})`);
    // each greedy layer is a search over candidates at the fit size: the same cap on layers in all as the editor's
    if (N + o.greedy > cap) throw new Error(`--greedy ${o.greedy}: at most ${cap} layers in all for this model (T=${model.cfg.T}), ${N} of them from the encoder`);
    const S = model.cfg.size;
    // the decomposition itself works at the model's size; the render at --size dominates
    const shape = { mask: model.cfg.mask, referenceSize: S, layers: Array.from({ length: N + o.greedy }) } as unknown as LayeredDocument;
    checkRender(shape, o.size, o.size, 'decompose render', false, DECOMPOSE_BYTES);
    const rgb = await readImageSquare(image, S);
    const res = decomposeImage(model, rgb, { image: basename(image), checkpoint: basename(o.model), trainedOn: ckpt.header.data }, N, { leastSquares: o.leastSquares, reorder: o.reorder, shapes: o.shapes });
    let refineNote = '';
    if (refining || o.greedy > 0 || o.prune !== undefined) {
      const F = o.fitSize as number;
      const target = { rgb: Float32Array.from(await readImageSquare(image, F), (v) => v / 255), size: F };
      const budgetMs = o.budget ?? (steps > 0 ? 0 : REFINE_DEFAULTS.budgetMs);
      const bar = new Progress(steps > 0 ? steps : Math.ceil(budgetMs / 100), 0, 'refine ');
      const r = refineDecomposition(res.doc, target, {
        steps,
        budgetMs,
        lr: o.refineLr,
        coloursOnly: o.refineColoursOnly,
        leastSquares: o.leastSquares,
        pixels: o.pixels,
        addLayers: o.greedy,
        prune: o.prune,
        noOptimise: !refining,
        onStep: (s) => bar.update(steps > 0 ? s.step : Math.min(Math.floor(s.elapsedMs / 100), Math.ceil(budgetMs / 100)), `step ${s.step} PSNR ${s.psnr.toFixed(2)} dB (sample)`),
      });
      if (refining) bar.finish();
      res.doc = r.doc;
      const parts = [];
      if (r.added) parts.push(`${r.added} greedy layers`);
      if (refining) parts.push(`refinement ${r.refine!.steps} steps in ${r.refine!.seconds.toFixed(1)} s`);
      if (o.prune !== undefined) parts.push(`${r.pruned.length} layers pruned`);
      refineNote = `; at ${F}²: ${r.psnrBefore.toFixed(2)} -> ${r.psnrAfter.toFixed(2)} dB (${parts.join(', ')})`;
      // per-step canvases and masks of the final layers at the model's size
      const again = renderDocument(res.doc, S, S, { keepMasks: true });
      res.canvas = again.rgb;
      const canvases = canvasAfterEachLayer(again.masks!, res.doc.layers.map((l) => l.colour));
      res.steps = canvases.map((canvas, t) => ({ canvas, mask: again.masks![t]! }));
    }
    // what each layer is worth: PSNR lost at the model's size when it alone is removed
    const { contributions } = layerContributions(res.doc, Float32Array.from(rgb, (v) => v / 255), S);
    res.doc = { ...res.doc, layers: res.doc.layers.map((l, t) => ({ ...l, contributionDb: Number(contributions[t]!.toFixed(4)) })) };
    mkdirSync(out, { recursive: true });
    saveDocument(outputs.doc, res.doc);
    const big = renderDocument(res.doc, o.size, o.size);
    await writePng(outputs.png, o.size, o.size, big.rgb);
    const tile = (a: Float32Array): Tile => ({ pixels: a, width: S, height: S });
    const inputTile = tile(Float32Array.from(rgb, (v) => v / 255));
    await writeGrid(outputs.grid, [
      [inputTile, tile(res.canvas), ...res.steps.map((s) => tile(s.canvas))],
      [null, null, ...res.steps.map((s, t) => colouredMaskTile(s.mask, res.doc.layers[t]!.colour, S, S))],
    ], { scale: Math.max(1, Math.floor(96 / S)), columnLabels: ['input', 'result', ...res.steps.map((_, t) => `layer ${t + 1}: ${contributions[t]!.toFixed(1)} dB`)] });
    say(`${res.doc.layers.length} layers, PSNR ${psnrOf(rgb, res.canvas, 1, 1 / 255).toFixed(2)} dB at ${S}²${refineNote}; wrote ${shown(outputs.png)} (${o.size}²), ${shown(outputs.grid)}, ${shown(outputs.doc)}`);
    say(formatContributions(contributions, S));
  });
}
