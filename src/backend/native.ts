/**
 * The 'native' tfjs backend for Node: tfjs's own CPU backend (same tensor storage, every kernel)
 * with the hot kernels replaced by the C++ addon in native/ — OpenBLAS sgemm for matrix products
 * and im2col convolutions (forward, input and filter gradients), tight loops for broadcasting
 * binary ops, reductions and activations. The model code is unchanged tfjs, so the same
 * definition runs in the browser on WebGL. See docs/training-speed.md for why and how fast.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { fusedAdam } from '../core/adam.js';
import * as tf from '../core/tf.js';
import type { RGB } from '../model/refine.js';
import { fusedSwapShapes, SCORE_EXACTLY, shapeCount } from '../model/shapeSwaps.js';
import { chooseBlasCore } from './blasCore.js';
import { registerNativeDecompose } from './nativeDecompose.js';
import { registerNativeBatchNorm } from './nativeBatchNorm.js';
import { registerNativeMaskNet } from './nativeMaskNet.js';

export interface NativeAddon {
  sgemm(...args: unknown[]): void;
  batchMatMul(ta: boolean, tb: boolean, batch: number, batchA: number, batchB: number, M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array): void;
  conv2d(geom: number[], x: Float32Array, w: Float32Array, y: Float32Array): void;
  conv2dBackpropInput(geom: number[], dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  conv2dBackpropFilter(geom: number[], x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: number[], sa: number[], sb: number[]): void;
  reduceSum(x: Float32Array, shape: number[], keep: number[], out: Float32Array, scale: number): void;
  /** alpha: Step's value for x ≤ 0 (ignored by the other ops) */
  unary(op: number, x: Float32Array, y: Float32Array, alpha?: number): void;
  maskForward(dims: number[], eps: number, coords: Float32Array, p: Float32Array, w: Float32Array[], masks: Float32Array, xhat: Float32Array[], act: Float32Array[], rstd: Float32Array[], statsMean: Float32Array[], statsRstd: Float32Array[]): void;
  maskStats(dims: number[], eps: number, coords: Float32Array, p: Float32Array, w: Float32Array[], mean: Float32Array[], rstd: Float32Array[]): void;
  /** one image's T steps at inference (src/backend/nativeDecompose.ts) */
  decomposeForward?(dims: number[], maskDims: number[], eps: number, target: Float32Array, convW: Float32Array[], scale: Float32Array, shift: Float32Array, headP: Float32Array, headPb: Float32Array, headC: Float32Array, headCb: Float32Array, coords: Float32Array, maskW: Float32Array[], outP: Float32Array, outC: Float32Array, outMasks: Float32Array, outCanvas: Float32Array, flatten?: boolean): void;
  maskBackward(dims: number[], eps: number, coords: Float32Array, p: Float32Array, w: Float32Array[], masks: Float32Array, xhat: Float32Array[], act: Float32Array[], rstd: Float32Array[], dmasks: Float32Array, grads: Float32Array[], dp: Float32Array): void;
  maxPoolGrad(geom: number[], x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, stepSize: number, beta1: number, beta2: number, eps: number, bc2: number): void;
  bnForward(x: Float32Array, rows: number, C: number, gamma: Float32Array, beta: Float32Array, eps: number, y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  /** src/model/shapeSwaps.ts swapShapes in one call; returns the swaps made (colours and origin written) */
  swapShapes?(dims: number[], db: number, masks: Float32Array, target: Float32Array, colours: Float64Array, bankMasks: Float32Array, bankRows: Float32Array, bankNorms: Float32Array, origin: Int32Array): number;
  bnBackward(x: Float32Array, dy: Float32Array, rows: number, C: number, gamma: Float32Array, mean: Float32Array, variance: Float32Array, eps: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** calling convention of the mask kernels (MASK_ABI) */
  maskAbi?(): number;
  threads(n?: number): number;
  /** the OpenBLAS kernel set in use, e.g. 'SkylakeX' */
  blasCore(): string;
  /** 'openmp' | 'pthread' | 'sequential': the OpenBLAS build linked (scripts/blas-link.mjs) */
  blasThreading(): string;
  /** whether the kernels run with subnormal floats flushed to zero (x86) */
  flushesDenormals(): boolean;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    dir = dirname(dir);
  }
  return dir;
}

