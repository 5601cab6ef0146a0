// Edge shapes (issue 22): p fitted so that the model's own mask network draws straight edges and
// corners; they are stored in the model file and round-trip; placed layers draw from them, and on a
// picture of straight edges they beat the bank alone at equal effort.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { psnrOf } from '../src/core/psnr.js';
import { renderDocument } from '../src/core/document.js';
import { mulberry32 } from '../src/core/random.js';
import { loadModel, saveCheckpoint } from '../src/model/checkpoint.js';
import { decomposeFrame } from '../src/model/decomposeFrame.js';
import { EDGE_SHAPES_KEY } from '../src/model/decomposer.js';
import { drawShape, type PlaceBank } from '../src/model/place.js';
import { fitEdgeShapes } from '../src/research/train/edgeShapes.js';
import { onBackend } from './support/helpers.js';
import { test as nodeTest } from 'node:test';

// each test sets its backend: test:quick imports many files into one process before it runs
// their tests, so a backend set here at the top would be overridden by another file's tests
const test = (name: string, fn: () => unknown) => void nodeTest(name, async () => {
  await onBackend('fast');
  await fn();
});

const dir = mkdtempSync(join(tmpdir(), 'stratum-edges-'));
const targets = { half: (u: number) => u > 0, corner: (u: number, v: number) => u > 0 && v > 0 };
// the 60-step fit, made once and shared by the tests that need it
let fitted: ReturnType<typeof fitEdgeShapes> | null = null;
const fitOnce = (model: Parameters<typeof fitEdgeShapes>[0]) => (fitted ??= fitEdgeShapes(model, { targets, steps: 60 }));

test('fitted edge shapes draw their regions (mean error < 0.05), closer than the bank shape they start from', () => {
  const { model } = loadModel('models/default.stratum');
  const fit = fitOnce(model);
  for (const n of Object.keys(targets)) {
    assert.ok(fit.error[n]! < fit.startError[n]!, `${n}: ${fit.error[n]} after 60 steps, ${fit.startError[n]} at the start`);
    assert.ok(fit.error[n]! < 0.05, `${n}: mean error ${fit.error[n]}`);
  }
  assert.deepEqual(fit.names, ['half', 'corner']);
  assert.equal(fit.p.length, 2 * model.cfg.mask.K);
  model.dispose();
});

test('edge shapes round-trip through the model file; a wrong shape or a non-finite value is refused naming the tensor', () => {
  const { model } = loadModel('models/default.stratum');
  const K = model.cfg.mask.K;
  const p = Float32Array.from({ length: 3 * K }, (_, i) => Math.sin(i));
  model.setEdgeShapes(p);
  const path = join(dir, 'edges.stratum');
  saveCheckpoint(path, model, { weightsOnly: true });
  const back = loadModel(path).model;
  assert.deepEqual(Array.from(back.edgeShapes()!), Array.from(p));
  back.dispose();
  assert.throws(() => model.setEdgeShapes(new Float32Array(K + 1)), /edge shapes need 1 to \d+ parameter vectors of K=10/);
  assert.throws(() => model.setEdgeShapes(Float32Array.from({ length: K }, (_, i) => (i ? 0 : NaN))), /finite/);
  // a model file whose edge tensor has the wrong width
  model.setEdgeShapes(null);
  model.store.add(EDGE_SHAPES_KEY, (model.store.get('shapes.p').slice([0, 0], [2, K - 1])), false);
  const bad = join(dir, 'bad.stratum');
  saveCheckpoint(bad, model, { weightsOnly: true });
  assert.throws(() => loadModel(bad), (e: Error) => /bad\.stratum: edge shapes shapes\.edges: shape \[2,9\], expected \[E, 10\]/.test(e.message) && !e.message.includes('\n'));
  model.dispose();
});

test('placed layers draw edge shapes at edgeShare; without edge shapes never', () => {
  const bank = { D: 100, edges: 10 } as PlaceBank;
  const rng = mulberry32(3);
  let fromEdges = 0;
  for (let i = 0; i < 20000; i++) {
    const d = drawShape(bank, rng, 0.4);
    assert.ok(d >= 0 && d < 100);
    if (d >= 90) fromEdges++;
  }
  assert.ok(Math.abs(fromEdges / 20000 - 0.4) < 0.02, `${fromEdges / 20000} of the draws were edge shapes`);
  for (let i = 0; i < 1000; i++) assert.ok(drawShape({ D: 100, edges: 0 } as PlaceBank, rng, 0.4) < 100);
  for (let i = 0; i < 1000; i++) assert.ok(drawShape({ D: 5, edges: 5 } as PlaceBank, rng, 0.4) < 5);
});

test('on a picture of straight edges, crisp placed layers with edge shapes beat the bank alone at the same effort', () => {
  // a 96×64 frame: two straight edges at angles, three flat colours
  const W = 96, H = 64;
  const rgb = new Uint8Array(W * H * 3);
  for (let j = 0; j < H; j++) {
    for (let i = 0; i < W; i++) {
      const c = j < 0.3 * i + 10 ? [20, 40, 120] : i > 60 - 0.2 * j ? [220, 230, 210] : [10, 90, 110];
      rgb.set(c, 3 * (j * W + i));
    }
  }
  const target = Float32Array.from(rgb, (v) => v / 255);
  const psnr = (withEdges: boolean): number => {
    const { model } = loadModel('models/default.stratum');
    model.setEdgeShapes(withEdges ? fitOnce(model).p : null);
    const d = decomposeFrame(model, { width: W, height: H, rgb }, { layers: 16, crisp: true, seed: 5 });
    const r = renderDocument(d.doc, W, H);
    model.dispose();
    return psnrOf(target, r.rgb);
  };
  const without = psnr(false);
  const withEdges = psnr(true);
  assert.ok(withEdges > without + 0.5, `with edge shapes ${withEdges.toFixed(2)} dB, without ${without.toFixed(2)} dB`);
});
