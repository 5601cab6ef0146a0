import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { blasCoreFor } from '../src/backend/blasCore.js';
// @ts-expect-error: a plain .mjs build script, no types
import { openmpBlasDir } from '../scripts/blas-link.mjs';
import { loadAddon } from '../src/backend/nativeAddon.js';
import * as tf from '../src/core/tf.js';
import { NO_NATIVE, onBackend } from './support/helpers.js';

/** run f on both backends with the same inputs and return the largest relative difference */
async function compare(make: () => tf.Tensor[], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<number> {
  const outs: Float32Array[][] = [];
  for (const b of ['cpu', 'native'] as const) {
    await onBackend(b);
    const xs = make();
    const r = f(...xs);
    outs.push((Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array));
    tf.dispose(xs);
    tf.dispose(r);
  }
  let worst = 0;
  outs[0]!.forEach((a, k) => {
    const b = outs[1]![k]!;
    assert.equal(a.length, b.length);
    let scale = 1e-6;
    for (const v of a) if (!Number.isNaN(v)) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < a.length; i++) {
      // NaN must stay NaN: equal when both are, infinitely far when one is
      const nan = Number(Number.isNaN(a[i]!)) + Number(Number.isNaN(b[i]!));
      worst = Math.max(worst, nan === 2 ? 0 : nan === 1 ? Infinity : Math.abs(a[i]! - b[i]!) / scale);
    }
  });
  return worst;
}

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

test('native conv2d forward, input gradient and filter gradient equal tfjs cpu', { skip: NO_NATIVE }, async () => {
  for (const [k, stride, pad, cin, cout, hw] of [
    [3, 1, 1, 5, 7, 9],
    [3, 2, 1, 4, 6, 10],
    [7, 2, 3, 6, 8, 16],
    [1, 2, 0, 5, 3, 8],
    [1, 1, 0, 4, 4, 5],
  ] as const) {
    const make = () => [rnd([2, hw, hw, cin], 1), rnd([k, k, cin, cout], 2)];
    const fwd = await compare(make, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad));
    const bwd = await compare(make, (x, w) => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad))));
      return g([x!, w!]);
    });
    assert.ok(fwd < 1e-5 && bwd < 1e-4, `k${k} s${stride} p${pad}: fwd ${fwd} bwd ${bwd}`);
  }
});

test('native matMul (all transposes, batched, broadcast batch) equals tfjs cpu', { skip: NO_NATIVE }, async () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const d = await compare(() => [rnd(ta ? [3, 5, 4] : [3, 4, 5], 1), rnd(tb ? [3, 6, 5] : [3, 5, 6], 2)], (a, b) => tf.matMul(a!, b!, ta, tb));
    assert.ok(d < 1e-5, `transpose ${ta} ${tb}: ${d}`);
  }
  const d = await compare(() => [rnd([3, 4, 5], 1), rnd([1, 5, 6], 2)], (a, b) => tf.matMul(a!, b!));
  assert.ok(d < 1e-5, `broadcast batch: ${d}`);
});

