#!/usr/bin/env node
/**
 * stratum — learn, decompose, render and evaluate layered images.
 *   stratum train     train the reconstruction model on a data set
 *   stratum decompose decompose an image into layers with a trained model
 *   stratum render    render a layered document at any size
 *   stratum eval      held-out PSNR of a model on a data set
 * Every failure is one line on stderr and a non-zero exit code.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelConfig, TRAIN_DEFAULTS, type EncoderKind, type MaskNorm } from '../config.js';
import { useBackend, type BackendName } from '../backend/index.js';
import { documentStore, renderDocument } from '../core/document.js';
import { blendLayerInto } from '../core/blend.js';
import { refineLayers } from '../model/refine.js';
import { loadDataset, split } from '../data/datasets.js';
import { readImageSquare, writePng } from '../data/images.js';
import { colouredMaskTile, writeGrid, type Tile } from '../eval/grid.js';
import { evaluate } from '../eval/reconstruct.js';
import { markdownTable, runExperiment } from '../eval/experiments.js';
import { loadDocument, saveDocument } from '../export/documentFile.js';
import { layerRasters } from '../export/layerImages.js';
import { writeOraFile } from '../export/ora.js';
import { writePsdFile } from '../export/psd.js';
import { writeSvgFile } from '../export/svg.js';
import { brightenInMask, checkLayer, jitterLayer, moveLayer, parseColour, recolour, removeLayers, setVisible, tintInMask } from '../edit/edits.js';
import sharp from 'sharp';
import { decomposeImage } from '../model/decomposeImage.js';
import { loadModel, saveCheckpoint } from '../train/checkpoint.js';
import { train } from '../train/trainer.js';
import { loadGan, trainGan } from '../train/ganTrainer.js';
import { WGAN_DEFAULTS } from '../train/wgan.js';
import { discardBnUpdates, newCtx } from '../model/nn.js';
import { makeDocument } from '../core/document.js';
import { serveEditor } from './serve.js';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), existsSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../package.json')) ? '../..' : '../../..');
export const DEFAULT_MODEL = join(PACKAGE_ROOT, 'models', 'default.stratum');

function int(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}
function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

const backendOption = () => new Option('--backend <name>', 'compute backend').choices(['auto', 'native', 'cpu', 'wasm']).default('auto');

export function buildCli(): Command {
  const program = new Command('stratum')
    .description('Learn to build images out of a few single-colour layers with smooth, resolution-free masks')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('train')
    .description('train the iterative reconstruction model (L1, Adam) with checkpoints, plots and grids in --out')
    .option('--data <spec>', 'data set: fashion-mnist[:DIR] | mnist:DIR | idx:FILE | cifar10:PATH | folder:DIR | patches:DIR[:N] | deadleaves[:N]', 'fashion-mnist')
    .option('--out <dir>', 'run folder (checkpoint.stratum, metrics.jsonl, curves.png, grid.png)', 'runs/train')
    .option('--resume', 'continue the checkpoint in --out', false)
    .option('--steps <n>', 'training steps', int('--steps'), TRAIN_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), TRAIN_DEFAULTS.batch)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), TRAIN_DEFAULTS.lr)
    .option('--T <n>', 'layers (steps) per image', int('--T'), 10)
    .option('--K <n>', 'mask parameters per layer', int('--K'), 10)
    .option('--size <n>', 'training image size', int('--size', 4), 32)
    .addOption(new Option('--encoder <kind>', 'encoder').choices(['resnet18', 'small']).default('resnet18'))
    .addOption(new Option('--norm <mode>', "mask-MLP GroupNorm: 'image' (authors' code) or 'pixel' (paper's table)").choices(['image', 'pixel']).default('image'))
    .option('--stop-canvas-grad', 'feed the canvas to the encoder with gradients stopped (authors\' code)', false)
    .option('--holdout <n>', 'held-out images', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--eval-every <n>', 'held-out PSNR every n steps', int('--eval-every'), TRAIN_DEFAULTS.evalEvery)
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), TRAIN_DEFAULTS.saveEvery)
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .option('--export <file>', 'also write a small weights-only model file at the end')
    .option('--adv-lambda <x>', 'add λ·adversarial (WGAN-GP, patch critic) to the L1 loss; 0 = pure L1', Number, 0)
    .option('--gamma <x>', 'gradient-penalty weight γ (with --adv-lambda)', num('--gamma'), TRAIN_DEFAULTS.gamma)
    .addOption(backendOption())
    .action(async (o) => {
      if (!(o.advLambda >= 0)) throw new Error('--adv-lambda must be a number ≥ 0');
      await useBackend(o.backend as BackendName);
      const set = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed, log: (m) => process.stderr.write(`${m}\n`) });
      const data = split(set, Math.min(o.holdout, Math.floor(set.n / 5)), o.seed);
      const model = modelConfig({ T: o.T, size: o.size, encoder: o.encoder as EncoderKind, stopCanvasGrad: o.stopCanvasGrad, mask: { K: o.K, norm: o.norm as MaskNorm } });
      const { final } = await train(
        { out: o.out, data: o.data, model, resume: o.resume, exportTo: o.export, train: { ...TRAIN_DEFAULTS, steps: o.steps, batch: o.batch, lr: o.lr, holdout: data.test.n, evalEvery: o.evalEvery, saveEvery: o.saveEvery, seed: o.seed, advLambda: o.advLambda, gamma: o.gamma } },
        data,
      );
      console.log(`held-out PSNR ${final.psnr?.toFixed(2)} dB after ${final.step} steps (${data.test.n} images); run folder ${o.out}`);
    });

  program
    .command('decompose')
    .description('decompose an image into layers: writes the render (PNG, any size), a layers/masks grid and the layered document')
    .argument('<image>', 'input image (jpg, png, webp...)')
    .option('--model <file>', 'model checkpoint', DEFAULT_MODEL)
    .option('--out <dir>', 'output folder', 'out')
    .option('--size <n>', 'size of the rendered PNG', int('--size'), 512)
    .option('--T <n>', 'use only the first T layers', int('--T'))
    .option('--refine <n>', 'then optimise p_t and c_t by gradient descent on L1 for n steps', int('--refine', 0), 0)
    .option('--refine-colours-only', 'refine only the colours', false)
    .option('--refine-lr <x>', 'refinement learning rate', num('--refine-lr'), 0.02)
    .addOption(backendOption())
    .action(async (image: string, o) => {
      await useBackend(o.backend as BackendName);
      const { model, ckpt } = loadModel(o.model);
      if (o.T && o.T > model.cfg.T * 4) throw new Error(`--T ${o.T} is far beyond the model's T=${model.cfg.T}`);
      const S = model.cfg.size;
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
        let canvas = new Float32Array(S * S * 3);
        res.steps = res.doc.layers.map((l, t) => {
          const mask = again.masks![t]!;
          canvas = canvas.slice();
          blendLayerInto(canvas, mask, l.colour);
          return { canvas, mask };
        });
      }
      mkdirSync(o.out, { recursive: true });
      const stem = basename(image, extname(image));
      const docPath = join(o.out, `${stem}.stratum.json`);
      saveDocument(docPath, res.doc);
      const big = renderDocument(res.doc, o.size, o.size, { keepMasks: true });
      await writePng(join(o.out, `${stem}.png`), o.size, o.size, big.rgb);
      const tile = (a: Float32Array): Tile => ({ pixels: a, width: S, height: S });
      const inputTile = tile(Float32Array.from(rgb, (v) => v / 255));
      await writeGrid(join(o.out, `${stem}.layers.png`), [
        [inputTile, tile(res.canvas), ...res.steps.map((s) => tile(s.canvas))],
        [null, null, ...res.steps.map((s, t) => colouredMaskTile(s.mask, res.doc.layers[t]!.colour, S, S))],
      ], Math.max(1, Math.floor(96 / S)));
      const mse = rgb.reduce((a, v, i) => a + (v / 255 - res.canvas[i]!) ** 2, 0) / rgb.length;
      console.log(`${res.doc.layers.length} layers, PSNR ${(10 * Math.log10(1 / mse)).toFixed(2)} dB at ${S}²${refineNote}; wrote ${join(o.out, `${stem}.png`)} (${o.size}²), ${join(o.out, `${stem}.layers.png`)}, ${docPath}`);
    });

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

  program
    .command('eval')
    .description('held-out PSNR of a model on a data set')
    .option('--model <file>', 'model checkpoint', DEFAULT_MODEL)
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--holdout <n>', 'evaluate on the held-out split of this size (same split as training)', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--all', 'evaluate on every image instead of the held-out split', false)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--T <n>', 'layers to use (default: the model\'s T)', int('--T'))
    .option('--seed <n>', 'split seed (as in training)', int('--seed', 0), 0)
    .addOption(backendOption())
    .action(async (o) => {
      await useBackend(o.backend as BackendName);
      const { model } = loadModel(o.model);
      const set = await loadDataset(o.data, { size: model.cfg.size, limit: o.limit, seed: o.seed });
      const test = o.all ? set : split(set, Math.min(o.holdout, Math.floor(set.n / 5)), o.seed).test;
      const r = evaluate(model, test, 64, o.T);
      console.log(`PSNR ${r.psnr.toFixed(2)} dB (batch-stat BN ${r.psnrBatchStats.toFixed(2)} dB) on ${r.n} images of ${o.data}, T=${o.T ?? model.cfg.T}`);
    });

  const collect = (v: string, prev: string[]) => [...prev, v];
  const layerIndex = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`bad layer index '${v}' (layers are numbered from 0, bottom first)`);
    return n;
  };
  const indexList = (v: string) => v.split(',').map(layerIndex);

  program
    .command('edit')
    .description('edit a layered document: recolour, hide/show, move, remove layers; jitter mask parameters; brighten/darken/tint an image inside a layer\'s mask')
    .argument('<doc>', 'layered document (.stratum.json)')
    .option('-o, --output <file>', 'write the edited document here')
    .option('--recolour <i=colour>', 'layer i gets a new colour (#rrggbb or r,g,b); repeatable', collect, [])
    .option('--hide <list>', 'hide layers (comma-separated indices)')
    .option('--show <list>', 'show layers')
    .option('--move <from:to>', 'move a layer to another position (0 = bottom); repeatable', collect, [])
    .option('--remove <list>', 'remove layers (e.g. every layer of an object)')
    .option('--png <file>', 'render the result (or the adjusted image with --brighten/--tint) to this PNG')
    .option('--size <n>', 'render size', int('--size'), 512)
    .option('--jitter <i>', 'write a strip of renders with layer i\'s parameters moved to p + k·q along a random unit direction q')
    .option('--k <list>', 'jitter steps k', '-3,-2,-1,0,1,2,3')
    .option('--seed <n>', 'seed of the random direction q', int('--seed', 0), 0)
    .option('--strip <file>', 'jitter strip PNG', 'jitter.png')
    .option('--image <file>', 'original image for --brighten / --tint')
    .option('--brighten <i:amount>', 'brighten (amount > 0) or darken (< 0) the --image inside layer i\'s mask')
    .option('--tint <i:colour:strength>', 'tint the --image towards a colour inside layer i\'s mask')
    .addOption(backendOption())
    .action(async (docPath: string, o) => {
      await useBackend(o.backend as BackendName);
      let doc = loadDocument(docPath);
      for (const r of o.recolour as string[]) {
        const [i, c] = r.split('=');
        if (i === undefined || c === undefined) throw new Error(`--recolour takes i=colour, got '${r}'`);
        doc = recolour(doc, layerIndex(i), parseColour(c));
      }
      if (o.hide) for (const i of indexList(o.hide)) doc = setVisible(doc, i, false);
      if (o.show) for (const i of indexList(o.show)) doc = setVisible(doc, i, true);
      for (const m of o.move as string[]) {
        const [a, b] = m.split(':');
        if (a === undefined || b === undefined) throw new Error(`--move takes from:to, got '${m}'`);
        doc = moveLayer(doc, layerIndex(a), layerIndex(b));
      }
      if (o.remove) doc = removeLayers(doc, indexList(o.remove));
      const adjust = o.brighten ?? o.tint;
      if (adjust && !o.image) throw new Error('--brighten and --tint need --image ORIGINAL');
      if (o.jitter !== undefined) {
        const ks = String(o.k).split(',').map(Number);
        if (!ks.every(Number.isFinite)) throw new Error(`bad --k list '${o.k}'`);
        const { docs } = jitterLayer(doc, layerIndex(o.jitter), ks, o.seed);
        const S = Math.min(o.size, 256);
        const tiles = docs.map((d) => ({ pixels: renderDocument(d, S).rgb, width: S, height: S }));
        await writeGrid(o.strip, [tiles], 1, 4);
        console.log(`wrote ${o.strip} (layer ${o.jitter}, k = ${ks.join(', ')})`);
      }
      if (adjust) {
        const meta = await sharp(o.image).metadata().catch(() => {
          throw new Error(`${o.image}: cannot read image`);
        });
        const W = meta.width!;
        const H = meta.height!;
        const raw = await sharp(o.image).removeAlpha().toColourspace('srgb').raw().toBuffer();
        const img = Float32Array.from(raw, (v) => v / 255);
        const parts = String(adjust).split(':');
        const i = layerIndex(parts[0]!);
        checkLayer(doc, i);
        // the document is square: render the mask stretched to the image's aspect
        const mask = renderDocument(doc, W, H, { keepMasks: true }).masks![i]!;
        const out = o.brighten
          ? brightenInMask(img, mask, Number(parts[1]))
          : tintInMask(img, mask, parseColour(parts[1] ?? ''), parts[2] === undefined ? 0.5 : Number(parts[2]));
        const target = o.png ?? 'adjusted.png';
        await writePng(target, W, H, out);
        console.log(`wrote ${target} (${o.brighten ? 'brightened' : 'tinted'} inside layer ${i})`);
      } else if (o.png) {
        await writePng(o.png, o.size, o.size, renderDocument(doc, o.size).rgb);
        console.log(`wrote ${o.png} (${o.size}²)`);
      }
      if (o.output) {
        saveDocument(o.output, doc);
        console.log(`wrote ${o.output} (${doc.layers.length} layers)`);
      }
    });

  program
    .command('export')
    .description('export a layered document: png (any size), psd and ora (one layer per mask), svg (one traced path per layer)')
    .argument('<doc>', 'layered document (.stratum.json)')
    .requiredOption('-o, --output <file>', 'output file (.png, .psd, .ora, .svg)')
    .addOption(new Option('--format <fmt>', 'format (default: from the file extension)').choices(['png', 'psd', 'ora', 'svg']))
    .option('--size <n>', 'width and height in pixels', int('--size'), 1024)
    .option('--threshold <t>', 'mask threshold for SVG tracing', num('--threshold'), 0.5)
    .addOption(backendOption())
    .action(async (docPath: string, o) => {
      const fmt = (o.format ?? extname(o.output).slice(1).toLowerCase()) as string;
      if (!['png', 'psd', 'ora', 'svg'].includes(fmt)) throw new Error(`unsupported export format '${fmt || extname(o.output)}' (png, psd, ora, svg)`);
      if (o.threshold >= 1) throw new Error('--threshold must lie in (0, 1)');
      await useBackend(o.backend as BackendName);
      const doc = loadDocument(docPath);
      if (fmt === 'png') await writePng(o.output, o.size, o.size, renderDocument(doc, o.size).rgb);
      else {
        const r = layerRasters(doc, o.size);
        if (fmt === 'psd') writePsdFile(o.output, r);
        else if (fmt === 'ora') await writeOraFile(o.output, r);
        else await writeSvgFile(o.output, r, o.threshold);
      }
      console.log(`wrote ${o.output} (${fmt}, ${o.size}², ${doc.layers.length} layers)`);
    });

  program
    .command('gan')
    .description('train the GAN (WGAN-GP, Adam lr 2e-4, β1 0): a generator builds images layer by layer from noise')
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--out <dir>', 'run folder (gan.stratum, gan-metrics.jsonl, gan-curves.png, samples.png)', 'runs/gan')
    .option('--resume', 'continue the checkpoint in --out', false)
    .option('--steps <n>', 'generator steps', int('--steps'), 2000)
    .option('--batch <n>', 'batch size', int('--batch'), 32)
    .option('--lr <x>', 'Adam learning rate (generator and critic)', num('--lr'), WGAN_DEFAULTS.lr)
    .option('--gamma <x>', 'gradient-penalty weight γ', num('--gamma'), WGAN_DEFAULTS.gamma)
    .option('--critic-steps <n>', 'critic updates per generator update', int('--critic-steps'), WGAN_DEFAULTS.criticSteps)
    .option('--critic-width <n>', 'channels of the critic\'s first convolution', int('--critic-width'), 64)
    .option('--T <n>', 'layers per sample', int('--T'), 10)
    .option('--K <n>', 'mask parameters per layer', int('--K'), 10)
    .option('--size <n>', 'training image size (power of two)', int('--size', 16), 32)
    .option('--noise <n>', 'size of the noise η_t', int('--noise'), 32)
    .addOption(new Option('--encoder <kind>', 'canvas encoder').choices(['resnet18', 'small']).default('small'))
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), 100)
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .addOption(backendOption())
    .action(async (o) => {
      await useBackend(o.backend as BackendName);
      const data = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed });
      const model = { ...modelConfig({ T: o.T, size: o.size, encoder: o.encoder as EncoderKind, mask: { K: o.K } }), noise: o.noise };
      await trainGan({ out: o.out, data: o.data, model, steps: o.steps, batch: o.batch, lr: o.lr, gamma: o.gamma, criticSteps: o.criticSteps, criticWidth: o.criticWidth, saveEvery: o.saveEvery, seed: o.seed, resume: o.resume }, data);
      console.log(`GAN trained to step ${o.steps}; samples in ${join(o.out, 'samples.png')}`);
    });

  program
    .command('sample')
    .description('draw GAN samples and render them at any resolution (e.g. trained at 32, written at 1024)')
    .option('--model <file>', 'GAN checkpoint', 'runs/gan/gan.stratum')
    .option('--n <n>', 'number of samples', int('--n'), 8)
    .option('--size <n>', 'output size in pixels', int('--size'), 1024)
    .option('--out <dir>', 'output folder', 'out/samples')
    .option('--seed <n>', 'noise seed', int('--seed', 0), 0)
    .addOption(backendOption())
    .action(async (o) => {
      await useBackend(o.backend as BackendName);
      const { g } = loadGan(o.model);
      const ctx = newCtx(true);
      const samples = g.sampleLayers(o.n, ctx, o.seed);
      discardBnUpdates(ctx);
      mkdirSync(o.out, { recursive: true });
      for (let i = 0; i < samples.length; i++) {
        const doc = makeDocument(g.cfg.mask, g.cfg.size, g.store, samples[i]!.map((l, t) => ({ ...l, name: `layer ${t + 1}` })), { gan: basename(o.model), seed: o.seed, index: i });
        saveDocument(join(o.out, `sample-${i}.stratum.json`), doc);
        await writePng(join(o.out, `sample-${i}.png`), o.size, o.size, renderDocument(doc, o.size).rgb);
      }
      console.log(`wrote ${samples.length} samples at ${o.size}² (trained at ${g.cfg.size}²) to ${o.out}`);
    });

  program
    .command('experiment')
    .description("reproduce the paper's tables: table1 (PSNR/SSIM over T×K) or table2 (ours vs baselines at |z| 130 and 260, and 20-colour quantisation)")
    .argument('<table>', 'table1 | table2')
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--steps <n>', 'training steps per row', int('--steps'), 1000)
    .option('--batch <n>', 'batch size', int('--batch'), 32)
    .option('--size <n>', 'image size', int('--size', 8), 32)
    .option('--holdout <n>', 'held-out images', int('--holdout'), 256)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .addOption(new Option('--encoder <kind>', 'encoder for every row').choices(['resnet18', 'small']).default('small'))
    .option('--show <n>', 'held-out images shown side by side', int('--show'), 8)
    .option('--out <dir>', 'results folder', 'runs/experiments')
    .option('--seed <n>', 'seed', int('--seed', 0), 0)
    .addOption(backendOption())
    .action(async (table: string, o) => {
      if (table !== 'table1' && table !== 'table2') throw new Error(`unknown table '${table}' (table1, table2)`);
      await useBackend(o.backend as BackendName);
      const set = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed });
      const { train: tr, test } = split(set, Math.min(o.holdout, Math.floor(set.n / 5)), o.seed);
      const rows = await runExperiment({ table, data: o.data, train: tr, test, steps: o.steps, batch: o.batch, encoder: o.encoder as EncoderKind, out: o.out, seed: o.seed, show: o.show, log: (m) => process.stderr.write(`${m}\n`) });
      console.log(markdownTable(rows, { data: o.data, steps: o.steps, encoder: o.encoder, testN: test.n }));
      console.log(`wrote ${join(o.out, `${table}.md`)}, ${table}.csv, ${table}.png`);
    });

  program
    .command('serve')
    .description('serve the browser editor (build it first: npm run build:web)')
    .option('--port <n>', 'port', int('--port'), 5173)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(async (o) => {
      const server = await serveEditor(PACKAGE_ROOT, o.port, o.host);
      console.log(`Stratum editor on http://${o.host}:${o.port}/ (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => server.on('close', resolve));
    });

  program
    .command('export-model')
    .description('write a small weights-only model file (no optimiser state) from a training checkpoint')
    .argument('<checkpoint>', 'training checkpoint (runs/NAME/checkpoint.stratum)')
    .argument('<out>', 'model file to write')
    .addOption(backendOption())
    .action(async (from: string, to: string, o) => {
      await useBackend(o.backend as BackendName);
      const { model, ckpt } = loadModel(from);
      const psnr = ckpt.header.info?.lastPsnr;
      saveCheckpoint(to, model, { step: ckpt.header.step, data: ckpt.header.data, weightsOnly: true, info: { ...ckpt.header.info, heldOutPsnr: psnr, trainConfig: ckpt.header.train } });
      console.log(`wrote ${to} (step ${ckpt.header.step}, ${model.store.count()} parameters${typeof psnr === 'number' ? `, held-out PSNR ${psnr.toFixed(2)} dB` : ''})`);
    });

  return program;
}

export async function main(argv = process.argv): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    if (err.code?.startsWith('commander.')) return err.exitCode || 2;
    process.stderr.write(`stratum: ${(err.message ?? String(e)).split('\n')[0]}\n`);
    return 1;
  }
}
