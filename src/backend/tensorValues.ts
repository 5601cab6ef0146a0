/**
 * The float32 values a native kernel reads from a tensor on the native (CPU) backend, without a
 * copy when it is stored as floats. tfjs may store a 'float32' tensor as an Int32Array or
 * Uint8Array (casts share the buffer): those are converted, never handed to C++ as floats.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '../core/tf.js';

export function values(t: tf.Tensor): Float32Array {
  const v = (tf.backend() as MathBackendCPU).data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}
