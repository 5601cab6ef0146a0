import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documentStore, renderDocument, type LayeredDocument } from '../src/core/document.js';
import { mulberry32 } from '../src/core/random.js';
import { jitterLayer, recolour } from '../src/edit/edits.js';
import { addLayersGreedy, pruneLayers } from '../src/model/layers.js';
import { contributionsFromMasks } from '../src/eval/contribution.js';
import * as tf from '../src/core/tf.js';
import { closedFormBlend } from '../src/core/blend.js';
import { masksAt, refineLayers, runStepsAsync } from '../src/model/refine.js';
import { layerWeights, leastSquaresColours, mseOfColours } from '../src/core/stack.js';
import { refineDecomposition, refineDecompositionSteps } from '../src/model/refineDocument.js';
import { onBackend, psnr, testDocument } from './support/helpers.js';
import { loadModel } from '../src/model/checkpoint.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { readImageSquare } from '../src/data/images.js';

const allVisible = (d: LayeredDocument): LayeredDocument => ({ ...d, layers: d.layers.map((l) => ({ ...l, visible: true })) });

/** a target rendered from known layers, and a perturbed start */
function problem(S: number) {
  const truth = allVisible(testDocument(4, 11));
  const target = { rgb: renderDocument(truth, S).rgb, size: S };
  let start = jitterLayer(truth, 1, [0.8], 3).docs[0]!;
  start = recolour(start, 3, [0.5, 0.5, 0.5]);
  return { truth, target, start };
}

test('refinement at a larger fit size raises PSNR; the reported PSNR is that of the returned layers rendered at the fit size', async () => {
  await onBackend('fast');
  const { target, start } = problem(48);
  const r = refineDecomposition(start, target, { steps: 40, budgetMs: 0, pixels: 256 });
  assert.ok(r.psnrAfter > r.psnrBefore + 3, `${r.psnrBefore} -> ${r.psnrAfter}`);
  assert.equal(r.refine!.steps, 40);
  assert.ok(Math.abs(psnr(renderDocument(r.doc, 48).rgb, target.rgb) - r.psnrAfter) < 1e-3);
  assert.ok(Math.abs(psnr(renderDocument(start, 48).rgb, target.rgb) - r.psnrBefore) < 1e-3);
  // Adam on colour logits instead of least squares also improves, and colours-only keeps p
  const adam = refineDecomposition(start, target, { steps: 40, budgetMs: 0, leastSquares: false });
  assert.ok(adam.psnrAfter > adam.psnrBefore + 1, `${adam.psnrBefore} -> ${adam.psnrAfter}`);
  const colours = refineDecomposition(start, target, { steps: 10, budgetMs: 0, coloursOnly: true, leastSquares: false });
  assert.ok(colours.psnrAfter > colours.psnrBefore + 1, `colours only: ${colours.psnrBefore} -> ${colours.psnrAfter}`);
  colours.doc.layers.forEach((l, t) => assert.deepEqual(l.p, start.layers[t]!.p));
  // the document records how it was made
  const rec = r.doc.source!.refinement as Record<string, unknown>;
  assert.equal(rec.fitSize, 48);
  assert.equal(rec.steps, 40);
  assert.equal(rec.psnrAfter, Number(r.psnrAfter.toFixed(3)));
});

test('refinement never lowers PSNR from its start: a diverging run returns the start (keeps the best)', async () => {
  await onBackend('fast');
  // the start is close to the truth (one layer's p nudged); a negative learning rate climbs the
  // loss (gradient ascent), a stand-in for any run that ends worse than it started
  const truth = allVisible(testDocument(4, 11));
  const target = { rgb: renderDocument(truth, 32).rgb, size: 32 };
  const start = jitterLayer(truth, 1, [0.3], 3).docs[0]!;
  const store = documentStore(start);
  for (const leastSquares of [true, false]) {
    const r = refineLayers(store, start.mask, start.referenceSize, start.layers, target, { steps: 15, budgetMs: 0, lr: -1, leastSquares });
    assert.ok(r.psnrEnd < r.psnrBefore, `the run must actually get worse for this test to mean anything (${r.psnrBefore} -> end ${r.psnrEnd})`);
    assert.ok(r.psnrAfter >= r.psnrBefore, `${r.psnrBefore} -> ${r.psnrAfter}`);
    r.layers.forEach((l, t) => assert.deepEqual(l.p, start.layers[t]!.p, 'the start masks are returned'));
  }
  store.dispose();
});

