import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { canvasAfterEachLayer, layerWeights, leastSquaresColours, leastSquaresFit, mseOfColours } from '../src/core/stack.js';
import { mulberry32 } from '../src/core/random.js';
import { renderDocument } from '../src/core/document.js';
import * as tf from '../src/core/tf.js';
import { modelConfig } from '../src/config.js';
import { loadModel, saveCheckpoint } from '../src/model/checkpoint.js';
import { Decomposer, SHAPES_KEY } from '../src/model/decomposer.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { bankScores, errorOnTop, fusedSwapShapes, makeShapeBank, SWAP_DEFAULTS, swapShapes, swapShapesDefinition } from '../src/model/shapeSwaps.js';
import { NO_NATIVE, onBackend, tmp } from './support/helpers.js';

const blob = (N: number, cx: number, cy: number, r: number) => Float32Array.from({ length: N * N }, (_, q) => 1 / (1 + Math.exp(2 * (Math.hypot((q % N) - cx, Math.floor(q / N) - cy) - r))));

test('the error of a shape painted on top with its best colour (the scoring identity) equals painting it', () => {
  const rng = mulberry32(5);
  const P = 64;
  for (let trial = 0; trial < 10; trial++) {
    const m = Float32Array.from({ length: P }, () => (rng() < 0.3 ? 0 : rng()));
    const J = Float32Array.from({ length: 3 * P }, () => rng());
    const target = Float32Array.from({ length: 3 * P }, () => rng());
    // by hand: per channel the least-squares colour c_k of m over the residual, then the image
    let want = 0;
    for (let k = 0; k < 3; k++) {
      let num = 0, den = 0;
      for (let q = 0; q < P; q++) {
        num += m[q]! * (target[3 * q + k]! - J[3 * q + k]! * (1 - m[q]!));
        den += m[q]! * m[q]!;
      }
      const c = num / den;
      for (let q = 0; q < P; q++) want += (target[3 * q + k]! - (J[3 * q + k]! * (1 - m[q]!) + c * m[q]!)) ** 2;
    }
    const got = errorOnTop(m, J, target);
    assert.ok(Math.abs(got - want) < 1e-6 * Math.max(1, want), `trial ${trial}: ${got} vs ${want}`);
  }
});

test('leastSquaresFit: the colours of leastSquaresColours, and the error the image they paint has (from the normal equations)', () => {
  const rng = mulberry32(8);
  const N = 9;
  for (let trial = 0; trial < 10; trial++) {
    const T = 1 + Math.floor(rng() * 7);
    const masks = Array.from({ length: T }, () => blob(N, rng() * N, rng() * N, 0.3 + rng() * 5));
    const target = Float32Array.from({ length: 3 * N * N }, () => rng());
    const w = layerWeights(masks);
    const fit = leastSquaresFit(w, target);
    assert.deepEqual(fit.colours, leastSquaresColours(w, target));
    const want = mseOfColours(w, fit.colours, target);
    assert.ok(Math.abs(fit.mse - want) < 1e-6 * Math.max(want, 1e-3), `trial ${trial}: ${fit.mse} vs ${want}`);
  }
});

test('bank scores: the product equals a plain sum per entry', () => {
  const rng = mulberry32(9);
  for (const [D, L, N] of [[37, 50, 12], [5, 7, 6]] as const) {
    const rows = Float32Array.from({ length: D * L }, () => rng() - 0.5);
    const v = Float32Array.from({ length: L * N }, () => rng() - 0.5);
    const a = new Float32Array(D * N);
    bankScores(rows, D, L, v, N, a);
    for (let d = 0; d < D; d++)
      for (let j = 0; j < N; j++) {
        let want = 0;
        for (let i = 0; i < L; i++) want += rows[d * L + i]! * v[i * N + j]!;
        assert.ok(Math.abs(a[d * N + j]! - want) < 1e-4, `${d},${j}: ${a[d * N + j]} vs ${want}`);
      }
  }
});

