/** stratum edit */
import { Command, InvalidArgumentError, Option } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { frameSize, renderDocument, type LayeredDocument } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { writeGrid } from '../../eval/grid.js';
import { loadDocument, saveDocument } from '../../export/documentFile.js';
import { brightenInMask, checkLayer, jitterLayer, moveLayer, parseColour, recolour, removeLayers, setVisible, tintInMask, type RGB } from '../../edit/edits.js';
import sharp from 'sharp';
import { F32_MAX, isF32 } from '../../core/f32.js';
import { checkOutputs } from '../../io/paths.js';
import { checkGrid, checkRender, renderEstimate } from '../limits.js';
import { say, shown } from '../say.js';
import { int, backendOption, collect, decimal, layerIndex, outputOf, outputOpt, oldOutOption } from '../options.js';

/** most steps of a --k list (a strip of 256² renders side by side stays under the PNG writer's 16,383 pixels) */
export const MAX_JITTER_STEPS = 60;
/** most entries of a --recolour or --move list (each is one edit of the whole layer list) */
export const MAX_EDITS = 1024;
/** the jitter strip's tiles: the render size, at most this */
const STRIP_TILE = 256;
const STRIP_GAP = 4;

/** 'i:x' -> layer i and the number x, both checked, naming `flag` */
function layerAmount(flag: string, min: number, max: number) {
  return (v: string): { i: number; amount: number } => {
    const m = /^\s*(\d+)\s*:(.*)$/.exec(v);
    if (!m) throw new InvalidArgumentError(`${flag} takes LAYER:AMOUNT, got '${v}'`);
    return { i: Number(m[1]), amount: decimal(`${flag} amount`, min, max)(m[2]!) };
  };
}

/** 'i:colour[:strength]' */
function tintSpec(v: string): { i: number; colour: RGB; strength: number } {
  const m = /^\s*(\d+)\s*:([^:]*)(?::(.*))?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`--tint takes LAYER:COLOUR[:STRENGTH], got '${v}'`);
  let colour: RGB;
  try {
    colour = parseColour(m[2]!);
  } catch (e) {
    throw new InvalidArgumentError(`--tint: ${(e as Error).message}`);
  }
  return { i: Number(m[1]), colour, strength: m[3] === undefined ? 0.5 : decimal('--tint strength', 0, 1)(m[3]) };
}

/** the --k list: 1..MAX_JITTER_STEPS decimal numbers, each finite in float32 (p + k·q is computed in float32) */
function jitterSteps(v: string): number[] {
  const parts = v.split(',');
  if (parts.length > MAX_JITTER_STEPS) throw new InvalidArgumentError(`--k lists ${parts.length} steps; at most ${MAX_JITTER_STEPS}`);
  return parts.map((k) => {
    const n = decimal('--k', -Infinity, Infinity)(k);
    if (!isF32(n)) throw new InvalidArgumentError(`--k value '${k.trim()}' is not finite in float32 (|k| ≤ ${F32_MAX})`);
    return n;
  });
}

/** run `f`, its error prefixed with the flag whose value it was */
function forFlag<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`${flag}: ${(e as Error).message}`);
  }
}

/** a comma-separated list of layer indices, naming the flag */
function indices(flag: string) {
  return (v: string): number[] =>
    v.split(',').map((s) => {
      try {
        return layerIndex(s);
      } catch (e) {
        throw new InvalidArgumentError(`${flag}: ${(e as Error).message}`);
      }
    });
}

/** one layer index, naming the flag */
function oneIndex(flag: string) {
  return (v: string): number => {
    const list = indices(flag)(v);
    if (list.length !== 1) throw new InvalidArgumentError(`${flag} takes one layer index, got '${v}'`);
    return list[0]!;
  };
}

/** a list may name each of the document's layers once at most (a longer one is a mistake, or an attack on the time) */
function checkListLength(flag: string, n: number, doc: LayeredDocument): void {
  if (n > doc.layers.length) throw new Error(`${flag} lists ${n} layers; the document has only ${doc.layers.length}`);
}

