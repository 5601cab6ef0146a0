import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { psnrOf } from '../src/core/psnr.js';
import { quantizeRgb } from '../src/research/eval/quantize.js';
import { ssim } from '../src/research/eval/ssim.js';
import { mulberry32 } from '../src/core/random.js';

test('SSIM: 1 for identical images, the closed form for flat images, lower with more noise', () => {
  const rng = mulberry32(1);
  const S = 24;
  const a = Float32Array.from({ length: S * S * 3 }, () => rng());
  assert.ok(Math.abs(ssim(a, a, S, S) - 1) < 1e-9);
  // flat images: SSIM = (2 μx μy + C1) / (μx² + μy² + C1)
  const x = new Float64Array(S * S * 3).fill(0.2);
  const y = new Float64Array(S * S * 3).fill(0.6);
  const C1 = 0.01 ** 2;
  assert.ok(Math.abs(ssim(x, y, S, S) - (2 * 0.2 * 0.6 + C1) / (0.04 + 0.36 + C1)) < 1e-6);
  const noisy = (s: number) => a.map((v) => Math.min(1, Math.max(0, v + s * (rng() - 0.5))));
  assert.ok(ssim(a, noisy(0.1), S, S) > ssim(a, noisy(0.5), S, S));
});

test('PNG quantisation baseline: at most N colours, more colours reconstruct better', async () => {
  const img = deadLeaves({ n: 1, size: 32, seed: 3, minLeaves: 6, maxLeaves: 8 }).data;
  // add a gradient so there are many colours to begin with
  const rgb = img.map((v, i) => Math.min(255, v + (Math.floor(i / 96) % 32)));
  const q20 = quantizeRgb(rgb, 32, 32, 20);
  const q4 = quantizeRgb(rgb, 32, 32, 4);
  const colours = new Set<number>();
  for (let p = 0; p < 32 * 32; p++) colours.add((q20[3 * p]! << 16) | (q20[3 * p + 1]! << 8) | q20[3 * p + 2]!);
  assert.ok(colours.size <= 20 && colours.size > 4, `${colours.size} colours`);
  const psnrBytes = (a: Uint8Array, b: Uint8Array) => psnrOf(a, b, 1, 1 / 255, 1 / 255);
  assert.ok(psnrBytes(rgb, q20) > psnrBytes(rgb, q4), `20 colours ${psnrBytes(rgb, q20)} dB vs 4 colours ${psnrBytes(rgb, q4)} dB`);
});

test('PSNR: 10·log10(1/MSE) per image, averaged over images; bytes, floats and tensors agree; sizes must match', async () => {
  const { psnr, psnrFromMse } = await import('../src/core/psnr.js');
  const tf = await import('../src/core/tf.js');
  assert.ok(Math.abs(psnrFromMse(0.01) - 20) < 1e-12);
  assert.equal(psnrFromMse(0), 100, 'identical images: the 1e-10 floor');
  // two 2-value images: errors 0.1 (20 dB) and 0.01 (40 dB): the mean of PSNRs is 30 dB
  const a = [0.5, 0.5, 0.5, 0.5];
  const b = [0.6, 0.4, 0.51, 0.49];
  assert.ok(Math.abs(psnrOf(a, b, 2) - 30) < 1e-9);
  assert.ok(Math.abs(psnr(tf.tensor4d(a, [2, 1, 1, 2]), tf.tensor4d(b, [2, 1, 1, 2])) - 30) < 1e-4);
  assert.ok(Math.abs(psnrOf(Uint8Array.from([255, 0]), [0.9, 0.1], 1, 1 / 255) - 20) < 1e-9);
  assert.throws(() => psnrOf([1, 2, 3], [1, 2]), /different sizes/);
});
