// Placed layers and whole frames (issue 22): the placed mask is the network's mask moved, exactly
// zero outside its box; dense = adaptive within 1/255; plain layers render as before; decompose at
// any aspect gives exactly N layers that get closer with N; hostile placements are refused.
import assert from 'node:assert/strict';
import { pixelGrid } from '../src/core/grid.js';
import { maskNet } from '../src/core/maskNet.js';
import { frameAspect, placedBox, withGain, type Placement } from '../src/core/placement.js';
import { referenceStats, renderDense, renderLayers, type Layer } from '../src/core/render.js';
import { documentStore, frameSize, renderDocument, renderSize, validateDocument, type LayeredDocument } from '../src/core/document.js';
import * as tf from '../src/core/tf.js';
import { psnrOf } from '../src/core/psnr.js';
import { gmsd } from '../src/research/eval/gmsd.js';
import { softShareOfMasks } from '../src/eval/soft.js';
import { loadModel } from '../src/model/checkpoint.js';
import { boxColours } from '../src/core/boxStack.js';
import { decomposeFrame } from '../src/model/decomposeFrame.js';
import { layerRasters } from '../src/export/layerImages.js';
import { toSvg } from '../src/export/svg.js';
import { rasteriseLibrsvg } from './support/svgRaster.js';
import { onBackend } from './support/helpers.js';
import { test as nodeTest } from 'node:test';

// each test sets its backend: test:quick imports many files into one process before it runs
// their tests, so a backend set here at the top would be overridden by another file's tests
const test = (name: string, fn: () => unknown) => void nodeTest(name, async () => {
  await onBackend('fast');
  await fn();
});
const { model } = loadModel('models/default.stratum');
const bankP = (d: number) => Array.from((model.store.get('shapes.p').dataSync() as Float32Array).subarray(d * 10, d * 10 + 10));

/** a document of the default model's mask network with these layers and frame */
function docOf(layers: Layer[], frame?: { width: number; height: number }): LayeredDocument {
  const d = decomposeFrame(model, { width: 8, height: 8, rgb: new Uint8Array(8 * 8 * 3).fill(90) }, { layers: 1 }).doc;
  return { ...d, layers: layers.map((l) => ({ ...l, visible: l.visible ?? true })), frame };
}

const placedLayers = (): Layer[] => [
  { p: bankP(0), colour: [0.2, 0.4, 0.6] },
  { p: bankP(1), colour: [0.9, 0.1, 0.1], place: { x: 0.3, y: -0.2, angle: 0.7, sx: 0.35, sy: 0.2 }, gain: 8 },
  { p: bankP(2), colour: [0.1, 0.8, 0.2], place: { x: -0.5, y: 0.4, angle: -1.2, sx: 0.06, sy: 0.1 }, gain: 24, opacity: 0.6 },
  { p: bankP(3), colour: [1, 1, 0.3], place: { x: 0.1, y: 0.1, angle: 0, sx: 0.7, sy: 0.5 }, gain: 0.5 },
  { p: bankP(4), colour: [0.5, 0.5, 0.9], gain: 3 },
];