/** the mask kernels' calling convention these sources expect (native/stratum_native.cc MaskAbi) */
const MASK_ABI = 2;

let addon: NativeAddon | null | undefined;
let loadError = '';

/** STRATUM_NATIVE=off (or 0, false, no): run as if the addon were not built (the tfjs cpu backend) */
export function nativeDisabled(): boolean {
  return /^(off|0|false|no)$/i.test(process.env.STRATUM_NATIVE ?? '');
}

export function loadAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  if (nativeDisabled()) {
    addon = null;
    loadError = 'turned off by STRATUM_NATIVE';
    return addon;
  }
  // The addon's OpenMP loops and OpenBLAS's own threads share 2 cores; OpenMP threads that
  // spin-wait between loops starve OpenBLAS (measured: 2.4 s -> 1.0 s per small-encoder step).
  // libgomp reads this when the addon is loaded, so it must be set before.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  // ...but a thread that sleeps at once after every parallel loop must be woken by the kernel for
  // the next one: one image's decomposition runs hundreds of short loops, and those wake-ups were
  // 40 % of its time (32²: 11.9 -> 7.0 ms). Spinning ~10 µs first costs training nothing measurable.
  process.env.GOMP_SPINCOUNT ??= '10000';
  // OpenBLAS picks its kernels when it loads, and falls back to SSE3 ones on CPUs newer than itself
  chooseBlasCore();
  const path = join(packageRoot(), 'native', 'build', 'Release', 'stratum_native.node');
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (addon.maskAbi?.() !== MASK_ABI) {
      addon = null;
      loadError = `${path}: built from older sources (mask kernels' calling convention changed)`;
    }
  } catch (e) {
    addon = null;
    loadError = `${path}: ${(e as Error).message.split('\n')[0]}`;
  }
  return addon;
}

export function nativeLoadError(): string {
  return loadError;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: MathBackendCPU; attrs?: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * The float32 values of a tensor. tfjs's CPU backend casts int32/bool to float32 by sharing the
 * buffer (no copy), so a 'float32' tensor may be stored as an Int32Array or Uint8Array: convert
 * those, never hand them to C++ as floats.
 */
const f32 = (b: MathBackendCPU, t: tf.TensorInfo): Float32Array => {
  const v = b.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
};
const isF32 = (...ts: (tf.TensorInfo | undefined)[]): boolean => ts.every((t) => t !== undefined && t.dtype === 'float32');
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function stridesOf(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/** broadcast strides of `shape` inside `out` (0 on broadcast dims), then collapse mergeable dims */
function broadcastPlan(aShape: number[], bShape: number[], out: number[]): { shape: number[]; sa: number[]; sb: number[] } {
  const r = out.length;
  const pad = (s: number[]) => [...new Array<number>(r - s.length).fill(1), ...s];
  const pa = pad(aShape);
  const pb = pad(bShape);
  const ca = stridesOf(pa).map((s, d) => (pa[d] === 1 ? 0 : s));
  const cb = stridesOf(pb).map((s, d) => (pb[d] === 1 ? 0 : s));
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < r; d++) {
    if (out[d] === 1) continue;
    const n = shape.length;
    if (n > 0 && sa[n - 1] === ca[d]! * out[d]! && sb[n - 1] === cb[d]! * out[d]!) {
      shape[n - 1]! *= out[d]!;
      sa[n - 1] = ca[d]!;
      sb[n - 1] = cb[d]!;
    } else {
      shape.push(out[d]!);
      sa.push(ca[d]!);
      sb.push(cb[d]!);
    }
  }
  return { shape, sa, sb };
}

const BINARY: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 };
const UNARY: Record<string, number> = { Tanh: 0, Sigmoid: 1, Relu: 2, Exp: 3, Rsqrt: 4, Sqrt: 5, Square: 6, Abs: 7, Step: 8 };

