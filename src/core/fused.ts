/**
 * Optional fused kernels: a faster implementation of one plain-tfjs definition for some backends
 * (Node's native backend registers all of them in one place, src/backend/native.ts). The
 * definition stays the reference — it runs in the browser and on every other backend — and asks
 * its FusedKernel whether the current backend has a replacement; tests hold each replacement equal
 * to its definition in value and gradient (test/maskNet.test.ts, test/native.test.ts).
 */
import * as tf from './tf.js';

export class FusedKernel<F> {
  private impl: { backends: string[]; run: F } | null = null;

  constructor(readonly name: string) {}

  /** use `run` on these backends (null: none, the definition everywhere) */
  register(backends: string[], run: F | null): void {
    this.impl = run ? { backends, run } : null;
  }

  /** the replacement for the current backend, or null to run the definition */
  active(): F | null {
    return this.impl && this.impl.backends.includes(tf.getBackend()) ? this.impl.run : null;
  }
}
