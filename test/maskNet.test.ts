import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MASK_NET_DEFAULTS, type MaskNetConfig } from '../src/config.js';
import { blendLayer } from '../src/core/blend.js';
import { pixelGrid } from '../src/core/grid.js';
import { fusedMaskNet, initMaskNet, maskNet, maskNetOps, maskNetWithReference, MASK_PREFIX } from '../src/core/maskNet.js';
import { renderLayers } from '../src/core/render.js';
import { stopGradient } from '../src/model/nn.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import * as tf from '../src/core/tf.js';
import { gradCheck, NO_NATIVE, onBackend } from './support/helpers.js';

const small = (norm: 'image' | 'pixel'): MaskNetConfig => ({ K: 3, hidden: 8, depth: 3, groups: 2, norm });

function setup(cfg: MaskNetConfig, B = 2, side = 3) {
  const store = new ParamStore();
  initMaskNet(store, cfg, mulberry32(1));
  // non-trivial GroupNorm affine parameters so their gradients are exercised
  for (const n of store.names('mask.gn')) store.get(n).assign(tf.randomUniform(store.get(n).shape, 0.5, 1.5, 'float32', 3));
  store.add('p', tf.randomNormal([B, cfg.K], 0, 1, 'float32', 7));
  const coords = pixelGrid(side, side);
  const target = tf.randomUniform([B, side * side], 0, 1, 'float32', 11);
  return { store, coords, target };
}

for (const norm of ['image', 'pixel'] as const) {
  test(`mask MLP (${norm} GroupNorm): autodiff gradient matches finite differences`, async () => {
    await onBackend('cpu');
    const cfg = small(norm);
    const { store, coords, target } = setup(cfg);
    const f = () => tf.tidy(() => tf.sum(tf.square(tf.sub(maskNetOps(store, cfg, coords, store.get('p') as tf.Tensor2D).masks, target))) as tf.Scalar);
    const err = gradCheck(store, [...store.names(MASK_PREFIX), 'p'], f, 5e-3, 8);
    assert.ok(err < 2e-2, `max relative gradient error ${err}`);
    store.dispose();
  });

  test(`fused native mask MLP (${norm}) equals the tfjs-ops definition in value and gradient`, { skip: NO_NATIVE }, async () => {
    await onBackend('native');
    assert.ok(fusedMaskNet.active(), 'the native backend must run the fused mask MLP');
    const cfg: MaskNetConfig = { ...MASK_NET_DEFAULTS, K: 5, norm };
    const { store, coords, target } = setup(cfg, 3, 9);
    const names = [...store.names(MASK_PREFIX), 'p'];
    const run = (impl: typeof maskNet) =>
      tf.variableGrads(() => tf.sum(tf.abs(tf.sub(impl(store, cfg, coords, store.get('p') as tf.Tensor2D).masks, target))) as tf.Scalar, names.map((n) => store.get(n)));
    const a = run(maskNet); // fused on 'native'
    const b = run(maskNetOps);
    assertSameValueAndGradients(a, b, store, names);
    store.dispose();
  });

  test(`fused native mask MLP (${norm}) at inference equals the definition for one image (GroupNorm over pixel chunks) and for several`, { skip: NO_NATIVE }, async () => {
    await onBackend('native');
    const cfg: MaskNetConfig = { ...MASK_NET_DEFAULTS, K: 5, norm };
    for (const B of [1, 3]) {
      const { store, coords } = setup(cfg, B, 17);
      const p = store.get('p') as tf.Tensor2D;
      const a = maskNet(store, cfg, coords, p).masks.dataSync();
      const b = maskNetOps(store, cfg, coords, p).masks.dataSync();
      let d = 0;
      for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
      assert.ok(d < 1e-5, `B=${B}: fused inference differs by ${d}`);
      store.dispose();
    }
  });
}


/** a fused result equals the plain-ops one: value to 1e-4 relative, every gradient to 2e-3 of its scale */
function assertSameValueAndGradients(a: { value: tf.Scalar; grads: tf.NamedTensorMap }, b: { value: tf.Scalar; grads: tf.NamedTensorMap }, store: ParamStore, names: string[]): void {
  assert.ok(Math.abs(a.value.dataSync()[0]! - b.value.dataSync()[0]!) < 1e-4 * Math.abs(b.value.dataSync()[0]!));
  for (const n of names) {
    const v = store.get(n);
    const ga = a.grads[v.name]!.dataSync();
    const gb = b.grads[v.name]!.dataSync();
    let scale = 1e-6;
    let diff = 0;
    for (let i = 0; i < gb.length; i++) {
      scale = Math.max(scale, Math.abs(gb[i]!));
      diff = Math.max(diff, Math.abs(ga[i]! - gb[i]!));
    }
    assert.ok(diff / scale < 2e-3, `${n}: fused gradient differs by ${diff} (scale ${scale})`);
  }
}