test('shape swaps: a layer worth nothing is replaced by the bank shape the image needs, and the image becomes the target', () => {
  for (const N of [12, 13]) {
    const P = N * N;
    // target: a red disc on blue; layers: the blue background and a useless speck in a corner
    const disc = blob(N, 6, 5.5, 3.2);
    const full = new Float32Array(P).fill(1);
    const speck = blob(N, 0, 0, 0.3);
    const target = new Float32Array(3 * P);
    for (let q = 0; q < P; q++) target.set([disc[q]!, 0, 1 - disc[q]!], 3 * q);
    const masks = [full, speck];
    const colours = leastSquaresColours(layerWeights(masks), target);
    const before = mseOfColours(layerWeights(masks), colours, target);
    // the bank: distractors and the disc (as shape 2)
    const bankMasks = [blob(N, 2, 9, 2), blob(N, 9, 2, 4), disc, blob(N, 6, 6, 1)];
    const K = 3;
    const bank = makeShapeBank(Float32Array.from({ length: 4 * K }, (_, i) => i), K, Float32Array.from(bankMasks.flatMap((m) => [...m])), N);
    assert.equal(bank.low, N % 2 ? N : N / 2);
    const r = swapShapes(masks, target, colours, bank);
    assert.deepEqual(r.origin, [0, -3], `N=${N}`);
    assert.equal(r.swaps, 1);
    const after = mseOfColours(layerWeights(r.masks), r.colours, target);
    assert.ok(after < 1e-6 && before > 0.05, `N=${N}: ${before} -> ${after}`);
    assert.deepEqual(r.masks[1], disc);
  }
});

test('shape swaps never make the image worse, keep T layers, and return the least-squares colours of what they return', () => {
  const rng = mulberry32(21);
  const N = 10, P = N * N;
  const bankMasks = Array.from({ length: 30 }, () => blob(N, rng() * N, rng() * N, 0.5 + rng() * 5));
  const bank = makeShapeBank(new Float32Array(30 * 2), 2, Float32Array.from(bankMasks.flatMap((m) => [...m])), N);
  for (let trial = 0; trial < 15; trial++) {
    const T = 2 + Math.floor(rng() * 6);
    const masks = Array.from({ length: T }, () => blob(N, rng() * N, rng() * N, 0.2 + rng() * 6));
    const target = Float32Array.from({ length: 3 * P }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.07 + trial));
    const colours = leastSquaresColours(layerWeights(masks), target);
    const before = mseOfColours(layerWeights(masks), colours, target);
    const r = swapShapes(masks, target, colours, bank, { db: 100 });
    assert.equal(r.masks.length, T);
    r.origin.forEach((o, k) => assert.deepEqual(r.masks[k], o >= 0 ? masks[o] : bankMasks[-1 - o]));
    const kept = r.origin.filter((o) => o >= 0);
    assert.equal(new Set(kept).size, kept.length, 'an input layer appears at most once');
    assert.ok(r.origin.filter((o) => o < 0).length <= r.swaps, "each bank layer was one swap (a swapped-in shape may be swapped out again)");
    const after = mseOfColours(layerWeights(r.masks), r.colours, target);
    assert.ok(after <= before * (1 + 1e-9), `trial ${trial}: ${after} > ${before}`);
    const ls = leastSquaresColours(layerWeights(r.masks), target, r.colours);
    r.colours.forEach((c, t) => c.forEach((v, k) => assert.ok(Math.abs(v - ls[t]![k]!) < 1e-4)));
  }
  assert.throws(() => swapShapes([new Float32Array(P)], new Float32Array(5), [[0, 0, 0]], bank), /target has 5 values/);
  assert.throws(() => makeShapeBank(new Float32Array(6), 2, new Float32Array(2 * P), N), /do not describe the same shapes/);
});

