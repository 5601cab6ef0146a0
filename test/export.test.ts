import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compositeOnBlack, layerRasters } from '../src/export/layerImages.js';
import { compositeOra, writeOraFile } from '../src/export/ora.js';
import { compositePsd, writePsdFile } from '../src/export/psd.js';
import { autoLevels, quantisedPsnr, SVG_LEVEL_LADDER, toSvg, writeSvgFile } from '../src/export/svg.js';
import { rasteriseLibrsvg } from './support/svgRaster.js';
import { onBackend, psnr, testDocument, tmp } from './support/helpers.js';

test('layer rasters composited on black reproduce the render (blending = source-over)', async () => {
  await onBackend('fast');
  const r = layerRasters(testDocument(), 64);
  const c = compositeOnBlack(64, 64, r.layers);
  assert.ok(psnr(c, r.composite) > 45, `PSNR ${psnr(c, r.composite)}`);
});

test('PSD export opens again (ag-psd) with one layer per mask and matches the render', async () => {
  await onBackend('fast');
  const doc = testDocument();
  const r = layerRasters(doc, 48);
  const path = join(tmp(), 'x.psd');
  writePsdFile(path, r);
  const back = compositePsd(path);
  assert.deepEqual(back.names, ['background', ...doc.layers.map((l) => l.name)]);
  assert.ok(psnr(back.rgb, r.composite) > 40, `PSD round trip PSNR ${psnr(back.rgb, r.composite)}`);
  assert.equal(readFileSync(path).subarray(0, 4).toString('latin1'), '8BPS');
});

test('OpenRaster export opens again with one layer per mask and matches the render', async () => {
  await onBackend('fast');
  const doc = testDocument();
  const r = layerRasters(doc, 48);
  const path = join(tmp(), 'x.ora');
  await writeOraFile(path, r);
  const back = await compositeOra(path);
  assert.deepEqual(back.names, ['background', ...doc.layers.map((l) => l.name)]);
  assert.ok(psnr(back.rgb, r.composite) > 40, `ORA round trip PSNR ${psnr(back.rgb, r.composite)}`);
  // the zip starts with the uncompressed mimetype entry, as the spec requires
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(30, 38).toString('latin1'), 'mimetype');
  assert.equal(bytes.subarray(38, 54).toString('latin1'), 'image/openraster');
});

test('SVG export with one level: one hard contour path per visible layer; rasterised, it matches the thresholded render', async () => {
  await onBackend('fast');
  const doc = testDocument();
  const S = 96;
  const r = layerRasters(doc, S);
  const path = join(tmp(), 'x.svg');
  writeSvgFile(path, r, { levels: 1, threshold: 0.5 });
  const svg = readFileSync(path, 'utf8');
  const paths = svg.match(/<path /g)?.length ?? 0;
  const nonEmpty = r.layers.filter((l) => l.visible && l.rgba.some((v, i) => i % 4 === 3 && v >= 128)).length;
  assert.equal(paths, nonEmpty);
  const got = (await rasteriseLibrsvg(svg)).rgb;
  const hard = compositeOnBlack(S, S, r.layers.map((l) => ({ visible: l.visible, rgba: l.rgba.map((v, i) => (i % 4 === 3 ? (v >= 128 ? 255 : 0) : v)) })));
  const p = psnr(got, hard);
  assert.ok(p > 25, `SVG vs thresholded render PSNR ${p}`);
});

test('SVG auto levels: the fewest of the ladder whose quantised masks reach the target, and the rasterised SVG comes within 1 dB of that prediction', async () => {
  await onBackend('fast');
  const r = layerRasters(testDocument(), 96);
  for (const target of [28, 34]) {
    const n = autoLevels(r, target);
    const k = SVG_LEVEL_LADDER.indexOf(n);
    assert.ok(k >= 0);
    assert.ok(quantisedPsnr(r, n) >= target || k === SVG_LEVEL_LADDER.length - 1, `${n} levels: ${quantisedPsnr(r, n)} dB < ${target}`);
    if (k > 0) assert.ok(quantisedPsnr(r, SVG_LEVEL_LADDER[k - 1]!) < target);
    const got = psnr((await rasteriseLibrsvg(toSvg(r, { targetPsnr: target }))).rgb, r.composite);
    assert.ok(got >= quantisedPsnr(r, n) - 1, `target ${target}: ${n} levels, SVG ${got.toFixed(2)} dB, predicted ${quantisedPsnr(r, n).toFixed(2)} dB`);
  }
  assert.ok(autoLevels(r, 34) >= autoLevels(r, 28));
});

test('SVG export rejects bad options with one line', async () => {
  await onBackend('fast');
  const r = layerRasters(testDocument(2), 16);
  assert.throws(() => toSvg(r, { levels: 0 }), /levels/);
  assert.throws(() => toSvg(r, { levels: 2.5 }), /levels/);
  assert.throws(() => toSvg(r, { levels: 1, threshold: 1 }), /threshold/);
  assert.throws(() => toSvg(r, { simplify: -1 }), /simplify/);
  assert.throws(() => toSvg(r, { levels: 256 }), /levels/);
  assert.throws(() => toSvg(r, { targetPsnr: 0 }), /target/);
});