function nativeKernels(n: NativeAddon, cpu: (name: string) => KernelFn): Record<string, KernelFn> {
  const k: Record<string, KernelFn> = {};
  for (const [name, op] of Object.entries(BINARY)) {
    k[name] = (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      if (!isF32(a, b)) return cpu(name)(args);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const out = new Float32Array(size(outShape));
      const plan = broadcastPlan(a.shape, b.shape, outShape);
      n.binary(op, f32(args.backend, a), f32(args.backend, b), out, plan.shape, plan.sa, plan.sb);
      return args.backend.makeTensorInfo(outShape, 'float32', out);
    };
  }
  for (const [name, op] of Object.entries(UNARY)) {
    k[name] = (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (!isF32(x)) return cpu(name)(args);
      const out = new Float32Array(size(x.shape));
      n.unary(op, f32(args.backend, x), out, (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0);
      return args.backend.makeTensorInfo(x.shape, 'float32', out);
    };
  }
  for (const name of ['Sum', 'Mean']) {
    k[name] = (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (!isF32(x)) return cpu(name)(args);
      const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
      const axes = tf.util.parseAxisParam(axis, x.shape);
      const keep = x.shape.map((_, d) => (axes.includes(d) ? 0 : 1));
      const reduced = size(x.shape.filter((_, d) => axes.includes(d)));
      const outShape = keepDims ? x.shape.map((s, d) => (keep[d] ? s : 1)) : x.shape.filter((_, d) => keep[d]);
      const out = new Float32Array(size(outShape));
      n.reduceSum(f32(args.backend, x), x.shape, keep, out, name === 'Mean' ? 1 / Math.max(reduced, 1) : 1);
      return args.backend.makeTensorInfo(outShape, 'float32', out);
    };
  }
  // Tile = broadcast of x reshaped to [1, s0, 1, s1, ...] into [r0, s0, r1, s1, ...]
  const zero = new Float32Array(1);
  k.Tile = (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = args.attrs as { reps: number[] };
    if (!isF32(x)) return cpu('Tile')(args);
    const inter: number[] = [];
    const xs: number[] = [];
    x.shape.forEach((s, d) => {
      inter.push(reps[d]!, s);
      xs.push(1, s);
    });
    const outShape = x.shape.map((s, d) => s * reps[d]!);
    const out = new Float32Array(size(outShape));
    const plan = broadcastPlan(xs, [1], inter);
    n.binary(BINARY.Add!, f32(args.backend, x), zero, out, plan.shape, plan.sa, plan.sb);
    return args.backend.makeTensorInfo(outShape, 'float32', out);
  };
  // SplitV: view x as [outer, axisLen, inner] and copy contiguous runs
  k.SplitV = (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    if (!isF32(x)) return cpu('SplitV')(args);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const outer = size(x.shape.slice(0, ax));
    const inner = size(x.shape.slice(ax + 1));
    const len = x.shape[ax]!;
    const src = f32(args.backend, x);
    let start = 0;
    return sizes.map((sz) => {
      const out = new Float32Array(outer * sz * inner);
      const run = sz * inner;
      for (let o = 0; o < outer; o++) out.set(src.subarray((o * len + start) * inner, (o * len + start) * inner + run), o * run);
      start += sz;
      const shape = x.shape.slice();
      shape[ax] = sz;
      return args.backend.makeTensorInfo(shape, 'float32', out);
    });
  };
  k.MaxPoolGrad = (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const at = args.attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    if (!isF32(dy, input)) return cpu('MaxPoolGrad')(args);
    const ci = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], at.filterSize, at.strides, 1, at.pad as 'same', at.dimRoundingMode);
    const g = [ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.filterHeight, ci.filterWidth, ci.strideHeight, ci.strideWidth, ci.padInfo.top, ci.padInfo.left, ci.outHeight, ci.outWidth];
    const out = new Float32Array(size(input.shape));
    n.maxPoolGrad(g, f32(args.backend, input), f32(args.backend, dy), out);
    return args.backend.makeTensorInfo(input.shape, 'float32', out);
  };
  k.BatchMatMul = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!isF32(a, b)) return cpu('BatchMatMul')(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
    const batch = size(outer);
    const batchA = size(outerA);
    const batchB = size(outerB);
    if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return cpu('BatchMatMul')(args);
    const out = new Float32Array(batch * M * N);
    n.batchMatMul(transposeA, transposeB, batch, batchA, batchB, M, N, K, f32(args.backend, a), f32(args.backend, b), out);
    return args.backend.makeTensorInfo([...outer, M, N], 'float32', out);
  };
  type ConvAttrs = { strides: number | [number, number]; pad: unknown; dataFormat: 'NHWC' | 'NCHW'; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  const geom = (ci: tf.backend_util.Conv2DInfo): number[] => [
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.filterHeight, ci.filterWidth, ci.strideHeight, ci.strideWidth,
    ci.padInfo.top, ci.padInfo.left, ci.dilationHeight, ci.dilationWidth, ci.outHeight, ci.outWidth, ci.outChannels,
  ];
  const info = (xShape: number[], fShape: number[], at: ConvAttrs) =>
    tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      fShape as [number, number, number, number],
      at.strides,
      at.dilations ?? 1,
      at.pad as 'same',
      at.dimRoundingMode,
      false,
      tf.backend_util.convertConv2DDataFormat(at.dataFormat),
    );
  // inference BatchNorm: tfjs-cpu's kernel takes a square root and a division per element (about a
  // millisecond per 32² decomposition); per-channel scale and shift computed once give the same
  // y = offset + (x − mean)·scale / sqrt(variance + ε) in one multiply-add per element
  k.FusedBatchNorm = (args) => {
    const { x, mean, variance, scale, offset } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const C = x!.shape[x!.shape.length - 1] ?? 1;
    const perChannel = (t: tf.TensorInfo | undefined) => t === undefined || size(t.shape) === C || size(t.shape) === 1;
    if (!isF32(x, mean, variance) || ![mean, variance, scale, offset].every(perChannel) || (scale && !isF32(scale)) || (offset && !isF32(offset))) return cpu('FusedBatchNorm')(args);
    const eps = (args.attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
    const at = (t: tf.TensorInfo | undefined, fallback: number) => {
      if (!t) return () => fallback;
      const v = f32(args.backend, t);
      return v.length === 1 ? () => v[0]! : (c: number) => v[c]!;
    };
    const m = at(mean, 0), v = at(variance, 1), s = at(scale, 1), o = at(offset, 0);
    const mul = new Float32Array(C), add = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      mul[c] = s(c) / Math.sqrt(v(c) + eps);
      add[c] = o(c) - m(c) * mul[c]!;
    }
    const xv = f32(args.backend, x!);
    const out = new Float32Array(xv.length);
    for (let i = 0; i < xv.length; i += C) for (let c = 0; c < C; c++) out[i + c] = xv[i + c]! * mul[c]! + add[c]!;
    return args.backend.makeTensorInfo(x!.shape, 'float32', out);
  };
  k.Conv2D = (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const at = args.attrs as ConvAttrs;
    if (!isF32(x, filter) || at.dataFormat === 'NCHW') return cpu('Conv2D')(args);
    const ci = info(x.shape, filter.shape, at);
    const out = new Float32Array(size(ci.outShape));
    n.conv2d(geom(ci), f32(args.backend, x), f32(args.backend, filter), out);
    return args.backend.makeTensorInfo(ci.outShape, 'float32', out);
  };
  k.Conv2DBackpropInput = (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const at = args.attrs as ConvAttrs & { inputShape: number[] };
    if (!isF32(dy, filter) || at.dataFormat === 'NCHW') return cpu('Conv2DBackpropInput')(args);
    const ci = info(at.inputShape, filter.shape, at);
    const out = new Float32Array(size(at.inputShape));
    n.conv2dBackpropInput(geom(ci), f32(args.backend, dy), f32(args.backend, filter), out);
    return args.backend.makeTensorInfo(at.inputShape, 'float32', out);
  };
  k.Conv2DBackpropFilter = (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const at = args.attrs as ConvAttrs & { filterShape: number[] };
    if (!isF32(x, dy) || at.dataFormat === 'NCHW') return cpu('Conv2DBackpropFilter')(args);
    const ci = info(x.shape, at.filterShape, at);
    const out = new Float32Array(size(at.filterShape));
    n.conv2dBackpropFilter(geom(ci), f32(args.backend, x), f32(args.backend, dy), out);
    return args.backend.makeTensorInfo(at.filterShape, 'float32', out);
  };
  return k;
}