test('a placed mask is the network on its own frame, times the window, the gain and the opacity; zero outside its box', () => {
  const pl: Placement = { x: 0.5, y: 0, angle: 0, sx: 0.1, sy: 0.1 };
  const frame = { width: 300, height: 100 };
  const layer: Layer = { p: bankP(5), colour: [1, 1, 1], place: pl, gain: 4, opacity: 0.5 };
  const doc = docOf([layer], frame);
  const r = renderDocument(doc, 300, 100, { keepMasks: true, method: 'dense' });
  const m = r.masks![0]!;
  // isotropic: a square of half-side 0.1 of the long side (15 px) around x = 225 px, y = 50 px
  for (let y = 0; y < 100; y++) {
    for (let x = 0; x < 300; x++) {
      if (Math.abs(x + 0.5 - 225) > 15.5 || Math.abs(y + 0.5 - 50) > 15.5) assert.equal(m[y * 300 + x], 0, `outside the box at (${x}, ${y})`);
    }
  }
  // inside: the network's mask of p on the layer's own frame, with the gain and opacity
  const store = documentStore(doc);
  try {
    const uv = tf.tensor2d([[0, 0], [0.5, -0.25]]);
    const ps = tf.tensor2d([layer.p]);
    const stats = referenceStats(store, doc.mask, ps, doc.referenceSize);
    const f = maskNet(store, doc.mask, uv, ps, stats).masks.dataSync();
    // pixel (224.5, 49.5) + (0.5 px) maps to u = (x·a_x − C_x)/s_x: the pixel centre x = 225 → u = 0
    const at = (px: number, py: number) => m[py * 300 + px]!;
    const u0 = ((2 * 225 + 1) / 300 - 1 - 0.5) / 0.1;
    const v0 = (((2 * 50 + 1) / 100 - 1) / 3) / 0.1;
    const g = maskNet(store, doc.mask, tf.tensor2d([[u0, v0]]), ps, stats).masks.dataSync()[0]!;
    assert.ok(Math.abs(at(225, 50) - 0.5 * withGain(g, 4)) < 1e-5, `${at(225, 50)} vs ${0.5 * withGain(g, 4)}`);
    assert.ok(f[0]! >= 0 && f[0]! <= 1);
    tf.dispose([uv, ps, ...stats.flatMap((s) => [s.mean, s.rstd])]);
  } finally {
    store.dispose();
  }
  const [x0, x1] = placedBox(pl, frameAspect(frame));
  assert.ok(Math.abs(x0 - 0.4) < 1e-9 && Math.abs(x1 - 0.6) < 1e-9);
});

test('placed, sharpened and translucent layers: the adaptive render stays within 1/255 of the dense one, at two aspects', () => {
  for (const frame of [{ width: 640, height: 400 }, { width: 300, height: 900 }]) {
    const doc = docOf(placedLayers(), frame);
    const [w, h] = frameSize(doc, frame.width > frame.height ? 640 : 1200); // the short side 400: the adaptive path
    const dense = renderDocument(doc, w, h, { method: 'dense' });
    const adaptive = renderDocument(doc, w, h, { method: 'adaptive' });
    assert.equal(adaptive.method, 'adaptive');
    let worst = 0;
    for (let i = 0; i < dense.rgb.length; i++) worst = Math.max(worst, Math.abs(dense.rgb[i]! - adaptive.rgb[i]!));
    assert.ok(worst <= 1 / 255, `${frame.width}×${frame.height}: max difference ${worst}`);
    assert.ok(adaptive.evaluated < dense.evaluated, 'the adaptive path evaluates fewer pixels');
  }
});

test('layers without placement render exactly as the network on the frame grid, blended (the old documents)', () => {
  const layers = placedLayers().map(({ p, colour }) => ({ p, colour }));
  const doc = docOf(layers);
  const store = documentStore(doc);
  try {
    const r = renderDense(store, doc.mask, layers, { width: 48, height: 40, referenceSize: doc.referenceSize });
    const ps = tf.tensor2d(layers.map((l) => l.p));
    const stats = referenceStats(store, doc.mask, ps, doc.referenceSize);
    const m = maskNet(store, doc.mask, pixelGrid(48, 40), ps, stats).masks.dataSync() as Float32Array;
    const want = new Float32Array(48 * 40 * 3);
    layers.forEach((l, t) => {
      for (let i = 0; i < 48 * 40; i++) for (let c = 0; c < 3; c++) want[3 * i + c] = want[3 * i + c]! * (1 - m[t * 1920 + i]!) + l.colour[c]! * m[t * 1920 + i]!;
    });
    assert.deepEqual(r.rgb, want);
    // explicit defaults (gain 1, opacity 1) are the same layer
    const same = renderLayers(store, doc.mask, layers.map((l) => ({ ...l, gain: 1, opacity: 1 })), { width: 48, height: 40, referenceSize: doc.referenceSize, method: 'dense' });
    assert.deepEqual(same.rgb, r.rgb);
    tf.dispose([ps, ...stats.flatMap((s) => [s.mean, s.rstd])]);
  } finally {
    store.dispose();
  }
});