test('native broadcasting binary ops, reductions, activations, tile, split and maxPool gradient equal tfjs cpu', { skip: NO_NATIVE }, async () => {
  const shapes: [number[], number[]][] = [
    [[2, 3, 4, 5], [2, 3, 4, 5]],
    [[2, 3, 4, 5], [5]],
    [[2, 3, 4, 5], [2, 1, 4, 1]],
    [[2, 1, 4, 1], [1, 3, 1, 5]],
    [[2, 3, 4, 5], []],
  ];
  for (const [sa, sb] of shapes) {
    const d = await compare(() => [rnd(sa, 3), tf.add(rnd(sb, 4).abs(), 0.5)], (a, b) => [tf.add(a!, b!), tf.sub(a!, b!), tf.mul(a!, b!), tf.div(a!, b!), tf.squaredDifference(a!, b!), tf.maximum(a!, b!)]);
    assert.ok(d < 1e-5, `binary ${sa} ${sb}: ${d}`);
  }
  const red = await compare(() => [rnd([3, 4, 5, 6], 5)], (x) => [tf.sum(x!, [1, 3]), tf.mean(x!, [0, 1, 2]), tf.mean(x!, 2, true), tf.sum(x!)]);
  assert.ok(red < 1e-5, `reductions ${red}`);
  const act = await compare(() => [rnd([1000], 6).mul(4)], (x) => [tf.tanh(x!), tf.sigmoid(x!), tf.relu(x!), tf.exp(x!.div(4)), tf.abs(x!), tf.square(x!), tf.step(x!), tf.step(x!, 0.3), tf.step(tf.concat([x!, tf.tensor1d([NaN, 0, -0])]))]);
  assert.ok(act < 1e-6, `activations ${act}`);
  const tile = await compare(() => [rnd([2, 3, 4], 7)], (x) => [tf.tile(x!, [2, 1, 3]), ...tf.split(x!, [1, 3], 2)]);
  assert.ok(tile === 0, `tile/split ${tile}`);
  const pool = await compare(() => [rnd([2, 9, 9, 3], 8)], (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, 3, 2, 1))))(x!));
  assert.ok(pool < 1e-6, `maxPool grad ${pool}`);
});

test('float32 tensors stored as int/bool buffers (tfjs casts without copying) are read as numbers, not raw bytes', { skip: NO_NATIVE }, async () => {
  const d = await compare(
    () => [rnd([4, 8, 8, 8], 1)],
    (x) => {
      const mask = tf.cast(tf.greater(x!, 0), 'float32'); // shares a Uint8Array with the bool tensor
      const ints = tf.cast(tf.cast(x!.mul(10), 'int32'), 'float32');
      return [tf.mul(mask, x!), tf.add(ints, mask), tf.sum(mask, 1), tf.matMul(mask.reshape([32, 64]), x!.reshape([64, 32]))];
    },
  );
  assert.ok(d < 1e-5, `${d}`);
});

test('fast tanh of the native kernels is accurate to 1e-6', { skip: NO_NATIVE }, () => {
  const n = loadAddon() as unknown as { maxTanhError(): number };
  assert.ok(n, 'native addon must be built (npm run build:native)');
  assert.ok(n.maxTanhError() < 1e-6);
});

test('fused native BatchNorm (batch statistics) equals the tfjs-ops version in value, gradient and statistics', { skip: NO_NATIVE }, async () => {
  const { addBn, bn, newCtx, fusedBatchNorm } = await import('../src/model/nn.js');
  const { ParamStore } = await import('../src/core/params.js');
  await onBackend('native');
  const results = [];
  for (const fused of [true, false]) {
    await onBackend('native'); // re-registers the fused op
    if (!fused) fusedBatchNorm.register([], null);
    const store = new ParamStore();
    addBn(store, 'b', 6);
    store.get('b.gamma').assign(tf.randomUniform([6], 0.5, 1.5, 'float32', 1));
    store.get('b.beta').assign(tf.randomNormal([6], 0, 1, 'float32', 2));
    const x = tf.variable(tf.randomNormal([3, 4, 5, 6], 1, 2, 'float32', 3));
    const w = tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 4);
    const ctx = newCtx(true);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn(store, 'b', x as unknown as tf.Tensor4D, ctx), w)) as tf.Scalar, [x, store.get('b.gamma'), store.get('b.beta')]);
    results.push({
      v: value.dataSync()[0]!,
      g: [x, store.get('b.gamma'), store.get('b.beta')].map((t) => Array.from(grads[t.name]!.dataSync())),
      mean: Array.from(ctx.bnUpdates[0]!.mean.dataSync()),
      variance: Array.from(ctx.bnUpdates[0]!.variance.dataSync()),
    });
    store.dispose();
  }
  await onBackend('native');
  const [a, b] = results;
  assert.ok(Math.abs(a!.v - b!.v) < 1e-3);
  a!.g.forEach((ga, k) => ga.forEach((v, i) => assert.ok(Math.abs(v - b!.g[k]![i]!) < 1e-3, `grad ${k}[${i}] ${v} vs ${b!.g[k]![i]}`)));
  a!.mean.forEach((v, i) => assert.ok(Math.abs(v - b!.mean[i]!) < 1e-5));
  a!.variance.forEach((v, i) => assert.ok(Math.abs(v - b!.variance[i]!) < 1e-4));
});

