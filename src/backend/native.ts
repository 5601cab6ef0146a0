/**
 * The 'native' tfjs backend for Node: tfjs's own CPU backend (same tensor storage, every kernel)
 * with the hot kernels replaced by the C++ addon in native/ — OpenBLAS sgemm for matrix products
 * and im2col convolutions (forward, input and filter gradients), tight loops for broadcasting
 * binary ops, reductions and activations. The model code is unchanged tfjs, so the same
 * definition runs in the browser on WebGL. See docs/training-speed.md for why and how fast.
 *
 * This file only registers: the backend and its kernel table (nativeKernels.ts), and the fused
 * kernels that replace whole tfjs definitions (mask MLP, BatchNorm, one image's decomposition,
 * Adam, shape swaps). Loading the addon is nativeAddon.ts.
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '../core/tf.js';
import { loadAddon } from './nativeAddon.js';
import { registerNativeAdam } from './nativeAdam.js';
import { registerNativeBatchNorm } from './nativeBatchNorm.js';
import { registerNativeDecompose } from './nativeDecompose.js';
import { nativeKernels, type KernelFn } from './nativeKernels.js';
import { registerNativeMaskNet } from './nativeMaskNet.js';
import { registerNativeSwaps } from './nativeSwaps.js';

export const NATIVE_BACKEND = 'native';

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
  registerNativeAdam(n, NATIVE_BACKEND);
  registerNativeSwaps(n, NATIVE_BACKEND);
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
