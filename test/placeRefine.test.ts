// Joint refinement of placed layers (issue 22, src/model/placeRefine.ts): the reverse pass's gradient
// of every per-layer field (centre, angle, log-scales, log-gain, opacity, colour) equals central
// finite differences of the forward error; refinement lowers the error of a greedy start it can
// improve, keeps every field in bounds, and the layers it returns render the error it reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../src/core/random.js';
import { blendBox } from '../src/core/boxStack.js';
import { rasterize, type PlaceBank, type PlacedLayer } from '../src/model/place.js';
import { FIELDS, packLayers, placedError, refinePlaced } from '../src/model/placeRefine.js';

/** a small bank of smooth random logit maps (the refinement reads a bank, not the network) */
function bankOf(D: number, B: number, seed: number): PlaceBank {
  const rng = mulberry32(seed);
  const z = new Float32Array(D * B * B);
  for (let d = 0; d < D; d++) {
    const [a, b, c, e] = [rng() * 4 - 2, rng() * 4 - 2, rng() * 2 + 1, rng() * 3];
    for (let j = 0; j < B; j++) {
      for (let i = 0; i < B; i++) {
        const u = ((2 * i + 1) / B - 1) * 1.2;
        const v = ((2 * j + 1) / B - 1) * 1.2;
        z[d * B * B + j * B + i] = c * (1 - u * u - v * v) + a * u * v + b * Math.sin(e * u);
      }
    }
  }
  return { p: new Float32Array(D * 10), K: 10, D, B, z, edges: 0 };
}

const layersOf = (): PlacedLayer[] => [
  { shape: 0, place: { x: 0.1, y: -0.2, angle: 0.4, sx: 0.5, sy: 0.3 }, gain: 1.7, opacity: 0.8, colour: [0.9, 0.2, 0.1] },
  { shape: 1, place: { x: -0.3, y: 0.25, angle: -1.1, sx: 0.25, sy: 0.4 }, gain: 0.8, opacity: 0.6, colour: [0.1, 0.7, 0.3] },
  { shape: 2, place: { x: 0.35, y: 0.3, angle: 2.0, sx: 0.3, sy: 0.22 }, gain: 3.1, opacity: 0.9, colour: [0.4, 0.3, 0.95] },
];

function scene(W: number, H: number, seed: number): { target: Float32Array; base: Float32Array } {
  const rng = mulberry32(seed);
  const target = new Float32Array(W * H * 3);
  const base = new Float32Array(W * H * 3);
  for (let j = 0; j < H; j++) {
    for (let i = 0; i < W; i++) {
      const k = 3 * (j * W + i);
      target.set([i / W, j / H, 0.5 + 0.4 * Math.sin((i + j) / 5) + 0.05 * rng()], k);
      base.set([0.3, 0.3 + 0.2 * (i / W), 0.4], k);
    }
  }
  return { target, base };
}

test('the gradient of every placed-layer field equals central finite differences (non-square frame)', () => {
  const W = 48, H = 36;
  const aspect: [number, number] = [1, 0.75];
  const bank = bankOf(3, 16, 5);
  const { target, base } = scene(W, H, 1);
  const layers = layersOf();
  const shapes = layers.map((l) => l.shape);
  const v = packLayers(layers);
  const grad = new Float64Array(v.length);
  placedError(v, shapes, bank, base, target, W, H, aspect, grad);
  const names = ['x', 'y', 'angle', 'log sx', 'log sy', 'log gain', 'opacity', 'r', 'g', 'b'];
  for (let i = 0; i < v.length; i++) {
    const h = 1e-5;
    const up = Float64Array.from(v);
    const dn = Float64Array.from(v);
    up[i] = up[i]! + h;
    dn[i] = dn[i]! - h;
    const fd = (placedError(up, shapes, bank, base, target, W, H, aspect) - placedError(dn, shapes, bank, base, target, W, H, aspect)) / (2 * h);
    const what = `layer ${Math.floor(i / FIELDS)} ${names[i % FIELDS]}`;
    // the window's ramp and the bilinear read are piecewise linear: a step of h crosses a few pixels'
    // kinks, so the agreement is to a percent of the field's scale, not to float rounding
    assert.ok(Math.abs(grad[i]! - fd) <= 0.02 * Math.abs(fd) + 0.05, `${what}: autodiff ${grad[i]} vs finite differences ${fd}`);
  }
  // and the test can fail: a gradient with a sign flipped would not pass
  assert.ok(grad.some((g) => Math.abs(g) > 1), 'the gradients are not all negligible');
});

test('refinement lowers the error of a perturbed start and keeps every field in bounds', () => {
  const W = 64, H = 64;
  const bank = bankOf(3, 16, 9);
  const truth = layersOf();
  const { base } = scene(W, H, 2);
  // the target is the truth's own render: refinement of a perturbed start can approach it
  const target = Float32Array.from(base);
  const buf = new Float32Array(W * H);
  for (const l of truth) {
    const box = rasterize(bank, l, [1, 1], W, H, buf);
    blendBox(target, W, box, buf, l.colour, l.opacity);
  }
  const start = truth.map((l, t) => ({ ...l, place: { ...l.place, x: l.place.x + 0.06 * (t - 1), y: l.place.y - 0.05, angle: l.place.angle + 0.2, sx: l.place.sx * 1.2 }, colour: [0.5, 0.5, 0.5] as [number, number, number] }));
  const before = placedError(packLayers(start), start.map((l) => l.shape), bank, base, target, W, H, [1, 1]);
  const r = refinePlaced(start, bank, base, target, W, H, { steps: 150 });
  assert.ok(r.error < before * 0.3, `error ${before} -> ${r.error}`);
  assert.equal(r.layers.length, start.length);
  for (const l of r.layers) {
    assert.ok(l.opacity >= 0.05 && l.opacity <= 1 && l.colour.every((c) => c >= 0 && c <= 1) && l.gain >= 0.3 - 1e-9 && l.gain <= 32 + 1e-9, JSON.stringify(l));
  }
  // the reported error is the returned layers' own
  const again = placedError(packLayers(r.layers), r.layers.map((l) => l.shape), bank, base, target, W, H, [1, 1]);
  assert.ok(Math.abs(again - r.error) <= 1e-6 * Math.max(1, r.error), `${again} vs ${r.error}`);
});