test('shape swaps: the native loop gives the definition\'s swaps, order and colours', { skip: NO_NATIVE }, async () => {
  await onBackend('native');
  const native = fusedSwapShapes.active();
  assert.ok(native, 'the native backend registers the swap loop');
  const rng = mulberry32(33);
  let swapped = 0;
  for (const N of [10, 11]) {
    const P = N * N;
    const bankMasks = Array.from({ length: 40 }, () => blob(N, rng() * N, rng() * N, 0.5 + rng() * 5));
    const bank = makeShapeBank(new Float32Array(40 * 2), 2, Float32Array.from(bankMasks.flatMap((m) => [...m])), N);
    for (let trial = 0; trial < 12; trial++) {
      const T = 1 + Math.floor(rng() * 8);
      const masks = Array.from({ length: T }, () => blob(N, rng() * N, rng() * N, 0.2 + rng() * 6));
      const target = Float32Array.from({ length: 3 * P }, (_, i) => 0.5 + 0.45 * Math.sin(i * 0.05 * (1 + trial) + rng()));
      const colours = leastSquaresColours(layerWeights(masks), target);
      for (const o of [SWAP_DEFAULTS, { ...SWAP_DEFAULTS, db: 100, maxSwaps: 3, candidates: 1 }]) {
        const a = swapShapesDefinition(masks, target, colours, bank, o);
        const b = native(masks, target, colours, bank, o);
        assert.deepEqual(b.origin, a.origin, `N=${N} trial ${trial}`);
        assert.equal(b.swaps, a.swaps);
        b.masks.forEach((m, t) => assert.deepEqual(m, a.masks[t]));
        a.colours.forEach((c, t) => c.forEach((v, k) => assert.ok(Math.abs(v - b.colours[t]![k]!) < 1e-9, `colour ${t}.${k}: ${v} vs ${b.colours[t]![k]}`)));
        swapped += a.swaps;
      }
    }
  }
  assert.ok(swapped > 10, `the cases exercise swaps (${swapped})`);
  const N = 10, bank = makeShapeBank(new Float32Array(2), 2, new Float32Array(N * N), N);
  assert.throws(() => native([new Float32Array(N * N)], new Float32Array(3 * N * N), [[0, 0, 0]], { ...bank, rows: new Float32Array(3) }, SWAP_DEFAULTS), /a bank of 1 shapes/);
});

function tinyModel(): Decomposer {
  return new Decomposer(modelConfig({ encoder: 'small', size: 16, T: 3, smallChannels: [8, 8, 8, 8], mask: { K: 4 } } as never), 3);
}

test('a model file keeps its shape bank; the bank renders with the mask network; decompose swaps with it and the document paints its canvas', async () => {
  await onBackend('fast');
  const model = tinyModel();
  const S = model.cfg.size, K = model.cfg.mask.K;
  assert.equal(model.shapeBank(), null);
  const rng = mulberry32(4);
  const p = Float32Array.from({ length: 40 * K }, () => 4 * (rng() - 0.5));
  model.setShapes(p);
  const dir = tmp();
  const file = join(dir, 'bank.stratum');
  saveCheckpoint(file, model, { weightsOnly: true });
  const { model: back } = loadModel(file);
  const bank = back.shapeBank()!;
  assert.deepEqual(bank.p, p);
  const want = tf.tidy(() => model.masks(tf.tensor2d(p, [40, K])).dataSync() as Float32Array);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(bank.masks[i]! - want[i]!) < 1e-5);
  // a photo-like target: the swaps run and the document renders the canvas decompose reports
  const rgb = Uint8Array.from({ length: S * S * 3 }, (_, i) => Math.round(127 + 120 * Math.sin(i * 0.013) * Math.cos(i * 0.0021)));
  const target = Float32Array.from(rgb, (v) => v / 255);
  const d = decomposeImage(back, rgb);
  const plain = decomposeImage(back, rgb, { shapes: false, reorder: false });
  assert.equal(typeof d.doc.source?.shapeSwaps, 'number');
  const swapped = (d.doc.source?.stepOfLayer as (number | null)[] | undefined) ?? [];
  const mse = (c: Float32Array) => c.reduce((s, v, i) => s + (v - target[i]!) ** 2, 0);
  assert.ok(mse(d.canvas) <= mse(plain.canvas) * (1 + 1e-6));
  swapped.forEach((s, t) => {
    if (s === null) assert.ok(Array.from({ length: 40 }, (_, k) => k).some((k) => d.doc.layers[t]!.p.every((v, j) => Math.abs(v - p[k * K + j]!) < 1e-6)), `layer ${t} is a bank shape`);
  });
  const r = renderDocument(d.doc, S, S, { method: 'dense' });
  for (let i = 0; i < r.rgb.length; i++) assert.ok(Math.abs(r.rgb[i]! - d.canvas[i]!) < 1e-4, `pixel value ${i}`);
  const canvas = canvasAfterEachLayer(d.steps.map((s) => s.mask), d.doc.layers.map((l) => l.colour))[back.cfg.T - 1]!;
  for (let i = 0; i < canvas.length; i++) assert.ok(Math.abs(canvas[i]! - d.canvas[i]!) < 1e-5);
  // dropping the bank
  back.setShapes(null);
  assert.equal(back.shapeBank(), null);
  assert.ok(!back.store.has(SHAPES_KEY));
  model.dispose();
  back.dispose();
});