/** a 3:1 landscape: light background, a dark disc at (0.7, 0.5) of the frame, a red bar on the left */
function landscape(W: number, H: number): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const k = 3 * (y * W + x);
      const disc = (x - 0.7 * W) ** 2 + (y - 0.5 * H) ** 2 < (0.3 * H) ** 2;
      const bar = x > 0.1 * W && x < 0.15 * W;
      rgb[k] = disc ? 30 : bar ? 220 : 200;
      rgb[k + 1] = disc ? 40 : bar ? 30 : 190 + Math.round((20 * y) / H);
      rgb[k + 2] = disc ? 60 : bar ? 30 : 170;
    }
  }
  return rgb;
}

test('decompose a 3:1 image: exactly N layers on its frame, closer with more layers, the disc where it is', () => {
  const W = 240, H = 80;
  const rgb = landscape(W, H);
  const target = Float32Array.from(rgb, (v) => v / 255);
  const psnrs: number[] = [];
  for (const N of [10, 14, 24]) {
    const d = decomposeFrame(model, { width: W, height: H, rgb }, { layers: N, fitSize: 240, crisp: false });
    assert.equal(d.doc.layers.length, N);
    assert.deepEqual(d.doc.frame, { width: W, height: H });
    validateDocument(JSON.parse(JSON.stringify(d.doc)));
    const r = renderDocument(d.doc, W, H);
    psnrs.push(psnrOf(target, r.rgb));
    assert.ok(Math.abs(psnrOf(target, r.rgb) - psnrOf(d.fit.target, d.fit.canvas)) < 0.3, `the fit picture is the document: ${psnrOf(target, r.rgb)} against ${psnrOf(d.fit.target, d.fit.canvas)} at N = ${N}`);
    if (N === 24) {
      // the placed layer worth most lies over the disc: its mask's centre of mass is the disc's
      const placed = d.doc.layers.map((l, t) => ({ l, t })).filter((e) => e.l.place);
      const best = placed.reduce((a, b) => ((b.l.contributionDb ?? 0) > (a.l.contributionDb ?? 0) ? b : a));
      const m = renderDocument(d.doc, W, H, { keepMasks: true }).masks![best.t]!;
      let sx = 0, sy = 0, s = 0;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) (sx += m[y * W + x]! * x), (sy += m[y * W + x]! * y), (s += m[y * W + x]!);
      const inDisc = (sx / s - 0.7 * W) ** 2 + (sy / s - 0.5 * H) ** 2 < (0.3 * H) ** 2;
      const inBar = sx / s > 0.1 * W - 4 && sx / s < 0.15 * W + 4;
      assert.ok(inDisc || inBar, `best placed layer centred at (${(sx / s).toFixed(1)}, ${(sy / s).toFixed(1)})`);
    }
  }
  assert.ok(psnrs[1]! > psnrs[0]! && psnrs[2]! > psnrs[1]!, `PSNR by N: ${psnrs.map((p) => p.toFixed(2))}`);
  assert.deepEqual(renderSize({ frame: { width: W, height: H } }, 600), [600, 200]);
  assert.deepEqual(renderSize({ frame: { width: W, height: H } }, 600, undefined, 100), [300, 100]);
});

