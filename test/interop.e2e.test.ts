/**
 * Interoperability (`npm run test:interop`; part of `npm test`): Stratum's exports opened by the
 * programs people open them with. Three documents made by the bundled model — samples/sunset.jpg
 * in 30 layers (at least 20 placed: `place`, `gain`, `opacity`) and in its 10 whole-frame layers, and the
 * square samples/bag.png with awkward layer names and a hidden layer — exported as SVG, PSD and
 * ORA, then:
 *  - Inkscape rasterises each SVG within 30 dB PSNR of Stratum's render (what `stratum render` writes) at the same size;
 *  - GIMP (script-fu, batch mode) opens each PSD, Krita each PSD and ORA: one layer per document
 *    layer over the black background, names, order and visibility kept, full opacity, and the
 *    program's flattened image within 30 dB of Stratum's render.
 * A program that is not installed skips its checks, with the reason (.ci/run installs them).
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { frameSize, type LayeredDocument } from '../src/core/document.js';
import { floatToBytes } from '../src/data/images.js';
import { decompose, exportDocument, load, render } from '../src/index.js';
import { gimpOpen, inkscapeRender, kritaOpen, missing, type Opened, type Raster } from './support/interopTools.js';
import { psnr, tmp } from './support/helpers.js';

const ROOT = join(import.meta.dirname, '..');
const MIN_DB = 30;
const NAMES = ['ciel — été', 'a & b <c> "d"', 'Ünïcødé 层', "it's", 'x'.repeat(40)];
const HIDDEN = 3;

interface Case {
  name: string;
  doc: LayeredDocument;
  /** Stratum's render at the export size, as `stratum render` writes it (8-bit) */
  ref: Raster;
  svg: string;
  psd: string;
  ora: string;
}

let made: Promise<Case[]> | undefined;
const dir = tmp('stratum-interop-');
/** the programs' profiles (Krita's resource cache is ~90 MB) go with the exports */
const home = (program: string) => join(dir, `${program}-home`);
after(() => rmSync(dir, { recursive: true, force: true }));

/** the three documents and their exports (made once, shared by the checks) */
function cases(): Promise<Case[]> {
  made ??= (async () => {
    const model = await load(undefined, { backend: 'native' });
    const sunset = join(ROOT, 'samples', 'sunset.jpg');
    const placed = await decompose(model, sunset, { layers: 30, budgetMs: 1000 });
    const plain = await decompose(model, sunset);
    const square = await decompose(model, join(ROOT, 'samples', 'bag.png'));
    square.layers.forEach((l, i) => {
      if (i < NAMES.length) l.name = NAMES[i];
    });
    square.layers[HIDDEN]!.visible = false;
    const docs: [string, LayeredDocument, number][] = [
      ['placed', placed, 256],
      ['plain', plain, 256],
      ['square', square, 128],
    ];
    const out: Case[] = [];
    for (const [name, doc, size] of docs) {
      const [w, h] = frameSize(doc, size);
      const f = (ext: string) => join(dir, `${name}.${ext}`);
      for (const ext of ['svg', 'psd', 'ora']) await exportDocument(doc, f(ext), { size });
      out.push({ name, doc, ref: { width: w, height: h, rgb: floatToBytes(render(doc, w, h).rgb) }, svg: f('svg'), psd: f('psd'), ora: f('ora') });
    }
    return out;
  })();
  return made;
}

/** PSNR (dB) of a program's raster against Stratum's render, after checking it has the render's size */
function against(c: Case, got: Raster, who: string): number {
  assert.deepEqual([got.width, got.height], [c.ref.width, c.ref.height], `${who}: ${c.name} is ${got.width}×${got.height}, the render ${c.ref.width}×${c.ref.height}`);
  return psnr(got.rgb, c.ref.rgb, 1, 1 / 255, 1 / 255);
}