test('least-squares colours equal the normal-equation solution and beat perturbed colours', async () => {
  const rng = mulberry32(5);
  const T = 5;
  const n = 400;
  const masks = Array.from({ length: T }, () => Float32Array.from({ length: n }, () => rng()));
  const w = layerWeights(masks);
  const truth = Array.from({ length: T }, () => [0.2 + 0.6 * rng(), 0.2 + 0.6 * rng(), 0.2 + 0.6 * rng()]);
  const target = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) target[3 * i + c] = truth.reduce((a, col, t) => a + col[c]! * w[t]![i]!, 0) + 0.01 * (rng() - 0.5);
  // independent solution: Gauss-Jordan on [WᵀW | Wᵀy] in float64, per channel
  const solve = (c: number) => {
    const M = Array.from({ length: T }, (_, a) => [
      ...Array.from({ length: T }, (_, b) => w[a]!.reduce((s, v, i) => s + v * w[b]![i]!, 0)),
      w[a]!.reduce((s, v, i) => s + v * target[3 * i + c]!, 0),
    ]);
    for (let k = 0; k < T; k++) {
      const piv = M[k]![k]!;
      for (let j = k; j <= T; j++) M[k]![j]! /= piv;
      for (let r = 0; r < T; r++) if (r !== k) {
        const f = M[r]![k]!;
        for (let j = k; j <= T; j++) M[r]![j]! -= f * M[k]![j]!;
      }
    }
    return M.map((row) => row[T]!);
  };
  const expected = [0, 1, 2].map(solve);
  const got = leastSquaresColours(w, target);
  for (let t = 0; t < T; t++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(got[t]![c]! - expected[c]![t]!) < 1e-4, `layer ${t} channel ${c}: ${got[t]![c]} vs ${expected[c]![t]}`);
  const best = mseOfColours(w, got, target);
  for (let k = 0; k < 20; k++) {
    const perturbed = got.map((col) => col.map((v) => Math.min(1, Math.max(0, v + 0.05 * (rng() - 0.5)))));
    assert.ok(mseOfColours(w, perturbed, target) > best, 'perturbed colours have a larger L2 loss');
  }
  // outside the box: colours stay in [0, 1] and no in-box perturbation does better
  const bright = target.map((v) => v * 3);
  const boxed = leastSquaresColours(w, bright);
  assert.ok(boxed.flat().every((v) => v >= 0 && v <= 1));
  const boxedLoss = mseOfColours(w, boxed, bright);
  for (let k = 0; k < 20; k++) {
    const perturbed = boxed.map((col) => col.map((v) => Math.min(1, Math.max(0, v + 0.05 * (rng() - 0.5)))));
    assert.ok(mseOfColours(w, perturbed, bright) >= boxedLoss - 1e-9);
  }
});

test('pruning removes layers that contribute nothing and stays within the threshold per removed layer', async () => {
  await onBackend('fast');
  const base = allVisible(testDocument(5, 21));
  const target = renderDocument(allVisible(testDocument(5, 22)), 32).rgb;
  // two black layers at the bottom paint black on black: they contribute exactly nothing
  const black = (k: number) => ({ name: `black ${k}`, p: base.layers[k]!.p.map((v) => -v), colour: [0, 0, 0] as [number, number, number], visible: true });
  const doc: LayeredDocument = { ...base, layers: [black(0), black(1), ...base.layers] };
  const store = documentStore(doc);
  const masks = masksAt(store, doc.mask, doc.referenceSize, doc.layers, 32);
  store.dispose();
  const contrib = contributionsFromMasks(masks, doc.layers, target).contributions;
  assert.ok(Math.abs(contrib[0]!) < 1e-6 && Math.abs(contrib[1]!) < 1e-6, `black layers contribute ${contrib.slice(0, 2)}`);
  for (const thr of [0.05, 1]) {
    const pr = pruneLayers(masks, doc.layers, target, thr);
    assert.ok(pr.removed.includes(0) && pr.removed.includes(1), `removed ${pr.removed}`);
    const pruned = { ...doc, layers: pr.layers };
    assert.equal(pruned.layers.length, doc.layers.length - pr.removed.length);
    // rendered independently of the pruning's own bookkeeping
    const before = psnr(renderDocument(doc, 32).rgb, target);
    const after = psnr(renderDocument(pruned, 32).rgb, target);
    assert.ok(after >= before - thr * pr.removed.length - 1e-4, `threshold ${thr}: ${before} -> ${after} after removing ${pr.removed.length}`);
    assert.ok(Math.abs(after - pr.psnrAfter) < 1e-3);
  }
  assert.ok(pruneLayers(masks, doc.layers, target, 1).removed.length >= pruneLayers(masks, doc.layers, target, 0.05).removed.length);
  assert.throws(() => pruneLayers(masks, doc.layers, target, -1), /threshold must be ≥ 0/);
});