export const NATIVE_BACKEND = 'native';

/**
 * Fused in-place Adam update on the native backend (one pass instead of ~10 tensor ops over
 * every parameter). Returns false when not on the native backend.
 */
export function nativeAdam(p: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, stepSize: number, beta1: number, beta2: number, eps: number, bc2: number): boolean {
  if (!addon || p.dtype !== 'float32') return false;
  const b = tf.backend() as MathBackendCPU;
  const val = (t: tf.Tensor) => b.data.get(t.dataId).values as Float32Array;
  if (![p, g, m, v].every((t) => b.data.get(t.dataId).values instanceof Float32Array)) return false;
  // the variable must own its buffer alone before we write into it
  for (const t of [p, m, v]) if (b.refCount(t.dataId) > 1) tf.tidy(() => t.assign(tf.add(t, 0)));
  addon.adam(val(p), val(g), val(m), val(v), stepSize, beta1, beta2, eps, bc2);
  return true;
}

/**
 * Register the 'native' backend (once) and the fused kernels it runs in place of plain tfjs
 * definitions (again at every call: a test may have unregistered one). Returns false when the
 * addon is not built.
 */
export function registerNativeBackend(): boolean {
  const n = loadAddon();
  if (!n) return false;
  registerNativeMaskNet(n, NATIVE_BACKEND);
  registerNativeBatchNorm(n, NATIVE_BACKEND);
  registerNativeDecompose(n, NATIVE_BACKEND);
  fusedAdam.register([NATIVE_BACKEND], nativeAdam);
  fusedSwapShapes.register([NATIVE_BACKEND], n.swapShapes ? (masks, target, colours, bank, o) => {
    const T = masks.length, S = bank.size, P = S * S, D = shapeCount(bank), L = bank.low * bank.low;
    // every size the C++ loop reads, checked here (swapShapes checks them too, with friendlier words)
    if (T === 0) return { masks: [], colours: [], origin: [], swaps: 0 };
    if (bank.masks.length !== D * P || bank.rows.length !== D * 2 * L || !(S >= 1) || D < 1) throw new Error(`shape swaps: a bank of ${D} shapes at ${S}² with ${bank.masks.length} mask values and ${bank.rows.length} row values`);
    if (masks.some((m) => m.length !== P) || target.length !== 3 * P || colours.length !== T || colours.some((c) => c.length !== 3)) throw new Error(`shape swaps: masks, target and colours do not fit ${T} layers at ${S}²`);
    if (![o.maxSwaps, o.candidates].every((x) => Number.isInteger(x) && x >= 0) || o.candidates < 1 || o.maxSwaps > 1e6) throw new Error('shape swaps: maxSwaps must be a whole number ≥ 0 and candidates ≥ 1');
    const packed = new Float32Array(T * P);
    masks.forEach((m, t) => packed.set(m, t * P));
    const cols = Float64Array.from(colours.flat());
    const origin = new Int32Array(T);
    const swaps = n.swapShapes!([T, S, D, o.maxSwaps, o.candidates, SCORE_EXACTLY], o.db, packed, target, cols, bank.masks, bank.rows, bank.norms, origin);
    return {
      masks: [...origin].map((g) => (g >= 0 ? masks[g]! : bank.masks.subarray((-1 - g) * P, -g * P))),
      colours: Array.from({ length: T }, (_, t) => [cols[3 * t]!, cols[3 * t + 1]!, cols[3 * t + 2]!] as RGB),
      origin: [...origin],
      swaps,
    };
  } : null);
  if (tf.findBackendFactory(NATIVE_BACKEND)) return true;
  tf.registerBackend(NATIVE_BACKEND, () => new MathBackendCPU(), 3);
  const cpuKernels = new Map<string, KernelFn>();
  for (const cfg of tf.getKernelsForBackend('cpu')) {
    cpuKernels.set(cfg.kernelName, cfg.kernelFunc as unknown as KernelFn);
  }
  const cpu = (name: string): KernelFn => {
    const f = cpuKernels.get(name);
    if (!f) throw new Error(`no cpu kernel ${name}`);
    return f;
  };
  const overrides = nativeKernels(n, cpu);
  for (const cfg of tf.getKernelsForBackend('cpu')) {
    const kernelFunc = (overrides[cfg.kernelName] ?? cfg.kernelFunc) as unknown as tf.KernelFunc;
    tf.registerKernel({ ...cfg, backendName: NATIVE_BACKEND, kernelFunc });
  }
  return true;
}