test('portrait and 1×N frames decompose, render and export; SVG of placed layers ≥ 30 dB against the render', async () => {
  const thin = decomposeFrame(model, { width: 1, height: 40, rgb: new Uint8Array(120).map((_, i) => (i * 7) % 256) }, { layers: 12 });
  assert.equal(thin.doc.layers.length, 12);
  assert.deepEqual(frameSize(thin.doc, 80), [2, 80]);
  assert.equal(renderDocument(thin.doc, 2, 80).rgb.length, 2 * 80 * 3);
  const rgb = landscape(60, 180);
  const d = decomposeFrame(model, { width: 60, height: 180, rgb }, { layers: 20 });
  const [w, h] = frameSize(d.doc, 256);
  assert.deepEqual([w, h], [85, 256]);
  const r = layerRasters(d.doc, w, h);
  const svg = toSvg(r);
  const got = await rasteriseLibrsvg(svg);
  assert.deepEqual([got.width, got.height], [w, h]);
  const p = psnrOf(got.rgb, r.composite);
  assert.ok(p >= 30, `SVG ${p.toFixed(2)} dB against the render`);
});

test('joint least-squares colours: the exact solution for box masks, and never worse than the start', () => {
  const W = 6, H = 5;
  const masks = [
    { box: [0, 5, 0, 4] as [number, number, number, number], m: new Float32Array(30).fill(1) },
    { box: [1, 3, 1, 2] as [number, number, number, number], m: Float32Array.from({ length: 6 }, (_, i) => 0.2 + 0.1 * i) },
  ];
  const truth = [[0.2, 0.3, 0.4], [0.9, 0.1, 0.5]];
  const target = new Float32Array(W * H * 3);
  for (let i = 0; i < W * H; i++) target.set(truth[0]!, 3 * i);
  for (let j = 1; j <= 2; j++) for (let i = 1; i <= 3; i++) {
    const a = masks[1]!.m[(j - 1) * 3 + (i - 1)]!;
    for (let c = 0; c < 3; c++) target[3 * (j * W + i) + c] = truth[0]![c]! * (1 - a) + truth[1]![c]! * a;
  }
  const got = boxColours(masks, target, W, H, [[0, 0, 0], [0, 0, 0]]);
  got.forEach((c, t) => c.forEach((v, k) => assert.ok(Math.abs(v - truth[t]![k]!) < 1e-4, `layer ${t} channel ${k}: ${v}`)));
});

test('hostile placements and frames are refused, naming the field', () => {
  const base = docOf([placedLayers()[1]!], { width: 30, height: 20 });
  const bad: [unknown, RegExp][] = [
    [{ ...base, layers: [{ ...base.layers[0]!, place: { x: 0, y: 0, angle: 0, sx: 0, sy: 0.1 } }] }, /place\.sx/],
    [{ ...base, layers: [{ ...base.layers[0]!, place: { x: Number.NaN, y: 0, angle: 0, sx: 0.1, sy: 0.1 } }] }, /place must be/],
    [{ ...base, layers: [{ ...base.layers[0]!, place: { x: 0, y: 0, angle: 0, sx: 0.1 } }] }, /place must be/],
    [{ ...base, layers: [{ ...base.layers[0]!, gain: 1e6 }] }, /gain/],
    [{ ...base, layers: [{ ...base.layers[0]!, opacity: 1.5 }] }, /opacity/],
    [{ ...base, frame: { width: 0, height: 10 } }, /frame/],
    [{ ...base, frame: { width: 10.5, height: 10 } }, /frame/],
  ];
  for (const [d, why] of bad) assert.throws(() => validateDocument(JSON.parse(JSON.stringify(d)), 'x.stratum.json'), (e: Error) => why.test(e.message) && e.message.startsWith('x.stratum.json: ') && !e.message.includes('\n'));
  // a flat image: no layer can improve it, and still exactly N come back
  assert.equal(decomposeFrame(model, { width: 40, height: 30, rgb: new Uint8Array(40 * 30 * 3).fill(128) }, { layers: 15 }).doc.layers.length, 15);
  assert.throws(() => decomposeFrame(model, { width: 4, height: 4, rgb: new Uint8Array(10) }), /4×4/);
  assert.throws(() => decomposeFrame(model, { width: 4, height: 4, rgb: new Uint8Array(48) }, { layers: 0 }), /layers/);
});

