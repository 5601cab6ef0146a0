// The paper's Fig. 16 (jitter p along random directions) and Fig. 5c (vectorize: the network's
// render at a large size against upsampled small renders), from the bundled model, small sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { useBackend } from '../src/backend/index.js';
import { jitterFigure, vectorizeFigure } from '../src/research/experiments/figures.js';
import { edgeSharpness } from '../src/research/eval/sharpness.js';
import { readImageFrame } from '../src/data/images.js';
import { loadModel } from '../src/model/checkpoint.js';
import { decomposeFrame } from '../src/model/decomposeFrame.js';
import { renderDocument } from '../src/core/document.js';
import { tmp } from './support/helpers.js';

const ROOT = join(import.meta.dirname, '..');

test('edge sharpness: a hard edge has its full contrast per pixel, a ramp over n pixels 1/n of it, a flat image 0', () => {
  const w = 40, h = 40;
  const img = (f: (x: number) => number) => Float32Array.from({ length: w * h * 3 }, (_, i) => f(Math.floor(i / 3) % w));
  assert.equal(edgeSharpness(img(() => 0.5), w, h), 0);
  const hard = edgeSharpness(img((x) => (x < 20 ? 0 : 1)), w, h);
  const ramp = edgeSharpness(img((x) => Math.min(1, Math.max(0, (x - 15) / 10))), w, h);
  // one edge column among 39: 2.6 % of the gradients, so the 99th percentile is the edge's
  assert.ok(Math.abs(hard - 255) < 1e-3, `hard ${hard}`);
  assert.ok(Math.abs(ramp - 25.5) < 1e-3, `ramp ${ramp}`);
});

test('jitter (Fig. 16): k = 0 is the layer, the masks move gradually with k and differ at the ends; vectorize (Fig. 5c): crisp layers keep edges sharper than upsampling', { timeout: 300_000 }, async () => {
  await useBackend('auto');
  const { model } = loadModel(join(ROOT, 'models', 'default.stratum'));
  const out = tmp();
  const doc = decomposeFrame(model, await readImageFrame(join(ROOT, 'samples', 'bag.png'), 2048), {}).doc;
  const j = await jitterFigure(doc, out, { directions: 2, values: 5, range: 2, side: 32, seed: 1 });
  assert.deepEqual(j.ks, [-2, -1, 0, 1, 2]);
  const meta = await sharp(j.path).metadata();
  assert.ok(meta.width! >= 5 * 32 && meta.height! >= 2 * 32);
  // k = 0 is the layer itself; the masks move gradually: neighbours closer than the two ends
  const own = renderDocument({ ...doc, frame: undefined, layers: [{ ...doc.layers[j.layer]!, visible: true }] }, 32, 32, { keepMasks: true }).masks![0]!;
  const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0) / a.length);
  for (const row of j.masks) {
    assert.ok(dist(row[2]!, own) < 1e-6, 'k = 0 is the layer');
    const step = Math.max(...row.slice(1).map((m, i) => dist(m, row[i]!)));
    assert.ok(dist(row[0]!, row[4]!) > step, `ends ${dist(row[0]!, row[4]!).toFixed(3)} apart, largest step ${step.toFixed(3)}`);
    assert.ok(dist(row[0]!, row[4]!) > 0.02, 'a move of 4 in p changes the mask');
  }
  const v = await vectorizeFigure(model, [join(ROOT, 'samples', 'bag.png')], out, 256);
  assert.ok(existsSync(v.path) && readFileSync(join(out, 'vectorize.md'), 'utf8').includes('| image | edge sharpness at 256'));
  const r = v.rows[0]!;
  assert.ok(r.crisp > 1.5 * r.bilinear, `crisp ${r.crisp.toFixed(1)} vs bilinear ${r.bilinear.toFixed(1)}`);
  assert.ok(r.vector > 0 && r.bicubic > 0);
});

test('transfer (Fig. 15): every model on every set, the table and picture written, a model of another size refused', { timeout: 300_000 }, async () => {
  const { transferTable } = await import('../src/research/experiments/transfer.js');
  const { deadLeaves } = await import('../src/research/data/deadLeaves.js');
  await useBackend('auto');
  const photo = loadModel(join(ROOT, 'models', 'default.stratum')).model;
  const fashion = loadModel(join(ROOT, 'models', 'fashion-mnist.stratum')).model;
  const out = tmp();
  const a = deadLeaves({ n: 3, size: 32, seed: 1 });
  const flat = { n: 2, size: 32, data: new Uint8Array(2 * 32 * 32 * 3).fill(128) };
  const r = await transferTable([{ name: 'photo', model: photo }, { name: 'fashion', model: fashion }], [{ name: 'leaves', set: a }, { name: 'flat', set: flat }], out, 2);
  assert.equal(r.cells.length, 4);
  assert.ok(r.cells.every((c) => Number.isFinite(c.psnr)));
  // a flat grey image: the photo model covers the frame with one colour; the Fashion-MNIST model,
  // trained on objects on black, leaves a dark background (measured 51 against 13 dB)
  const cell = (m: string, d: string) => r.cells.find((c) => c.model === m && c.data === d)!.psnr;
  assert.ok(cell('photo', 'flat') > 30 && cell('photo', 'flat') > cell('fashion', 'flat') + 10, JSON.stringify(r.cells));
  assert.match(readFileSync(join(out, 'transfer.md'), 'utf8'), /\| photo \| [\d.]+ dB \| [\d.]+ dB \|/);
  assert.ok(existsSync(r.picture));
  await assert.rejects(transferTable([{ name: 'photo', model: photo }], [{ name: 'big', set: deadLeaves({ n: 1, size: 48, seed: 1 }) }], out), /big: images of 48², the models are 32²/);
});
