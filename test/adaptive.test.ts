import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MASK_NET_DEFAULTS } from '../src/config.js';
import { adaptiveComposite, adaptiveMask, adaptiveScratch, compositeScratch } from '../src/core/adaptive.js';
import { renderDocument, type LayeredDocument } from '../src/core/document.js';
import { validateDocument } from '../src/core/document.js';
import { initMaskNet } from '../src/core/maskNet.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { renderLayers } from '../src/core/render.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { readImageSquare } from '../src/data/images.js';
import { loadModel } from '../src/model/checkpoint.js';
import { onBackend, testDocument } from './support/helpers.js';

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

let decomposed: LayeredDocument | undefined;
/** the bundled model's decomposition of a bundled sample: real, soft masks */
async function sampleDocument(): Promise<LayeredDocument> {
  if (!decomposed) {
    const { model } = loadModel('models/default.stratum');
    decomposed = validateDocument(decomposeImage(model, await readImageSquare('samples/bag.png', model.cfg.size)).doc);
    model.store.dispose();
  }
  return decomposed;
}

const cases: [string, () => Promise<LayeredDocument>, number, number, number | undefined][] = [
  ['synthetic (hidden layer)', async () => testDocument(6, 11), 256, 256, undefined],
  ['synthetic, odd size, small tiles', async () => testDocument(4, 5), 389, 263, 100],
  ['decomposed sample', sampleDocument, 256, 256, undefined],
  ['decomposed sample, odd size, tiles', sampleDocument, 331, 271, 128],
  // the coarsest lattice the defaults reach at a 32² reference grid only from 1024² up (stride 16):
  // here a quarter of the pixels with the sample's layers on a 16² grid, stride 16 over a picture
  // half as wide, so features fall between coarse samples at least as often
  ['decomposed sample, coarse stride 16 (16² reference grid)', async () => ({ ...(await sampleDocument()), referenceSize: 16 }), 512, 512, undefined],
];

for (const [name, make, w, h, tile] of cases) {
  test(`adaptive render is within 1/255 of the dense render: ${name} (${w}×${h})`, async () => {
    await onBackend('fast');
    const doc = await make();
    const dense = renderDocument(doc, w, h, { method: 'dense', tile, keepMasks: true });
    const adaptive = renderDocument(doc, w, h, { tile, keepMasks: true });
    assert.equal(dense.method, 'dense');
    assert.equal(adaptive.method, 'adaptive');
    const d = maxDiff(dense.rgb, adaptive.rgb);
    assert.ok(d < 1 / 255, `max |adaptive − dense| = ${(d * 255).toFixed(3)}/255`);
    // every mask too, hidden layers included (they were asked for)
    doc.layers.forEach((_, t) => {
      const dm = maxDiff(dense.masks![t]!, adaptive.masks![t]!);
      assert.ok(dm < 1 / 255, `layer ${t}: mask differs by ${(dm * 255).toFixed(3)}/255`);
    });
    // the image alone (one quadtree for the whole stack, no per-layer masks) too
    const image = renderDocument(doc, w, h, { tile });
    assert.equal(image.method, 'adaptive');
    const di = maxDiff(dense.rgb, image.rgb);
    assert.ok(di < 1 / 255, `image only: max |adaptive − dense| = ${(di * 255).toFixed(3)}/255`);
    assert.ok(image.evaluated <= adaptive.evaluated, `image only evaluated ${image.evaluated}, with masks ${adaptive.evaluated}`);
    // and it did skip work
    assert.ok(adaptive.evaluated < 0.8 * adaptive.needed, `MLP evaluated ${adaptive.evaluated} of ${adaptive.needed}`);
  });
}

test('adaptive render: share of MLP evaluations falls with size (cost follows the edges, not the area)', async () => {
  await onBackend('fast');
  const doc = await sampleDocument();
  const share = (s: number) => {
    const r = renderDocument(doc, s, s);
    return r.evaluated / r.needed;
  };
  const a = share(256);
  const b = share(1024);
  assert.ok(b < a / 3, `share at 256² ${a.toFixed(3)}, at 1024² ${b.toFixed(3)}`);
});