test('GMSD is 0 for the same image and grows with blur; soft share is 0 for a hard region and high for a wash', () => {
  const W = 32, H = 32;
  const sharp = new Float32Array(W * H * 3);
  const blur = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    sharp.fill(x < 16 ? 0.1 : 0.9, 3 * (y * W + x), 3 * (y * W + x) + 3);
    blur.fill(0.1 + 0.8 / (1 + Math.exp(-(x - 15.5) / 2)), 3 * (y * W + x), 3 * (y * W + x) + 3);
  }
  assert.equal(gmsd(sharp, sharp, W, H), 0);
  assert.ok(gmsd(blur, sharp, W, H) > 0.05);
  const hard = Float32Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 : 0));
  const wash = Float32Array.from({ length: 100 }, (_, i) => i / 99);
  assert.equal(softShareOfMasks([hard]), 0);
  assert.ok(softShareOfMasks([wash]) > 0.9);
  // opacity is not softness: a translucent hard region stays crisp
  assert.equal(softShareOfMasks([hard.map((v) => 0.4 * v)], [0.4]), 0);
});

test('crisp layers: every layer at logit gain ≥ crispGain (the encoder\'s exactly it), a lower soft share than --soft on the same image, the default with placed layers, still N layers that render as their fit picture; refused with refinement', async () => {
  const { decomposePipeline } = await import('../src/pipeline/decompose.js');
  const { PLACE_DEFAULTS } = await import('../src/config.js');
  const { softShare } = await import('../src/eval/soft.js');
  const W = 240, H = 80;
  const rgb = landscape(W, H);
  const target = Float32Array.from(rgb, (v) => v / 255);
  const soft = decomposePipeline(model, { width: W, height: H, rgb }, { layers: 20, fitSize: 240, crisp: false });
  const crisp = decomposePipeline(model, { width: W, height: H, rgb }, { layers: 20, fitSize: 240, crisp: true });
  // with placed layers crisp is the default; without them (N = T) the default stays soft
  const byDefault = decomposePipeline(model, { width: W, height: H, rgb }, { layers: 20, fitSize: 240 });
  assert.deepEqual(byDefault.doc.layers, crisp.doc.layers);
  assert.equal(soft.doc.source?.crisp, undefined);
  assert.ok(decomposePipeline(model, { width: W, height: H, rgb }, {}).doc.layers.every((l) => l.gain === undefined));
  assert.equal(crisp.doc.layers.length, 20);
  assert.equal(crisp.doc.source?.crisp, true);
  crisp.doc.layers.forEach((l, t) => {
    if (l.place) assert.ok(l.gain! >= PLACE_DEFAULTS.crispGain - 1e-9, `placed layer ${t}: gain ${l.gain}`);
    else assert.equal(l.gain, PLACE_DEFAULTS.crispGain, `whole-frame layer ${t}`);
  });
  const [s0, s1] = [softShare(soft.doc), softShare(crisp.doc)];
  assert.ok(s1 < s0 - 0.1, `soft share ${s0.toFixed(3)} -> ${s1.toFixed(3)} with crisp`);
  // the same decomposition renders as it was fitted, and stays a reconstruction of the image
  const r = renderDocument(validateDocument(JSON.parse(JSON.stringify(crisp.doc))), W, H);
  assert.ok(psnrOf(target, r.rgb) > 20, `crisp PSNR ${psnrOf(target, r.rgb).toFixed(2)}`);
  // without placed layers, the sharpened whole-frame layers get their colours solved again
  const ten = decomposePipeline(model, { width: W, height: H, rgb }, { crisp: true });
  assert.ok(ten.doc.layers.every((l) => l.gain === PLACE_DEFAULTS.crispGain));
  assert.throws(() => decomposePipeline(model, { width: W, height: H, rgb }, { crisp: true, refine: { steps: 2 } }), /crisp layers carry a gain that refine, greedy and prune do not handle/);
});