test('the bank\'s masks are kept on disk per model file: the next load reads them, a damaged file is replaced, STRATUM_CACHE=off keeps none', async () => {
  await onBackend('fast');
  const model = tinyModel();
  const K = model.cfg.mask.K, P = model.cfg.size ** 2, D = 12;
  const rng = mulberry32(6);
  model.setShapes(Float32Array.from({ length: D * K }, () => 4 * (rng() - 0.5)));
  const dir = tmp();
  const file = join(dir, 'bank.stratum');
  saveCheckpoint(file, model, { weightsOnly: true });
  const cache = join(dir, 'cache');
  const before = process.env.STRATUM_CACHE;
  process.env.STRATUM_CACHE = cache;
  try {
    const first = loadModel(file).model;
    const want = first.shapeBank()!.masks;
    const files = readdirSync(cache).filter((f) => f.endsWith('.bank'));
    assert.equal(files.length, 1);
    const kept = join(cache, files[0]!);
    assert.equal(statSync(kept).size, D * P * 4);
    // read back, not rendered: a kept file of other (valid) masks is what the next load uses
    writeFileSync(kept, new Uint8Array(new Float32Array(D * P).fill(0.25).buffer));
    assert.ok(loadModel(file).model.shapeBank()!.masks.every((v) => v === 0.25));
    // damaged (a value out of range; a short file): rendered again, and the file replaced
    for (const bad of [new Float32Array(D * P).fill(2), new Float32Array(5)]) {
      writeFileSync(kept, new Uint8Array(bad.buffer));
      assert.deepEqual(loadModel(file).model.shapeBank()!.masks, want);
      assert.deepEqual(new Float32Array(Uint8Array.from(readFileSync(kept)).buffer), want);
    }
    // a bank set in memory is not the file's: its masks are rendered, the file's cache untouched
    const other = loadModel(file).model;
    other.setShapes(Float32Array.from({ length: 3 * K }, () => rng()));
    assert.equal(other.shapeBank()!.masks.length, 3 * P);
    assert.equal(statSync(kept).size, D * P * 4);
    process.env.STRATUM_CACHE = 'off';
    const off = join(dir, 'off.stratum');
    saveCheckpoint(off, other, { weightsOnly: true });
    loadModel(off).model.shapeBank();
    assert.equal(readdirSync(cache).length, 1, 'nothing written with the cache off');
  } finally {
    if (before === undefined) delete process.env.STRATUM_CACHE;
    else process.env.STRATUM_CACHE = before;
  }
  model.dispose();
});

test('a model file with a hostile shape bank fails with a one-line error naming it', async () => {
  await onBackend('fast');
  const model = tinyModel();
  const K = model.cfg.mask.K;
  const dir = tmp();
  const cases: [string, tf.Tensor, RegExp][] = [
    ['wrong K', tf.tensor2d(new Float32Array(10 * (K + 1)), [10, K + 1]), /shape bank shapes\.p: shape \[10,5\], expected \[D, 4\]/],
    // (every tensor of a model file is checked for values finite in float32 as it is read: the bank's own check comes after)
    ['not finite', tf.tensor2d(Float32Array.from({ length: 3 * K }, (_, i) => (i === 2 ? NaN : 0)), [3, K]), /tensor shapes\.p\[2\] = NaN is not finite in float32/],
    ['one axis', tf.tensor1d(new Float32Array(K)), /shape bank shapes\.p: shape \[4\]/],
  ];
  for (const [name, t, re] of cases) {
    const file = join(dir, `${name}.stratum`);
    saveCheckpoint(file, model, { weightsOnly: true, extra: [[SHAPES_KEY, t]] });
    assert.throws(() => loadModel(file), (e: Error) => re.test(e.message) && e.message.startsWith(file) && !e.message.includes('\n'), name);
    t.dispose();
  }
  assert.throws(() => model.setShapes(new Float32Array(K + 1)), /1 to 8192 parameter vectors of K=4/);
  model.dispose();
});
