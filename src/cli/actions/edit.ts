/** stratum edit: what the command does (its flags and help: src/cli/commands/edit.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { frameSize, renderDocument, type LayeredDocument } from '../../core/document.js';
import { writePng } from '../../data/images.js';
import { writeGrid } from '../../eval/grid.js';
import { loadDocument, saveDocument } from '../../export/documentFile.js';
import { brightenInMask, checkLayer, jitterLayer, moveLayer, parseColour, recolour, removeLayers, setVisible, tintInMask } from '../../edit/edits.js';
import sharp from 'sharp';
import { checkOutputs } from '../../io/paths.js';
import { checkGrid, checkRender, renderEstimate } from '../limits.js';
import { say, shown } from '../say.js';
import { layerIndex, outputOf } from '../options.js';
import type { OptionValues } from 'commander';
import { forFlag } from '../options.js';

/** most entries of a --recolour or --move list (each is one edit of the whole layer list) */
export const MAX_EDITS = 1024;
/** the jitter strip's tiles: the render size, at most this */
const STRIP_TILE = 256;
const STRIP_GAP = 4;

/** a list may name each of the document's layers once at most (a longer one is a mistake, or an attack on the time) */
function checkListLength(flag: string, n: number, doc: LayeredDocument): void {
  if (n > doc.layers.length) throw new Error(`${flag} lists ${n} layers; the document has only ${doc.layers.length}`);
}

export async function runEdit(docPath: string, o: OptionValues, c: Command): Promise<void> {
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
}
