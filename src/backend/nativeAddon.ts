/**
 * Loading the native addon (native/, built by node-gyp against OpenBLAS): where the built file is,
 * the thread tuning OpenMP and OpenBLAS read when it loads, and the checks that it was built from
 * these sources (the mask kernels' calling convention and the fused decomposition's weight table
 * it reports). The type of everything it exports is here
 * too; what the tfjs backend does with it is in native.ts and the files it registers.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encoderSpecDrift, nativeDecomposeDims, nativeEncoderWeights, type EncoderSpecConfig } from '../model/encoderSpec.js';
import { chooseBlasCore } from './blasCore.js';

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
  /** src/model/shapes.ts swapShapes in one call; returns the swaps made (colours and origin written) */
  swapShapes?(dims: number[], db: number, masks: Float32Array, target: Float32Array, colours: Float64Array, bankMasks: Float32Array, bankRows: Float32Array, bankNorms: Float32Array, origin: Int32Array): number;
  bnBackward(x: Float32Array, dy: Float32Array, rows: number, C: number, gamma: Float32Array, mean: Float32Array, variance: Float32Array, eps: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** the weights decomposeForward reads for dims [S, T, K, n, C_0..], as [name, shape] rows (native/decompose_spec.h, src/model/encoderSpec.ts) */
  decomposeSpec?(dims: number[], flatten: boolean): [string, number[]][];
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
    const problem = addonProblem(addon);
    if (problem) {
      addon = null;
      loadError = `${path}: ${problem}`;
    }
  } catch (e) {
    addon = null;
    loadError = `${path}: ${(e as Error).message.split('\n')[0]}`;
  }
  return addon;
}

/**
 * configurations on which the loader compares the addon's weight table of the fused decomposition
 * with src/model/encoderSpec.ts: both poolings, odd and even sides, several depths
 */
const SPEC_PROBES: EncoderSpecConfig[] = [
  { size: 12, smallChannels: [8, 16, 12], smallPool: 'mean', mask: { K: 5 } },
  { size: 33, smallChannels: [4, 6], smallPool: 'flatten', mask: { K: 3 } },
];

/**
 * why an addon that loaded cannot be used ('' when it can): built from older sources (the mask
 * kernels' calling convention), or a fused-decomposition weight table that differs from
 * src/model/encoderSpec.ts (one line naming the weight)
 */
export function addonProblem(n: NativeAddon): string {
  if (n.maskAbi?.() !== MASK_ABI) return "built from older sources (mask kernels' calling convention changed)";
  if (!n.decomposeSpec) return 'built from older sources (no decomposeSpec: the fused decomposition has no weight table)';
  for (const cfg of SPEC_PROBES) {
    const drift = encoderSpecDrift(n.decomposeSpec(nativeDecomposeDims(cfg, 3), cfg.smallPool === 'flatten'), nativeEncoderWeights(cfg, 3));
    if (drift) return drift;
  }
  return '';
}

export function nativeLoadError(): string {
  return loadError;
}