/** the layers a PSD or ORA of `doc` must open with, top first: the document's, then the black background */
function expectedLayers(doc: LayeredDocument) {
  return [{ name: 'background', visible: true, opacity: 1 }, ...doc.layers.map((l, i) => ({ name: l.name ?? `layer ${i + 1}`, visible: l.visible !== false, opacity: 1 }))].reverse();
}

function checkOpened(c: Case, o: Opened, who: string, report: string[]): void {
  const got = o.layers.map((l) => ({ name: l.name, visible: l.visible, opacity: Math.round(l.opacity * 1000) / 1000 }));
  assert.deepEqual(got, expectedLayers(c.doc), `${who}: the layers of ${c.name}`);
  const db = against(c, o.image, who);
  report.push(`${c.name} ${db.toFixed(2)} dB`);
  assert.ok(db >= MIN_DB, `${who}: ${c.name}'s flattened image is ${db.toFixed(2)} dB from Stratum's render (want ≥ ${MIN_DB})`);
}

function skipped(t: TestContext, program: 'inkscape' | 'gimp' | 'krita'): boolean {
  const why = missing(program);
  if (why) t.skip(why);
  return why !== null;
}

test('the documents cover placed layers (place, gain, opacity), a hidden layer, odd names, wide and square frames', async () => {
  const cs = await cases();
  const doc = cs.find((c) => c.name === 'placed')!.doc;
  const placed = doc.layers.filter((l) => l.place);
  // 30 layers: the encoder's worth ≥ 0.5 dB (at most 10) and placed ones for the rest
  assert.equal(doc.layers.length, 30);
  assert.ok(placed.length >= 20 && placed.length < 30, `placed layers: ${placed.length}`);
  assert.ok(placed.some((l) => (l.opacity ?? 1) < 1), 'some placed layers are translucent');
  assert.ok(placed.some((l) => (l.gain ?? 1) !== 1), 'some placed layers have a gain');
  assert.deepEqual(cs.map((c) => [c.ref.width, c.ref.height]), [[256, 171], [256, 171], [128, 128]]);
  assert.equal(cs[2]!.doc.layers.filter((l) => l.visible === false).length, 1);
});

test(`Inkscape renders every exported SVG within ${MIN_DB} dB of Stratum's render`, { timeout: 600_000 }, async (t) => {
  if (skipped(t, 'inkscape')) return;
  const report: string[] = [];
  for (const c of await cases()) {
    const db = against(c, await inkscapeRender(c.svg, c.svg + '.inkscape.png', home('inkscape')), 'inkscape');
    report.push(`${c.name} ${db.toFixed(2)} dB`);
    assert.ok(db >= MIN_DB, `inkscape: ${c.name}.svg renders ${db.toFixed(2)} dB from Stratum's render (want ≥ ${MIN_DB})`);
  }
  t.diagnostic(`inkscape SVG: ${report.join(', ')}`);
});

test(`GIMP opens every PSD: its layers, names, order and visibility, flattened within ${MIN_DB} dB`, { timeout: 600_000 }, async (t) => {
  if (skipped(t, 'gimp')) return;
  const cs = await cases();
  const opened = await gimpOpen(cs.map((c) => c.psd), home('gimp'));
  const report: string[] = [];
  cs.forEach((c, i) => checkOpened(c, opened[i]!, 'gimp', report));
  t.diagnostic(`gimp PSD: ${report.join(', ')}`);
});

test(`Krita opens every ORA and PSD: its layers, names, order and visibility, flattened within ${MIN_DB} dB`, { timeout: 600_000 }, async (t) => {
  if (skipped(t, 'krita')) return;
  for (const fmt of ['ora', 'psd'] as const) {
    const report: string[] = [];
    for (const c of await cases()) checkOpened(c, await kritaOpen(c[fmt], home('krita')), `krita (${fmt})`, report);
    t.diagnostic(`krita ${fmt.toUpperCase()}: ${report.join(', ')}`);
  }
});
