/**
 * SVG export rasterised by a browser (Chromium) as well as librsvg: it looks like the render (the other exports: test/export.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { layerRasters } from '../src/export/layerImages.js';
import { toSvg } from '../src/export/svg.js';
import { readImageSquare } from '../src/data/images.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { loadModel } from '../src/model/checkpoint.js';
import { CHROMIUM, launchChromium, rasteriseChromium, rasteriseLibrsvg } from './support/svgRaster.js';
import { onBackend, psnr, testDocument } from './support/helpers.js';

test('SVG export looks like the render: ≥ 30 dB in librsvg and in Chromium, three documents at two sizes; one named layer group per visible layer', { timeout: 1_800_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`);
  await onBackend('fast');
  const { model } = loadModel('models/default.stratum');
  const decompose = async (path: string) => decomposeImage(model, await readImageSquare(path, model.cfg.size)).doc;
  // bag: long soft ramps, the document that needs the most levels
  const docs = [['synthetic', testDocument()], ['decomposed sneaker', await decompose('samples/sneaker.png')], ['decomposed bag', await decompose('samples/bag.png')]] as const;
  model.store.dispose();
  const browser = await launchChromium();
  try {
    for (const [name, doc] of docs) {
      for (const S of [128, 256]) {
        const r = layerRasters(doc, S);
        const svg = toSvg(r);
        const rsvg = await rasteriseLibrsvg(svg);
        assert.deepEqual([rsvg.width, rsvg.height], [S, S]);
        const pr = psnr(rsvg.rgb, r.composite);
        assert.ok(pr >= 30, `${name} at ${S}²: librsvg PSNR ${pr.toFixed(2)} dB`);
        const ch = await rasteriseChromium(browser, svg, S, S);
        assert.equal(ch.parseError, null);
        const pc = psnr(ch.rgb, r.composite);
        assert.ok(pc >= 30, `${name} at ${S}²: Chromium PSNR ${pc.toFixed(2)} dB`);
        const visible = doc.layers.map((l, i) => ({ l, i })).filter(({ l }) => l.visible !== false);
        assert.deepEqual(ch.layerLabels, visible.map(({ l, i }) => l.name ?? `layer ${i + 1}`));
        if (S === 128) {
          // the stepped masks are what does it: a single hard contour is far off the render
          assert.ok(psnr((await rasteriseLibrsvg(toSvg(r, { levels: 1 }))).rgb, r.composite) < pr - 5);
          // and more levels never hurt (stacked translucent fills did: 8-bit rounding per fill added up)
          const at = async (levels: number) => psnr((await rasteriseLibrsvg(toSvg(r, { levels }))).rgb, r.composite);
          const [p16, p48] = [await at(16), await at(48)];
          assert.ok(p48 >= p16 - 0.2, `${name} at ${S}²: 48 levels ${p48.toFixed(2)} dB, 16 levels ${p16.toFixed(2)} dB`);
        }
      }
    }
  } finally {
    await browser.close();
  }
});