export function register(program: Command): void {
  program
    .command('edit')
    .description('edit a layered document: recolour, hide/show, move, remove layers; jitter mask parameters; brighten/darken/tint an image inside a layer\'s mask')
    .argument('<doc>', 'layered document (.stratum.json)')
    .option('--recolour <i=colour>', 'layer i gets a new colour (#rrggbb or r,g,b); repeatable', collect, [])
    .option('--hide <list>', 'hide layers (comma-separated indices)', indices('--hide'))
    .option('--show <list>', 'show layers', indices('--show'))
    .option('--move <from:to>', 'move a layer to another position (0 = bottom); repeatable', collect, [])
    .option('--remove <list>', 'remove layers (e.g. every layer of an object)', indices('--remove'))
    .option('--png <file>', 'render the result (or the adjusted image with --brighten/--tint) to this PNG')
    .option('--size <n>', 'render size', int('--size'), 512)
    .option('--jitter <i>', 'write a strip of renders with layer i\'s parameters moved to p + k·q along a random unit direction q', oneIndex('--jitter'))
    .addOption(new Option('--k <list>', `jitter steps k (at most ${MAX_JITTER_STEPS})`).argParser(jitterSteps).default([-3, -2, -1, 0, 1, 2, 3], '-3,-2,-1,0,1,2,3'))
    .option('--seed <n>', 'seed of the random direction q', int('--seed', 0), 0)
    .option('--strip <file>', 'jitter strip PNG', 'jitter.png')
    .option('--image <file>', 'original image for --brighten / --tint')
    .option('--brighten <i:amount>', 'brighten (amount > 0, at most 100) or darken (≥ −1) the --image inside layer i\'s mask', layerAmount('--brighten', -1, 100))
    .option('--tint <i:colour:strength>', 'tint the --image towards a colour inside layer i\'s mask (strength in [0, 1], default 0.5)', tintSpec)
    .addOption(backendOption())
    .addOption(outputOpt('write the edited document here'))
    .addOption(oldOutOption())
    .action(async (docPath: string, o, c: Command) => {
      const given = c.opts().output !== undefined || c.opts().out !== undefined;
      const output = given ? outputOf(c) : undefined;
      const adjust = (o.brighten ?? o.tint) as { i: number } | undefined;
      if (adjust && !o.image) throw new Error('--brighten and --tint need --image ORIGINAL');
      if (o.brighten && o.tint) throw new Error('--brighten and --tint: give one of them');
      for (const [flag, list] of [['--recolour', o.recolour], ['--move', o.move]] as const) {
        if ((list as string[]).length > MAX_EDITS) throw new Error(`${flag} is given ${(list as string[]).length} times; at most ${MAX_EDITS}`);
      }
      checkOutputs([output, o.png ?? (adjust ? 'adjusted.png' : undefined), o.jitter !== undefined ? o.strip : undefined], [docPath, o.image]);
      await useBackend(o.backend as BackendName);
      let doc = loadDocument(docPath);
      for (const [flag, list] of [['--hide', o.hide], ['--show', o.show], ['--remove', o.remove]] as const) {
        if (list) checkListLength(flag, (list as number[]).length, doc);
      }
      for (const r of o.recolour as string[]) {
        const [i, c] = r.split('=');
        if (i === undefined || c === undefined) throw new Error(`--recolour takes i=colour, got '${r}'`);
        doc = forFlag('--recolour', () => recolour(doc, layerIndex(i), parseColour(c)));
      }
      for (const i of (o.hide as number[] | undefined) ?? []) doc = forFlag('--hide', () => setVisible(doc, i, false));
      for (const i of (o.show as number[] | undefined) ?? []) doc = forFlag('--show', () => setVisible(doc, i, true));
      for (const m of o.move as string[]) {
        const [a, b] = m.split(':');
        if (a === undefined || b === undefined) throw new Error(`--move takes from:to, got '${m}'`);
        doc = forFlag('--move', () => moveLayer(doc, layerIndex(a), layerIndex(b)));
      }
      if (o.remove) doc = forFlag('--remove', () => removeLayers(doc, o.remove as number[]));
      if (o.jitter !== undefined) {
        const ks = o.k as number[];
        const S = Math.min(o.size, STRIP_TILE);
        checkGrid({ columns: ks.length, rows: 1, tile: S, gap: STRIP_GAP, labels: true }, renderEstimate(doc, S, S), `edit --jitter strip (${ks.length} steps of --k at ${S}²)`);
        forFlag('--jitter', () => checkLayer(doc, o.jitter));
        // a k finite in float32 can still carry p + k·q beyond it: named as --k's
        const { docs } = forFlag('--k', () => jitterLayer(doc, o.jitter, ks, o.seed));
        const [sw, sh] = frameSize(doc, S);
        const tiles = docs.map((d) => ({ pixels: renderDocument(d, sw, sh).rgb, width: sw, height: sh }));
        await writeGrid(o.strip, [tiles], { scale: 1, gap: STRIP_GAP, columnLabels: ks.map((k) => `k = ${k}`) });
        say(`wrote ${shown(o.strip)} (layer ${o.jitter}, k = ${ks.join(', ')})`);
      }
      if (adjust) {
        const meta = await sharp(o.image).metadata().catch(() => {
          throw new Error(`${shown(o.image)}: cannot read image`);
        });
        const W = meta.width!;
        const H = meta.height!;
        checkRender(doc, W, H, 'mask at the image size', true);
        const raw = await sharp(o.image).removeAlpha().toColourspace('srgb').raw().toBuffer();
        const img = Float32Array.from(raw, (v) => v / 255);
        forFlag(o.brighten ? '--brighten' : '--tint', () => checkLayer(doc, adjust.i));
        // the layers live on the document's frame, which spans the whole image (decompose keeps the
        // photo's aspect; an old square document is stretched over it)
        const mask = renderDocument(doc, W, H, { keepMasks: true }).masks![adjust.i]!;
        const out = o.brighten ? brightenInMask(img, mask, o.brighten.amount) : tintInMask(img, mask, o.tint.colour, o.tint.strength);
        const target = o.png ?? 'adjusted.png';
        await writePng(target, W, H, out);
        say(`wrote ${shown(target)} (${o.brighten ? 'brightened' : 'tinted'} inside layer ${adjust.i})`);
      } else if (o.png) {
        const [pw, ph] = frameSize(doc, o.size);
        checkRender(doc, pw, ph, 'edit --png');
        await writePng(o.png, pw, ph, renderDocument(doc, pw, ph).rgb);
        say(`wrote ${shown(o.png)} (${pw}×${ph})`);
      }
      if (output) {
        saveDocument(output, doc);
        say(`wrote ${shown(output)} (${doc.layers.length} layers)`);
      }
    });
}
