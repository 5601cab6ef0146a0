/**
 * End to end in Debian's Chromium (playwright-core): load the editor, decompose a sample, recolour
 * a layer, and check the canvas changed where that layer shows and nowhere else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serveEditor } from '../src/cli/serve.js';
import type { LayeredDocument } from '../src/core/document.js';
import { renderDocument } from '../src/core/document.js';
import { onBackend } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('browser editor: decompose a sample, recolour a layer: pixels change where its mask shows and nowhere else', { timeout: 300_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`);
  await onBackend('native');
  const server = await serveEditor(ROOT, 0);
  const port = (server.address() as AddressInfo).port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const SIZE = 64;
    await page.goto(`http://127.0.0.1:${port}/?size=${SIZE}`);
    await page.waitForSelector('body[data-status="ready"]', { timeout: 60_000 });
    await page.setInputFiles('#file', join(ROOT, 'samples', 'ankle-boot.png'));
    await page.waitForSelector('body[data-status="done"]', { timeout: 180_000 });
    const pixels = () => page.evaluate(() => Array.from((document.getElementById('view') as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 64, 64).data));
    const before = await pixels();
    const doc = (await page.evaluate(() => (window as unknown as { stratum: { document(): unknown } }).stratum.document())) as LayeredDocument;
    assert.equal(doc.layers.length, 10);
    assert.equal(await page.locator('#steps canvas').count(), 10, 'one thumbnail per step');
    // each layer's worth (PSNR lost when it alone is hidden) is shown in the layer list
    const worth = await page.locator('#layers li .contribution').allTextContents();
    assert.equal(worth.length, 10);
    for (const w of worth) assert.match(w, /^-?\d+\.\d dB$/);
    // the layer that shows most: effective weight w_i = M_i Π_{j>i} (1 − M_j)
    const r = renderDocument(doc, SIZE, SIZE, { keepMasks: true });
    const weight = (i: number) => Float32Array.from({ length: SIZE * SIZE }, (_, p) => doc.layers.slice(i + 1).reduce((w, _l, k) => w * (1 - r.masks![i + 1 + k]![p]!), r.masks![i]![p]!));
    const weights = doc.layers.map((_, i) => weight(i));
    const i = weights.map((w) => w.reduce((a, b) => a + b, 0)).reduce((best, s, k, all) => (s > all[best]! ? k : best), 0);
    const old = doc.layers[i]!.colour;
    const fresh = old.map((c) => (c < 0.5 ? 1 : 0));
    const hex = '#' + fresh.map((c) => (c ? 'ff' : '00')).join('');
    await page.locator(`#layers li[data-index="${i}"] input.colour`).evaluate((el, v) => {
      (el as HTMLInputElement).value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, hex);
    const after = await pixels();
    let inside = 0;
    for (let p = 0; p < SIZE * SIZE; p++) {
      const w = weights[i]![p]!;
      const diff = Math.max(...[0, 1, 2].map((k) => Math.abs(after[4 * p + k]! - before[4 * p + k]!)));
      if (w < 0.002) assert.ok(diff <= 1, `pixel ${p} changed by ${diff} outside layer ${i}'s mask (w=${w})`);
      if (w > 0.3) {
        inside++;
        assert.ok(diff >= 0.3 * 0.5 * 255 - 2, `pixel ${p} changed by only ${diff} inside layer ${i}'s mask (w=${w})`);
      }
    }
    assert.ok(inside > 20, `layer ${i} shows on ${inside} pixels`);
    // zoom re-renders at true resolution
    await page.click('#zoom-in');
    assert.equal(await page.evaluate(() => (document.getElementById('view') as HTMLCanvasElement).width), 128);
    // hiding a layer and deleting it give the same picture
    await page.locator(`#layers li[data-index="${i}"] input.visible`).uncheck();
    const hidden = await page.evaluate(() => (document.getElementById('view') as HTMLCanvasElement).toDataURL());
    await page.locator(`#layers li[data-index="${i}"] input.visible`).check();
    await page.locator(`#layers li[data-index="${i}"] button.delete`).click();
    const deleted = await page.evaluate(() => (document.getElementById('view') as HTMLCanvasElement).toDataURL());
    assert.equal(deleted, hidden);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