test('per-image and per-pixel GroupNorm are different functions', async () => {
  await onBackend('cpu');
  const a = setup(small('image'));
  const mi = maskNetOps(a.store, small('image'), a.coords, a.store.get('p') as tf.Tensor2D).masks.dataSync();
  const mp = maskNetOps(a.store, small('pixel'), a.coords, a.store.get('p') as tf.Tensor2D).masks.dataSync();
  let d = 0;
  for (let i = 0; i < mi.length; i++) d = Math.max(d, Math.abs(mi[i]! - mp[i]!));
  assert.ok(d > 1e-3, 'the two GroupNorm readings should not coincide');
  for (const v of mi) assert.ok(v > 0 && v < 1, 'masks lie in (0, 1)');
});

test('blending: I_t = I_{t-1}(1 - M) + cM, and its gradient matches finite differences', async () => {
  await onBackend('cpu');
  const store = new ParamStore();
  store.add('canvas', tf.randomUniform([2, 3, 3, 3], 0, 1, 'float32', 1));
  store.add('mask', tf.randomUniform([2, 3, 3, 1], 0, 1, 'float32', 2));
  store.add('colour', tf.randomUniform([2, 3], 0, 1, 'float32', 3));
  const out = blendLayer(store.get('canvas') as tf.Tensor4D, store.get('mask') as tf.Tensor4D, store.get('colour') as tf.Tensor2D).dataSync();
  const I = store.get('canvas').dataSync();
  const M = store.get('mask').dataSync();
  const C = store.get('colour').dataSync();
  const i = (((1 * 3 + 2) * 3 + 1) * 3) + 2; // image 1, y 2, x 1, channel 2
  const m = M[(1 * 3 + 2) * 3 + 1]!;
  assert.ok(Math.abs(out[i]! - (I[i]! * (1 - m) + C[1 * 3 + 2]! * m)) < 1e-6);
  const w = tf.randomNormal([2, 3, 3, 3], 0, 1, 'float32', 5);
  const f = () => tf.tidy(() => tf.sum(tf.mul(blendLayer(store.get('canvas') as tf.Tensor4D, store.get('mask') as tf.Tensor4D, store.get('colour') as tf.Tensor2D), w)) as tf.Scalar);
  const err = gradCheck(store, ['canvas', 'mask', 'colour'], f, 1e-2);
  assert.ok(err < 1e-2, `blend gradient error ${err}`);
  store.dispose();
});

test('masks with reference statistics: fused native equals the tfjs-ops definition in value and gradient, and equal the rendered masks', { skip: NO_NATIVE }, async () => {
  await onBackend('native');
  const cfg: MaskNetConfig = { ...MASK_NET_DEFAULTS, K: 5, norm: 'image' };
  const { store } = setup(cfg, 3, 4);
  const ref = pixelGrid(8, 8);
  const coords = pixelGrid(12, 12);
  const target = tf.randomUniform([3, 144], 0, 1, 'float32', 13);
  const names = [...store.names(MASK_PREFIX), 'p'];
  const opsDefinition = (p: tf.Tensor2D) => maskNetOps(store, cfg, coords, p, maskNetOps(store, cfg, ref, p).stats).masks;
  const run = (f: (p: tf.Tensor2D) => tf.Tensor2D) =>
    tf.variableGrads(() => tf.sum(tf.abs(tf.sub(f(store.get('p') as tf.Tensor2D), target))) as tf.Scalar, names.map((n) => store.get(n)));
  assert.ok(fusedMaskNet.active() !== null);
  const a = run((p) => maskNetWithReference(store, cfg, ref, coords, p)); // fused on 'native'
  const b = run(opsDefinition);
  assertSameValueAndGradients(a, b, store, names);
  // the gradient through the statistics matters: without it p's gradient is different
  const noStats = tf.variableGrads(() => {
    const stats = maskNetOps(store, cfg, ref, stopGradient(store.get('p') as tf.Tensor2D)).stats;
    return tf.sum(tf.abs(tf.sub(maskNetOps(store, cfg, coords, store.get('p') as tf.Tensor2D, stats).masks, target))) as tf.Scalar;
  }, [store.get('p')]);
  const gp = b.grads[store.get('p').name]!.dataSync();
  const gn = noStats.grads[store.get('p').name]!.dataSync();
  assert.ok(gp.some((v, i) => Math.abs(v - gn[i]!) > 1e-3 * Math.max(...gp.map(Math.abs))), 'statistics contribute to the gradient in p');
  // value: the masks a tiled render at 12² produces with 8² reference statistics
  const layers = (store.get('p').arraySync() as number[][]).map((p) => ({ p, colour: [1, 1, 1] as [number, number, number] }));
  const r = renderLayers(store, cfg, layers, { width: 12, height: 12, referenceSize: 8, tile: 5, keepMasks: true });
  const m = maskNetWithReference(store, cfg, ref, coords, store.get('p') as tf.Tensor2D).dataSync();
  let d = 0;
  r.masks!.forEach((mt, t) => mt.forEach((v, i) => (d = Math.max(d, Math.abs(v - m[t * 144 + i]!)))));
  assert.ok(d < 1e-5, `rendered masks differ by ${d}`);
  store.dispose();
});
