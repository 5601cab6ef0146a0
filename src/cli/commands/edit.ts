/** stratum edit */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { frameSize, renderDocument } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { writeGrid } from '../../eval/grid.js';
import { loadDocument, saveDocument } from '../../export/documentFile.js';
import { brightenInMask, checkLayer, jitterLayer, moveLayer, parseColour, recolour, removeLayers, setVisible, tintInMask } from '../../edit/edits.js';
import sharp from 'sharp';
import { checkOutputs } from '../../io/paths.js';
import { checkRender } from '../limits.js';
import { int, backendOption, collect, layerIndex, indexList, outputOf, outputOpt, oldOutOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('edit')
    .description('edit a layered document: recolour, hide/show, move, remove layers; jitter mask parameters; brighten/darken/tint an image inside a layer\'s mask')
    .argument('<doc>', 'layered document (.stratum.json)')
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
    .addOption(outputOpt('write the edited document here'))
    .addOption(oldOutOption())
    .action(async (docPath: string, o, c: Command) => {
      const given = c.opts().output !== undefined || c.opts().out !== undefined;
      const output = given ? outputOf(c) : undefined;
      const adjusting = o.brighten ?? o.tint;
      checkOutputs([output, o.png ?? (adjusting ? 'adjusted.png' : undefined), o.jitter !== undefined ? o.strip : undefined], [docPath, o.image]);
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
        const [sw, sh] = frameSize(doc, S);
        const tiles = docs.map((d) => ({ pixels: renderDocument(d, sw, sh).rgb, width: sw, height: sh }));
        await writeGrid(o.strip, [tiles], { scale: 1, gap: 4, columnLabels: ks.map((k) => `k = ${k}`) });
        console.log(`wrote ${o.strip} (layer ${o.jitter}, k = ${ks.join(', ')})`);
      }
      if (adjust) {
        const meta = await sharp(o.image).metadata().catch(() => {
          throw new Error(`${o.image}: cannot read image`);
        });
        const W = meta.width!;
        const H = meta.height!;
        checkRender(doc, W, H, 'mask at the image size', true);
        const raw = await sharp(o.image).removeAlpha().toColourspace('srgb').raw().toBuffer();
        const img = Float32Array.from(raw, (v) => v / 255);
        const parts = String(adjust).split(':');
        const i = layerIndex(parts[0]!);
        checkLayer(doc, i);
        // the layers live on the document's frame, which spans the whole image (decompose keeps the
        // photo's aspect; an old square document is stretched over it)
        const mask = renderDocument(doc, W, H, { keepMasks: true }).masks![i]!;
        const out = o.brighten
          ? brightenInMask(img, mask, Number(parts[1]))
          : tintInMask(img, mask, parseColour(parts[1] ?? ''), parts[2] === undefined ? 0.5 : Number(parts[2]));
        const target = o.png ?? 'adjusted.png';
        await writePng(target, W, H, out);
        console.log(`wrote ${target} (${o.brighten ? 'brightened' : 'tinted'} inside layer ${i})`);
      } else if (o.png) {
        const [pw, ph] = frameSize(doc, o.size);
        checkRender(doc, pw, ph, 'edit --png');
        await writePng(o.png, pw, ph, renderDocument(doc, pw, ph).rgb);
        console.log(`wrote ${o.png} (${pw}×${ph})`);
      }
      if (output) {
        saveDocument(output, doc);
        console.log(`wrote ${output} (${doc.layers.length} layers)`);
      }
    });
}
