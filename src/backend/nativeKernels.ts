/**
 * The tfjs kernels the native backend runs in C++ instead of tfjs-cpu's JavaScript: broadcasting
 * binary ops, activations, sums and means, Tile, SplitV, max-pool's gradient, batched matmul,
 * inference BatchNorm and the three convolutions. Each falls back to the cpu kernel for what it
 * does not handle (other dtypes, NCHW). Sizes passed to the addon are the ones tfjs computed for
 * its own tensors.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '../core/tf.js';
import type { NativeAddon } from './nativeAddon.js';

export type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: MathBackendCPU; attrs?: Record<string, unknown> };
export type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

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

export function nativeKernels(n: NativeAddon, cpu: (name: string) => KernelFn): Record<string, KernelFn> {
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
