import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { modelConfig } from '../src/config.js';
import { makeDocument, renderDocument } from '../src/core/document.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { subset, type ImageSet } from '../src/data/imageSet.js';
import { flatMethod, predictLayers, quantizeMethod, runQuality, stratumMethod } from '../bench/qualityHarness.js';
import { Decomposer } from '../src/model/decomposer.js';
import { geometrizeMethods, geometrizeRun } from '../bench/geometrize.js';
import { onBackend, tmp } from './support/helpers.js';

/** the same 3 dead-leaves scenes at any size (drawn at 64² and box-averaged down) */
function scenes(size: number): ImageSet {
  const big = deadLeaves({ n: 3, size: 64, seed: 5 });
  const f = 64 / size;
  const data = new Uint8Array(3 * size * size * 3);
  for (let i = 0; i < 3; i++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += big.data[((i * 64 + y * f + dy) * 64 + x * f + dx) * 3 + c]!;
          data[((i * size + y) * size + x) * 3 + c] = Math.round(s / (f * f));
        }
  return { n: 3, size, data };
}

/** PSNR written out again, independently of src/eval/metrics.ts (an exact render scores 100 dB, as there) */
function psnrByHand(target: Uint8Array, render: Float32Array): number {
  let se = 0;
  for (let i = 0; i < target.length; i++) se += (target[i]! / 255 - render[i]!) ** 2;
  return -10 * Math.log10(Math.max(se / target.length, 1e-10));
}

test('bench:quality measures what the methods render: PSNR recomputed by hand, flat colour, contributions, files', async () => {
  await onBackend('fast');
  const model = new Decomposer(modelConfig({ encoder: 'small', T: 3, size: 16 }), 4);
  const methods = [
    stratumMethod(model, { label: 'T=3' }),
    stratumMethod(model, { label: 'T=3', refineSteps: 3 }),
    ...geometrizeMethods({ shape: 'triangle', counts: [2, 4], candidates: 5, mutations: 5, seed: 3 }),
    flatMethod(),
    quantizeMethod(4),
  ];
  const out = tmp();
  const sizes = [16, 32]; // 16 is the model's own size: its forward pass's render is used there
  const res = await runQuality({ sizes, setAt: scenes, methods, show: 2, out, keepRenders: true });
  assert.equal(res.rows.length, sizes.length * methods.length);
  for (const size of sizes) {
    const set = scenes(size);
    const px = size * size * 3;
    const renders = res.renders!.get(size)!;
    methods.forEach((m, k) => {
      const row = res.rows.find((r) => r.size === size && r.method === m.name)!;
      const byHand = renders[k]!.map((r, i) => psnrByHand(set.data.subarray(i * px, (i + 1) * px), r)).reduce((a, b) => a + b, 0) / 3;
      assert.ok(Math.abs(row.psnr - byHand) < 1e-6, `${m.name} at ${size}²: ${row.psnr} vs ${byHand}`);
      assert.ok(row.ssim > -1 && row.ssim <= 1 && row.secondsPerImage > 0, `${m.name}: ${JSON.stringify(row)}`);
    });
    // the flat row really is each image's mean colour
    const flat = renders[methods.findIndex((m) => m.short === 'flat mean colour')]!;
    for (let i = 0; i < 3; i++) {
      for (let c = 0; c < 3; c++) {
        let mean = 0;
        for (let p = 0; p < size * size; p++) mean += set.data[i * px + 3 * p + c]! / 255 / (size * size);
        assert.ok(Math.abs(flat[i]![c]! - mean) < 1e-5 && Math.abs(flat[i]![px - 3 + c]! - mean) < 1e-5);
      }
    }
    // the amortized row renders the model's layers (predicted at 16²) at this size; its
    // near-useless share matches contributions measured by hiding layers one at a time
    const amortized = res.rows.find((r) => r.size === size && r.method === 'Stratum T=3')!;
    let low = 0;
    for (let i = 0; i < 3; i++) {
      const { layers } = predictLayers(model, scenes(16).data.subarray(i * 16 * 16 * 3, (i + 1) * 16 * 16 * 3));
      const doc = makeDocument(model.cfg.mask, 16, model.store, layers);
      const full = renderDocument(doc, size).rgb;
      const maxDiff = full.reduce((a, v, j) => Math.max(a, Math.abs(v - renders[0]![i]![j]!)), 0);
      assert.ok(maxDiff < 1e-5, `render differs by ${maxDiff}`);
      const target = set.data.subarray(i * px, (i + 1) * px);
      for (let t = 0; t < 3; t++) {
        const hidden = renderDocument({ ...doc, layers: layers.map((l, u) => ({ ...l, visible: u !== t })) }, size).rgb;
        if (psnrByHand(target, full) - psnrByHand(target, hidden) < 0.1) low++;
      }
    }
    assert.equal(amortized.nearUseless, low / 9);
    assert.equal(amortized.layers, 3);
    assert.equal(res.rows.find((r) => r.size === size && r.method === 'geometrize 4 triangles')!.layers, 4);
    assert.equal(res.rows.find((r) => r.size === size && r.method === '4-colour quantisation')!.nearUseless, undefined);
    // the picture: 2 photos × (input + 6 methods), tiles upscaled to 128 px, a caption band on top
    const meta = await sharp(join(out, `quality-${size}.png`)).metadata();
    assert.deepEqual([meta.width, meta.height], [7 * (128 + 2) + 2, 16 + 2 * (128 + 2) + 2]);
  }
  const md = readFileSync(join(out, 'quality.md'), 'utf8');
  const row16 = res.rows.find((r) => r.size === 16 && r.method === 'geometrize 2 triangles')!;
  assert.ok(md.includes(`| geometrize 2 triangles | 2 | ${row16.psnr.toFixed(2)} | ${row16.ssim.toFixed(3)} |`), md);
  assert.match(md, /### 32² \(3 images\)/);
  assert.equal((JSON.parse(readFileSync(join(out, 'quality.json'), 'utf8')) as { rows: unknown[] }).rows.length, res.rows.length);
  model.dispose();
});

test('geometrize is seeded and greedy: a 4-shape run starts with the 2-shape run', () => {
  const img = subset(scenes(16), [1]).data;
  const o = { shape: 'ellipse' as const, candidates: 4, mutations: 4 };
  const short = geometrizeRun(img, 16, { ...o, counts: [2] }, 9).get(2)!;
  const long = geometrizeRun(img, 16, { ...o, counts: [2, 4] }, 9);
  assert.deepEqual(long.get(2)!.render, short.render);
  assert.notDeepEqual(long.get(4)!.render, short.render);
  assert.ok(long.get(4)!.seconds >= long.get(2)!.seconds);
  assert.notDeepEqual(geometrizeRun(img, 16, { ...o, counts: [2] }, 10).get(2)!.render, short.render);
  // more shapes fit better (greedy steps only accept improvements over the current canvas)
  assert.ok(psnrByHand(img, long.get(4)!.render) >= psnrByHand(img, short.render));
  assert.throws(() => geometrizeMethods({ ...o, counts: [0] }), /shape counts must be positive integers/);
});

