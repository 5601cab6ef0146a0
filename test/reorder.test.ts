import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canvasAfterEachLayer, layerWeights, leastSquaresColours, mseOfColours } from '../src/core/stack.js';
import { mulberry32 } from '../src/core/random.js';
import { psnrOf } from '../src/core/psnr.js';
import { searchLayerOrder } from '../src/model/reorder.js';

const N = 12;
const P = N * N;

test('order search: a covered layer moves on top, its colour is re-solved, and the image becomes the target', () => {
  // target: a red disc on blue; layers (bottom first): the disc, then a full mask that covers it
  const disc = new Float32Array(P);
  const full = new Float32Array(P).fill(1);
  const target = new Float32Array(P * 3);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      const inside = (x - 5.5) ** 2 + (y - 5.5) ** 2 < 9;
      disc[y * N + x] = inside ? 1 : 0;
      target.set(inside ? [1, 0, 0] : [0, 0, 1], (y * N + x) * 3);
    }
  const masks = [disc, full];
  const colours = leastSquaresColours(layerWeights(masks), target);
  const before = mseOfColours(layerWeights(masks), colours, target);
  assert.ok(before > 0.05, 'covered, the disc is worth nothing');
  const r = searchLayerOrder(masks, target, colours);
  assert.deepEqual(r.order, [1, 0]);
  assert.equal(r.moves, 1);
  const after = mseOfColours(layerWeights(r.order.map((k) => masks[k]!)), r.colours, target);
  assert.ok(after < 1e-8, `mse ${after}`);
  assert.ok(Math.abs(r.colours[1]![0] - 1) < 1e-4 && Math.abs(r.colours[0]![2] - 1) < 1e-4, JSON.stringify(r.colours));
});

test('order search never makes the image worse, keeps every layer once, and leaves a stack with no weak layer as it is', () => {
  const rng = mulberry32(11);
  for (let trial = 0; trial < 20; trial++) {
    const T = 2 + Math.floor(rng() * 6);
    // soft blobs at random places and sizes over a random smooth target
    const masks = Array.from({ length: T }, () => {
      const cx = rng() * N, cy = rng() * N, r = 1 + rng() * 6;
      return Float32Array.from({ length: P }, (_, q) => 1 / (1 + Math.exp(((q % N) - cx) ** 2 / r + (Math.floor(q / N) - cy) ** 2 / r - r)));
    });
    const target = Float32Array.from({ length: P * 3 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.05 + trial));
    const colours = leastSquaresColours(layerWeights(masks), target);
    const before = mseOfColours(layerWeights(masks), colours, target);
    const r = searchLayerOrder(masks, target, colours);
    assert.deepEqual([...r.order].sort((a, b) => a - b), Array.from({ length: T }, (_, k) => k));
    const stacked = r.order.map((k) => masks[k]!);
    const after = mseOfColours(layerWeights(stacked), r.colours, target);
    assert.ok(after <= before * (1 + 1e-9), `trial ${trial}: ${after} > ${before}`);
    // the colours returned are the least-squares colours of the new order
    const canvas = canvasAfterEachLayer(stacked, r.colours)[T - 1]!;
    assert.ok(Math.abs(psnrOf(canvas, target) - 10 * Math.log10(1 / after)) < 1e-3);
    if (r.moves === 0) assert.deepEqual(r.order, Array.from({ length: T }, (_, k) => k));
  }
  // with no layer below the threshold nothing is tried
  const one = [new Float32Array(P).fill(1)];
  const flat = new Float32Array(P * 3).fill(0.5);
  const r = searchLayerOrder(one, flat, leastSquaresColours(layerWeights(one), flat));
  assert.deepEqual([r.order, r.moves], [[0], 0]);
});