test('greedy layers are added on top and each one lowers the residual', async () => {
  await onBackend('fast');
  const truth = allVisible(testDocument(5, 31));
  const target = { rgb: renderDocument(truth, 40).rgb, size: 40 };
  const start: LayeredDocument = { ...truth, layers: truth.layers.slice(0, 2) };
  const store = documentStore(start);
  // scored on the whole 40² grid, so a lower residual there is a higher PSNR
  const grown = addLayersGreedy(store, start.mask, start.referenceSize, start.layers, target, 3, { candidates: 64, seed: 1, scoreSize: 40 });
  store.dispose();
  assert.ok(grown.length >= 3 && grown.length <= 5, `${grown.length} layers`);
  assert.deepEqual(grown.slice(0, 2).map((l) => l.p), start.layers.map((l) => l.p));
  let prev = psnr(renderDocument(start, 40).rgb, target.rgb);
  for (let k = 3; k <= grown.length; k++) {
    const now = psnr(renderDocument({ ...start, layers: grown.slice(0, k) }, 40).rgb, target.rgb);
    assert.ok(now > prev, `layer ${k}: ${prev} -> ${now}`);
    prev = now;
  }
});

test('refine rejects a target of the wrong size and a run with neither steps nor budget', async () => {
  await onBackend('fast');
  const { start } = problem(16);
  assert.throws(() => refineDecomposition(start, { rgb: new Float32Array(10), size: 16 }), /target must be 16×16 RGB/);
  assert.throws(() => refineDecomposition(start, { rgb: new Float32Array(16 * 16 * 3), size: 16 }, { steps: 0, budgetMs: 0 }), /step count or a time budget/);
});

test('decompose: least-squares colours given the encoder masks beat the encoder colours, and the document renders its canvas', async () => {
  await onBackend('fast');
  const { model } = loadModel('models/default.stratum');
  const S = model.cfg.size;
  const rgb = await readImageSquare('samples/sunset.jpg', S);
  const target = Float32Array.from(rgb, (v) => v / 255);
  const enc = decomposeImage(model, rgb, { leastSquares: false });
  // (the order search: with the model's shape bank, decompose swaps shapes instead; test/shapes.test.ts)
  const ls = decomposeImage(model, rgb, { shapes: false });
  assert.equal(ls.doc.source?.colours, 'least-squares');
  assert.equal(enc.doc.source?.colours, 'encoder');
  const kept = decomposeImage(model, rgb, { reorder: false, shapes: false });
  assert.equal(kept.doc.source?.stepOfLayer, undefined);
  // same masks (the encoder ran once, the same way), other colours; the order search may restack
  // them, and says which step each layer came from
  const order = (ls.doc.source?.stepOfLayer as number[] | undefined) ?? ls.steps.map((_, t) => t);
  assert.deepEqual([...order].sort((a, b) => a - b), ls.steps.map((_, t) => t));
  ls.steps.forEach((s, t) => assert.deepEqual(s.mask, enc.steps[order[t]!]!.mask));
  kept.steps.forEach((s, t) => assert.deepEqual(s.mask, enc.steps[t]!.mask));
  ls.doc.layers.forEach((l, t) => assert.deepEqual(l.p, enc.doc.layers[order[t]!]!.p));
  const pEnc = psnr(enc.canvas, target);
  const pKept = psnr(kept.canvas, target);
  const pLs = psnr(ls.canvas, target);
  assert.ok(pKept >= pEnc, `least squares ${pKept.toFixed(2)} dB < encoder colours ${pEnc.toFixed(2)} dB`);
  assert.ok(pLs >= pKept - 1e-9, `restacked ${pLs.toFixed(3)} dB < in step order ${pKept.toFixed(3)} dB`);
  // the canvas is what the document renders at the model's size, and the last step's canvas
  const r = renderDocument(ls.doc, S, S, { method: 'dense' });
  for (let i = 0; i < r.rgb.length; i++) assert.ok(Math.abs(r.rgb[i]! - ls.canvas[i]!) < 1e-4, `pixel value ${i}`);
  assert.deepEqual(ls.steps[ls.steps.length - 1]!.canvas, ls.canvas);
  model.dispose();
});