test('adaptive render skips hidden layers and renders them only when their masks are asked for', async () => {
  await onBackend('fast');
  const doc = testDocument(5, 3); // layer 3 is hidden
  // 8 output pixels per reference pixel (testDocument's reference grid is 32²): the adaptive path
  const r = renderDocument(doc, 256, 256);
  const all = renderDocument(doc, 256, 256, { keepMasks: true });
  assert.equal(r.method, 'adaptive');
  assert.equal(r.needed, 256 * 256 * 4);
  assert.equal(all.needed, 256 * 256 * 5);
  assert.ok(maxDiff(r.rgb, all.rgb) < 1 / 255);
  // the image-only path never looks at the hidden layer: the same image as without it
  const without = renderDocument({ ...doc, layers: doc.layers.filter((l) => l.visible !== false) }, 256, 256);
  assert.ok(maxDiff(r.rgb, without.rgb) === 0);
  assert.equal(r.evaluated, without.evaluated);
});

test('adaptive render falls back to dense when the output is too small to gain; tol 0 equals dense', async () => {
  await onBackend('fast');
  const doc = testDocument(3, 7);
  const small = renderDocument(doc, 200, 200); // stride 2 would evaluate every pixel anyway
  assert.equal(small.method, 'dense');
  const exact = renderDocument(doc, 400, 300, { tol: 0 });
  const dense = renderDocument(doc, 400, 300, { method: 'dense' });
  assert.equal(exact.method, 'adaptive');
  assert.ok(maxDiff(exact.rgb, dense.rgb) < 1e-5, `${maxDiff(exact.rgb, dense.rgb)}`);
});

test('adaptiveMask: a step function is evaluated along its edge only, and reproduced exactly', () => {
  const w = 200, h = 130;
  const f = (x: number, y: number) => (x + 0.5 * y < 120 ? 0 : 1);
  let calls = 0;
  const mask = new Float32Array(w * h);
  const n = adaptiveMask(w, h, (xy, k, out) => {
    calls++;
    for (let i = 0; i < k; i++) out[i] = f(xy[2 * i]!, xy[2 * i + 1]!);
  }, { coarse: 16, tol: 1e-3 }, mask, adaptiveScratch(w * h));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) assert.equal(mask[y * w + x], f(x, y), `pixel ${x},${y}`);
  assert.ok(n < 0.25 * w * h, `evaluated ${n} of ${w * h}`);
  assert.ok(calls <= 6, `${calls} batched calls`);
});

test('adaptive render: a thin feature between coarse samples is found through the safety margin or the midpoints', () => {
  // a bump 3 pixels wide, centred between coarse nodes: invisible at stride 16, seen at the cell's midpoints
  const w = 64, h = 64;
  const f = (x: number, _y: number) => Math.exp(-((x - 24) ** 2) / 2);
  const mask = new Float32Array(w * h);
  adaptiveMask(w, h, (xy, k, out) => {
    for (let i = 0; i < k; i++) out[i] = f(xy[2 * i]!, xy[2 * i + 1]!);
  }, { coarse: 16, tol: 1e-3 }, mask, adaptiveScratch(w * h));
  let d = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d = Math.max(d, Math.abs(mask[y * w + x]! - f(x, y)));
  assert.ok(d < 2e-3, `max error ${d}`);
});

test('render rejects a bad size, tile or tolerance with one line', async () => {
  await onBackend('cpu');
  const store = new ParamStore();
  initMaskNet(store, MASK_NET_DEFAULTS, mulberry32(1));
  const layers = [{ p: new Array(10).fill(0), colour: [1, 0, 0] as [number, number, number] }];
  assert.throws(() => renderLayers(store, MASK_NET_DEFAULTS, layers, { width: 0, height: 10, referenceSize: 32 }), /render size/);
  assert.throws(() => renderLayers(store, MASK_NET_DEFAULTS, layers, { width: 10.5, height: 10, referenceSize: 32 }), /render size/);
  assert.throws(() => renderLayers(store, MASK_NET_DEFAULTS, layers, { width: 10, height: 10, referenceSize: 32, tile: 0 }), /tile/);
  assert.throws(() => renderLayers(store, MASK_NET_DEFAULTS, layers, { width: 10, height: 10, referenceSize: 32, tol: Number.NaN }), /tolerance/);
  store.dispose();
});