test('OpenBLAS kernel choice: named from Intel feature flags, left to OpenBLAS elsewhere', () => {
  const cpu = (vendor: string, flags: string) => `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: 6\nmodel\t\t: 207\nflags\t\t: fpu sse2 ${flags}\n`;
  assert.equal(blasCoreFor(cpu('GenuineIntel', 'avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16')), 'SkylakeX');
  assert.equal(blasCoreFor(cpu('GenuineIntel', 'avx avx2 fma avx512f')), 'Haswell', 'AVX-512 foundation alone is not what the SkylakeX kernels need');
  assert.equal(blasCoreFor(cpu('GenuineIntel', 'avx avx2 fma')), 'Haswell');
  assert.equal(blasCoreFor(cpu('GenuineIntel', 'sse4_2 avx')), undefined);
  assert.equal(blasCoreFor(cpu('AuthenticAMD', 'avx avx2 fma avx512f avx512dq avx512bw avx512vl')), undefined);
  assert.equal(blasCoreFor(''), undefined);
});

test('OpenBLAS runs the kernels chosen: the addon was loaded after the choice was made', { skip: NO_NATIVE }, () => {
  const addon = loadAddon();
  assert.ok(addon, 'native addon');
  if (process.env.OPENBLAS_CORETYPE) assert.equal(addon.blasCore().toLowerCase(), process.env.OPENBLAS_CORETYPE.toLowerCase());
});

test('native kernels flush subnormal floats to zero in every thread, and leave JavaScript arithmetic alone', { skip: NO_NATIVE }, () => {
  const addon = loadAddon()!;
  if (!addon.flushesDenormals()) return; // not x86: nothing to check
  // a product large enough for OpenBLAS to split it over its worker threads: every output row is
  // a sum of subnormal × 1 terms, which is ~1e-36 with IEEE subnormals and exactly 0 once flushed
  const n = 512;
  const a = new Float32Array(n * n).fill(1e-39);
  const b = new Float32Array(n * n).fill(1);
  const c = new Float32Array(n * n).fill(7);
  addon.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
  assert.equal(c.filter((v) => v !== 0).length, 0, 'subnormal inputs count as zero in every row');
  // the fused and element-wise kernels too (OpenMP threads): 1e-39 · 1 flushes to 0
  const y = new Float32Array(n * n);
  addon.binary(2, a, b, y, [n * n], [1], [1]);
  assert.equal(y.filter((v) => v !== 0).length, 0);
  // Node's thread gets its floating-point mode back: subnormal doubles still work in JavaScript
  const tiny = [1e-310, 3e-320];
  assert.equal(tiny[0]! * 1, 1e-310);
  assert.ok(tiny[1]! / 2 > 0);
  assert.equal(Math.fround(1e-39) > 0, true);
});

test('OpenBLAS build: the OpenMP one (one thread pool with the native kernels) whenever it is installed', { skip: NO_NATIVE }, () => {
  const addon = loadAddon();
  assert.ok(addon, 'native addon');
  const dir = (openmpBlasDir as () => string | null)();
  if (process.env.STRATUM_BLAS === 'pthread' || process.env.LD_LIBRARY_PATH?.includes('openblas-pthread')) return;
  assert.equal(addon.blasThreading(), dir ? 'openmp' : 'pthread', `OpenMP OpenBLAS ${dir ? `at ${dir}` : 'not installed'}`);
});

