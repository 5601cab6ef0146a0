import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderDocument, validateDocument } from '../src/core/document.js';
import type { Layer } from '../src/core/render.js';
import { contributionsFromMasks, formatContributions, layerContributions, nearUselessShare } from '../src/eval/contribution.js';
import { onBackend, psnr, testDocument } from './support/helpers.js';

test('a layer with an all-zero mask contributes 0 dB; the only layer that paints the image contributes > 0', () => {
  const P = 8 * 8;
  // target: left half red, right half black
  const target = new Float32Array(P * 3);
  const half = new Float32Array(P);
  for (let i = 0; i < P; i++) if (i % 8 < 4) {
    target[3 * i] = 1;
    half[i] = 1;
  }
  const masks = [half, new Float32Array(P), new Float32Array(P).fill(0.5)];
  const layers: Layer[] = [
    { p: [], colour: [1, 0, 0] },
    { p: [], colour: [0, 1, 0] }, // paints nothing
    { p: [], colour: [0, 0, 1], visible: false }, // hidden: removing it changes nothing
  ];
  const c = contributionsFromMasks(masks, layers, target);
  assert.equal(c.contributions[1], 0);
  assert.equal(c.contributions[2], 0);
  // with the red layer the render is exact (PSNR floored at 100 dB); without it, half the pixels are off by 1
  assert.ok(Math.abs(c.psnr - 100) < 1e-9, `${c.psnr}`);
  assert.ok(Math.abs(c.contributions[0]! - (100 - 10 * Math.log10(1 / (1 / 6)))) < 1e-6, `${c.contributions[0]}`);
  assert.equal(nearUselessShare(c.contributions), 2 / 3);
  assert.match(formatContributions(c.contributions, 8), /at 8², bottom first .*: 92\.22 0\.00 0\.00; 2 of 3 below 0\.1 dB/);
});

test("a document's contributions equal the PSNR lost by rendering it with that layer hidden", async () => {
  await onBackend('fast');
  const doc = testDocument(5, 7); // layer 2 hidden
  const size = 24;
  // a target the layers only roughly explain: the render of other layers
  const target = renderDocument(testDocument(5, 8), size).rgb;
  const { psnr: full, contributions } = layerContributions(doc, target, size);
  assert.ok(Math.abs(full - psnr(renderDocument(doc, size).rgb, target)) < 1e-4);
  doc.layers.forEach((l, t) => {
    const hidden = { ...doc, layers: doc.layers.map((m, u) => (u === t ? { ...m, visible: false } : m)) };
    const expected = l.visible === false ? 0 : full - psnr(renderDocument(hidden, size).rgb, target);
    assert.ok(Math.abs(contributions[t]! - expected) < 1e-4, `layer ${t}: ${contributions[t]} vs ${expected}`);
  });
  assert.equal(contributions[2], 0);
  assert.ok(contributions.some((c) => Math.abs(c) > 0.01), `${contributions}`);
  assert.throws(() => layerContributions(doc, target.subarray(3), size), /target has 1725 values, expected 24×24×3/);
  assert.throws(() => layerContributions(doc, target, 0), /contribution size must be a positive integer/);
});

test('documents keep per-layer contributions and refuse non-numeric ones', () => {
  const doc = testDocument(3, 2);
  const withC = { ...doc, layers: doc.layers.map((l, t) => ({ ...l, contributionDb: t - 0.5 })) };
  assert.deepEqual(validateDocument(JSON.parse(JSON.stringify(withC))).layers.map((l) => l.contributionDb), [-0.5, 0.5, 1.5]);
  const bad = JSON.parse(JSON.stringify({ ...doc, layers: doc.layers.map((l) => ({ ...l, contributionDb: NaN })) }));
  assert.throws(() => validateDocument(bad, 'x.json'), /x\.json: layer 0 has a contributionDb that is not a finite number/);
});