test('adaptive render matches dense on the cpu backend (plain tfjs mask net) too', async () => {
  await onBackend('cpu');
  // a coarse reference grid (4²) lets a small render use the adaptive path (stride 4 from 32 pixels
  // up): the cpu backend is slow
  const doc = { ...testDocument(3, 21), referenceSize: 4 };
  const d = renderDocument(doc, 47, 33, { method: 'dense' });
  const a = renderDocument(doc, 47, 33);
  assert.equal(a.method, 'adaptive');
  assert.ok(maxDiff(d.rgb, a.rgb) < 1 / 255);
});

test('adaptiveMask: degenerate tiles (one pixel wide or tall, 1×1, odd) are filled everywhere and accurately', () => {
  const f = (x: number, y: number) => 1 / (1 + Math.exp(-(x - 0.7 * y - 5) / 3));
  for (const [w, h] of [[1, 50], [50, 1], [2, 37], [1, 1], [3, 2], [129, 65]] as const) {
    const mask = new Float32Array(w * h).fill(Number.NaN);
    adaptiveMask(w, h, (xy, k, out) => {
      for (let i = 0; i < k; i++) out[i] = f(xy[2 * i]!, xy[2 * i + 1]!);
    }, { coarse: 16, tol: 1e-3 }, mask, adaptiveScratch(w * h));
    let d = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d = Math.max(d, Math.abs(mask[y * w + x]! - f(x, y)));
    assert.ok(d < 1e-3, `${w}×${h}: max error ${d}`);
  }
});

test('adaptiveComposite: the image of analytic masks (a step, a ramp, a bump), degenerate and odd tiles, written in place', () => {
  const fs = [
    (x: number, y: number) => (x + 0.5 * y < 40 ? 0 : 1),
    (x: number, y: number) => 1 / (1 + Math.exp(-(x - 0.7 * y - 5) / 9)),
    (x: number, _y: number) => 0.8 * Math.exp(-((x - 24) ** 2) / 2),
  ];
  const colours = [[0.9, 0.1, 0.2], [0.1, 0.7, 0.3], [0.2, 0.3, 0.95]];
  for (const [w, h] of [[1, 50], [50, 1], [2, 37], [1, 1], [3, 2], [129, 65], [64, 64]] as const) {
    // the tile sits at (3, 2) of a wider image: everything outside it stays untouched
    const W = w + 5, H = h + 4;
    const rgb = new Float32Array(W * H * 3).fill(-1);
    let evaluated = 0;
    const samplers = fs.map((f) => (xy: Int32Array, k: number, out: Float32Array) => {
      evaluated += k;
      for (let i = 0; i < k; i++) out[i] = f(xy[2 * i]!, xy[2 * i + 1]!);
    });
    const n = adaptiveComposite(w, h, samplers, colours, { coarse: 16, tol: 1e-3 }, rgb, { x0: 3, y0: 2, stride: W }, compositeScratch(3, w * h));
    assert.equal(n, evaluated);
    let d = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inside = x >= 3 && x < 3 + w && y >= 2 && y < 2 + h;
        const want = [0, 0, 0];
        if (inside) {
          for (let t = 0; t < 3; t++) {
            const m = fs[t]!(x - 3, y - 2);
            for (let c = 0; c < 3; c++) want[c] = want[c]! * (1 - m) + colours[t]![c]! * m;
          }
        }
        for (let c = 0; c < 3; c++) {
          const v = rgb[(y * W + x) * 3 + c]!;
          if (!inside) assert.equal(v, -1, `outside pixel ${x},${y} written`);
          else d = Math.max(d, Math.abs(v - want[c]!));
        }
      }
    }
    assert.ok(d < 1 / 255, `${w}×${h}: max error ${(d * 255).toFixed(3)}/255`);
    // never more MLP work than one quadtree per layer, and far less than every pixel on the big tiles
    const perLayer = fs.reduce((sum, f) => sum + adaptiveMask(w, h, (xy, k, out) => {
      for (let i = 0; i < k; i++) out[i] = f(xy[2 * i]!, xy[2 * i + 1]!);
    }, { coarse: 16, tol: 1e-3 }, new Float32Array(w * h), adaptiveScratch(w * h)), 0);
    assert.ok(n <= perLayer, `${w}×${h}: evaluated ${n}, per-layer quadtrees ${perLayer}`);
    if (w * h >= 64 * 64) assert.ok(n < 0.6 * 3 * w * h, `${w}×${h}: evaluated ${n} of ${3 * w * h}`);
  }
});