test('fused native Adam equals the plain tfjs update over several steps, and is the one the native backend registers', { skip: NO_NATIVE }, async () => {
  const { Adam, fusedAdam } = await import('../src/core/adam.js');
  await onBackend('native');
  assert.ok(fusedAdam.active(), 'the native backend registers the fused Adam');
  const run = (fused: boolean) => {
    if (!fused) fusedAdam.register([], null);
    const p = tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 1));
    const opt = new Adam({ lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    for (let k = 0; k < 4; k++) {
      const g = tf.randomNormal([7, 5], 0, 1, 'float32', 10 + k);
      opt.apply(new Map([['p', p]]), new Map([['p', g]]));
      g.dispose();
    }
    const out = { p: Array.from(p.dataSync()), m: Array.from(opt.m.get('p')!.dataSync()), v: Array.from(opt.v.get('p')!.dataSync()) };
    p.dispose();
    opt.dispose();
    return out;
  };
  const a = run(true);
  const b = run(false);
  await onBackend('native');
  for (const k of ['p', 'm', 'v'] as const) a[k].forEach((x, i) => assert.ok(Math.abs(x - b[k][i]!) < 1e-6, `${k}[${i}] ${x} vs ${b[k][i]}`));
});

test('fused native decomposition of one image (small encoder, folded BatchNorm) equals the tfjs forward; bad sizes fail by name', { skip: NO_NATIVE }, async () => {
  const { modelConfig } = await import('../src/config.js');
  const { deadLeaves } = await import('../src/research/data/deadLeaves.js');
  const { Decomposer, fusedDecompose } = await import('../src/model/decomposer.js');
  const { decomposeImage } = await import('../src/model/decomposeImage.js');
  const { calibrateBatchNorm } = await import('../src/research/train/calibrate.js');
  await onBackend('native');
  const set = deadLeaves({ n: 8, size: 12, seed: 7 });
  const rgb = set.data.subarray(0, 12 * 12 * 3);
  // odd feature-map sizes (12 -> 6 -> 3 -> 2), per-step statistics (T beyond them reuses the last
  // row), running statistics only, per-pixel GroupNorm in the mask network, and the flattened
  // last feature map (2×2 positions here)
  const cases = [
    { calibrate: true, norm: 'image' as const, T: 6, pool: 'mean' as const },
    { calibrate: false, norm: 'image' as const, T: 3, pool: 'mean' as const },
    { calibrate: true, norm: 'pixel' as const, T: 4, pool: 'mean' as const },
    { calibrate: true, norm: 'image' as const, T: 5, pool: 'flatten' as const },
  ];
  for (const c of cases) {
    await onBackend('native');
    const m = new Decomposer(modelConfig({ encoder: 'small', smallChannels: [8, 16, 12], smallPool: c.pool, T: 4, size: 12, mask: { K: 5, norm: c.norm } }), 9);
    assert.equal(m.store.get('head.p.w').shape[0], c.pool === 'flatten' ? 4 * 12 : 12);
    for (const name of m.store.names().filter((n) => n.endsWith('.runMean') || n.endsWith('.runVar') || n.endsWith('.gamma') || n.endsWith('.beta'))) {
      const v = m.store.get(name);
      v.assign(tf.randomUniform(v.shape, name.endsWith('.runMean') || name.endsWith('.beta') ? -0.5 : 0.5, name.endsWith('.runMean') || name.endsWith('.beta') ? 0.5 : 1.5, 'float32', name.length));
    }
    if (c.calibrate) calibrateBatchNorm(m, set, 1, 4);
    const fused = fusedDecompose.active();
    assert.ok(fused, 'the native backend registers the fused decomposition');
    const a = decomposeImage(m, rgb, { layers: c.T, leastSquares: false });
    fusedDecompose.register([], null);
    const b = decomposeImage(m, rgb, { layers: c.T, leastSquares: false });
    fusedDecompose.register(['native'], fused);
    const diff = (x: ArrayLike<number>, y: ArrayLike<number>) => Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i]!)));
    assert.ok(diff(a.canvas, b.canvas) < 1e-5, `canvas differs by ${diff(a.canvas, b.canvas)} (${JSON.stringify(c)})`);
    a.doc.layers.forEach((l, t) => {
      assert.ok(diff(l.p, b.doc.layers[t]!.p) < 1e-4, `p of layer ${t} (${JSON.stringify(c)})`);
      assert.ok(diff(l.colour, b.doc.layers[t]!.colour) < 1e-5, `colour of layer ${t}`);
      assert.ok(diff(a.steps[t]!.mask, b.steps[t]!.mask) < 1e-5, `mask of layer ${t}`);
      assert.ok(diff(a.steps[t]!.canvas, b.steps[t]!.canvas) < 1e-5, `canvas after layer ${t}`);
    });
    // the layers differ from step to step, so a wrong per-step row or a dropped step would show
    assert.ok(diff(a.doc.layers[0]!.p, a.doc.layers[1]!.p) > 1e-3);
    m.dispose();
  }
  // the kernel checks every size before it runs
  const n = loadAddon()!;
  const f = (k: number) => new Float32Array(k);
  const ok = () => [[4, 1, 2, 1, 4], [1, 16, 2, 8, 4, 1, 0, 0], 1e-5, f(48), [f(9 * 6 * 4)], f(4), f(4), f(8), f(2), f(12), f(3), f(32), [f(4 * 8), f(8), f(8), f(8), f(8), f(1)], f(2), f(3), f(16), f(48)] as unknown[];
  const call = (args: unknown[]) => (n.decomposeForward as (...a: unknown[]) => void)(...args);
  call(ok());
  const bad: [number, unknown, RegExp][] = [
    [3, f(47), /target holds 47 values, expected 48/],
    [4, [f(9 * 5 * 4)], /enc\.conv0\.w holds 180 values, expected 216/],
    [4, f(216), /conv weights must be a list/],
    [4, [], /conv weights must hold 1 arrays/],
    [5, f(5), /enc\.bn\.scale holds 5 values, expected 4/],
    [0, [4, 1, 2, 2, 4], /n channel counts/],
    [0, [4, 1e9, 2, 1, 4], /positive integers|out of range/],
    [1, [1, 9, 2, 8, 4, 1, 0, 0], /mask dims/],
    [16, f(47), /outCanvas holds 47 values/],
    // flattened, the heads read 2×2 positions × 4 channels: the mean pool's head weights are too short
    [17, true, /head\.p\.w holds 8 values, expected 32/],
    [10, f(4), /head\.c\.b holds 4 values, expected 3/],
    [17, 'yes', /flatten must be a boolean/],
  ];
  for (const [i, v, re] of bad) {
    const args = ok();
    args[i] = v;
    assert.throws(() => call(args), (e: Error) => e instanceof RangeError && /^decomposeForward: /.test(e.message) && re.test(e.message), `argument ${i}`);
  }
});

