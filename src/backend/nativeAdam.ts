/**
 * The fused in-place Adam update on the native backend (src/core/adam.ts fusedAdam): one native
 * pass over a parameter, its gradient and both moments instead of ~10 tensor ops.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { fusedAdam } from '../core/adam.js';
import * as tf from '../core/tf.js';
import type { NativeAddon } from './nativeAddon.js';

export function registerNativeAdam(n: NativeAddon, backend: string): void {
  /** returns false (the caller runs the tfjs definition) when a tensor is not stored as floats */
  function nativeAdam(p: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, stepSize: number, beta1: number, beta2: number, eps: number, bc2: number): boolean {
    if (p.dtype !== 'float32') return false;
    const b = tf.backend() as MathBackendCPU;
    const val = (t: tf.Tensor) => b.data.get(t.dataId).values as Float32Array;
    if (![p, g, m, v].every((t) => b.data.get(t.dataId).values instanceof Float32Array)) return false;
    // the variable must own its buffer alone before we write into it
    for (const t of [p, m, v]) if (b.refCount(t.dataId) > 1) tf.tidy(() => t.assign(tf.add(t, 0)));
    n.adam(val(p), val(g), val(m), val(v), stepSize, beta1, beta2, eps, bc2);
    return true;
  }
  fusedAdam.register([backend], nativeAdam);
}
