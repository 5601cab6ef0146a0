import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MASK_NET_DEFAULTS, type MaskNetConfig } from '../src/config.js';
import { initMaskNet } from '../src/core/maskNet.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { renderLayers, type Layer } from '../src/core/render.js';
import { NO_NATIVE, onBackend } from './support/helpers.js';

function layersFor(cfg: MaskNetConfig, T: number, seed: number): Layer[] {
  const rng = mulberry32(seed);
  return Array.from({ length: T }, () => ({ p: Array.from({ length: cfg.K }, () => 2 * rng() - 1), colour: [rng(), rng(), rng()] as [number, number, number] }));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** box-filter an RGB image down by an integer factor */
function downsample(rgb: Float32Array, size: number, f: number): Float32Array {
  const s = size / f;
  const out = new Float32Array(s * s * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) out[((Math.floor(y / f) * s + Math.floor(x / f)) * 3) + c]! += rgb[(y * size + x) * 3 + c]! / (f * f);
  return out;
}

for (const backend of ['cpu', 'native'] as const) {
  for (const norm of ['image', 'pixel'] as const) {
    test(`tiled render equals untiled render (${norm} GroupNorm, ${backend})`, { skip: backend === 'native' && NO_NATIVE }, async () => {
      await onBackend(backend);
      const cfg = { ...MASK_NET_DEFAULTS, norm };
      const store = new ParamStore();
      initMaskNet(store, cfg, mulberry32(3));
      const layers = layersFor(cfg, 4, 9);
      const whole = renderLayers(store, cfg, layers, { width: 37, height: 23, referenceSize: 32, tile: 4096, keepMasks: true });
      const tiled = renderLayers(store, cfg, layers, { width: 37, height: 23, referenceSize: 32, tile: 16, keepMasks: true });
      assert.ok(maxDiff(whole.rgb, tiled.rgb) < 1e-5, `tiles differ by ${maxDiff(whole.rgb, tiled.rgb)}`);
      assert.ok(maxDiff(whole.masks![2]!, tiled.masks![2]!) < 1e-5);
      store.dispose();
    });
  }
}

test('render at 32 and at 256 agree after downsampling (the layers are resolution-free)', async () => {
  await onBackend('fast');
  const cfg = MASK_NET_DEFAULTS;
  const store = new ParamStore();
  initMaskNet(store, cfg, mulberry32(5));
  const layers = layersFor(cfg, 5, 2);
  const small = renderLayers(store, cfg, layers, { width: 32, height: 32, referenceSize: 32 });
  const big = renderLayers(store, cfg, layers, { width: 256, height: 256, referenceSize: 32 });
  const down = downsample(big.rgb, 256, 8);
  let mean = 0;
  for (let i = 0; i < down.length; i++) mean += Math.abs(down[i]! - small.rgb[i]!) / down.length;
  assert.ok(mean < 0.01, `mean |downsampled 256 − 32| = ${mean}`);
  // and the 256 render is not just an upscaled 32 render: it has detail between the 32 samples
  const bigUp = new Float32Array(256 * 256 * 3);
  for (let y = 0; y < 256; y++) for (let x = 0; x < 256; x++) for (let c = 0; c < 3; c++) bigUp[(y * 256 + x) * 3 + c] = small.rgb[((y >> 3) * 32 + (x >> 3)) * 3 + c]!;
  assert.ok(maxDiff(bigUp, big.rgb) > 1e-3);
  store.dispose();
});

test('per-tile statistics would break tiling: reference statistics are what make it exact', async () => {
  await onBackend('fast');
  const cfg = MASK_NET_DEFAULTS;
  const store = new ParamStore();
  initMaskNet(store, cfg, mulberry32(8));
  const layers = layersFor(cfg, 3, 4);
  // a reference grid of a different size gives (slightly) different statistics, hence a different image
  const a = renderLayers(store, cfg, layers, { width: 40, height: 40, referenceSize: 32 });
  const b = renderLayers(store, cfg, layers, { width: 40, height: 40, referenceSize: 5 });
  assert.ok(maxDiff(a.rgb, b.rgb) > 1e-4, 'statistics must matter in image mode');
  store.dispose();
});