test('the stepwise run (the editor: pauses between steps, a stop) is the same loop: same result, stops early keeping the best, frees its tensors when abandoned', async () => {
  await onBackend('fast');
  const { target, start } = problem(24);
  const sync = refineDecomposition(start, target, { steps: 6, budgetMs: 0 });
  let pauses = 0;
  const seen: number[] = [];
  const stepwise = await runStepsAsync(refineDecompositionSteps(start, target, { steps: 6, budgetMs: 0, onStep: (s) => seen.push(s.step) }), async () => {
    pauses++;
    await new Promise((r) => setTimeout(r, 0));
  }, 0);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  assert.equal(pauses, 6, 'a pause after every step when the slice is 0 ms');
  assert.deepEqual(stepwise.doc.layers, sync.doc.layers);
  // the exact evaluations a layer at a time: a pause between layers too, the same result
  pauses = 0;
  const layerwise = await runStepsAsync(refineDecompositionSteps(start, target, { steps: 6, budgetMs: 0, layersPerPause: 1 }), async () => void pauses++, 0);
  assert.equal(pauses, 6 + 2 * (start.layers.length - 1), 'steps, and between layers at the start and the end');
  layerwise.doc.layers.forEach((l, t) => {
    l.p.forEach((v, k) => assert.ok(Math.abs(v - sync.doc.layers[t]!.p[k]!) < 1e-4));
    l.colour.forEach((v, k) => assert.ok(Math.abs(v - sync.doc.layers[t]!.colour[k]!) < 1e-4));
  });
  assert.ok(Math.abs(layerwise.psnrAfter - sync.psnrAfter) < 1e-3);
  assert.equal(stepwise.psnrAfter, sync.psnrAfter);
  // a stop after step 2 of a long budget: the run ends there with what the two steps gained (the
  // start is a perturbed truth with a grey layer, so they gain: returning the start would fail here)
  let stop = false;
  const stopped = await runStepsAsync(refineDecompositionSteps(start, target, { budgetMs: 600_000, shouldStop: () => stop, onStep: (s) => (stop = s.step >= 2) }), () => Promise.resolve());
  assert.equal(stopped.refine!.steps, 2);
  assert.ok(stopped.psnrAfter > stopped.psnrBefore + 3, `stopped after 2 steps: ${stopped.psnrBefore} -> ${stopped.psnrAfter} dB`);
  const rec = stopped.doc.source!.refinement as Record<string, unknown>;
  assert.equal(rec.steps, 2);
  assert.equal(rec.budgetMs, 600_000);
  // at least minSteps whatever the budget (the editor's click always takes a step)
  const least = refineDecomposition(start, target, { budgetMs: 1e-6, minSteps: 3 });
  assert.equal(least.refine!.steps, 3);
  // abandoned midway (an error in a pause): the variables and optimiser state are disposed
  const before = tf.memory().numTensors;
  await assert.rejects(runStepsAsync(refineDecompositionSteps(start, target, { steps: 50, budgetMs: 0 }), () => Promise.reject(new Error('page closed')), 0), /page closed/);
  assert.equal(tf.memory().numTensors, before);
});

test('the closed-form blend (Σ c_t M_t Π_{s>t}(1 − M_s)) equals the layer-by-layer blend in value and gradient', async () => {
  await onBackend('fast');
  const rng = mulberry32(9);
  const V = 7, n = 33;
  const M = tf.tensor2d(Array.from({ length: V * n }, (_, i) => (i % 11 === 0 ? 1 : i % 13 === 0 ? 0 : rng())), [V, n]);
  const C = tf.tensor2d(Array.from({ length: V * 3 }, () => rng()), [V, 3]);
  const loop = (m: tf.Tensor2D, c: tf.Tensor2D) => {
    let canvas: tf.Tensor2D = tf.zeros([n, 3]);
    for (let v = 0; v < V; v++) {
      const mv = m.slice([v, 0], [1, n]).reshape([n, 1]);
      canvas = canvas.mul(tf.sub(1, mv)).add(mv.mul(c.slice([v, 0], [1, 3])));
    }
    return canvas;
  };
  const w = tf.tensor2d(Array.from({ length: n * 3 }, () => rng() - 0.5), [n, 3]);
  const loss = (f: typeof loop) => (...x: tf.Tensor[]) => f(x[0] as tf.Tensor2D, x[1] as tf.Tensor2D).mul(w).sum() as tf.Scalar;
  const a = closedFormBlend(M, C).arraySync().flat();
  const b = loop(M, C).arraySync().flat();
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5, `value ${i}: ${v} vs ${b[i]}`));
  // gradients away from M = 1 exactly (where the closed form caps M inside its log)
  const Mi = tf.tensor2d(Array.from({ length: V * n }, () => 0.02 + 0.96 * rng()), [V, n]);
  const [gm, gc] = tf.grads(loss(closedFormBlend))([Mi, C]).map((g) => Array.from(g.dataSync()));
  const [hm, hc] = tf.grads(loss(loop))([Mi, C]).map((g) => Array.from(g.dataSync()));
  gm!.forEach((v, i) => assert.ok(Math.abs(v - hm![i]!) < 1e-4, `dM ${i}: ${v} vs ${hm![i]}`));
  gc!.forEach((v, i) => assert.ok(Math.abs(v - hc![i]!) < 1e-4, `dC ${i}: ${v} vs ${hc![i]}`));
  tf.dispose([M, C, w, Mi]);
});