test('native inference BatchNorm (per-channel scale and shift) equals tfjs cpu, with and without scale and offset', { skip: NO_NATIVE }, async () => {
  const mk = () => [rnd([2, 3, 4, 5], 1), rnd([5], 2), tf.randomUniform([5], 0.1, 2, 'float32', 3), rnd([5], 4), rnd([5], 5)];
  assert.ok((await compare(mk, (x, m, v, o, s) => tf.batchNorm4d(x as tf.Tensor4D, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3))) < 1e-5);
  assert.ok((await compare(mk, (x, m, v) => tf.batchNorm4d(x as tf.Tensor4D, m as tf.Tensor1D, v as tf.Tensor1D))) < 1e-5);
  // statistics that broadcast another way than per channel go to the cpu kernel, same result
  const mk2 = () => [rnd([2, 3, 4, 5], 1), rnd([4, 5], 2), tf.randomUniform([4, 5], 0.1, 2, 'float32', 3)];
  assert.ok((await compare(mk2, (x, m, v) => tf.batchNorm(x, m as tf.Tensor2D, v as tf.Tensor2D))) < 1e-5);
});

test('STRATUM_NATIVE=off: auto picks tfjs cpu without a warning, as if the addon were not built; native is refused naming the switch', () => {
  const script = `const { useBackend } = await import('./src/backend/index.ts');
const { loadAddon } = await import('./src/backend/nativeAddon.ts');
console.log(JSON.stringify({ auto: await useBackend('auto'), addon: loadAddon() !== null, native: await useBackend('native').catch((e) => e.message) }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', env: { ...process.env, STRATUM_NATIVE: 'off' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no warning: the cpu backend was asked for');
  assert.deepEqual(JSON.parse(r.stdout), { auto: 'cpu', addon: false, native: 'native backend turned off (STRATUM_NATIVE=off)' });
});
