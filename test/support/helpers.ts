import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../../src/backend/index.js';
import { loadAddon, nativeLoadError } from '../../src/backend/nativeAddon.js';
import * as tf from '../../src/core/tf.js';
import { ParamStore } from '../../src/core/params.js';
import type { LayeredDocument } from '../../src/core/document.js';
import { syntheticDocument } from './documents.js';

export function tmp(prefix = 'stratum-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** whether the native addon (OpenBLAS) loads here: not where it is unbuilt, nor with STRATUM_NATIVE=off */
export const HAS_NATIVE = loadAddon() !== null;
// CI installs OpenBLAS: there a missing addon is a broken build, not a reason to skip its tests
if (!HAS_NATIVE && process.env.STRATUM_REQUIRE_NATIVE) throw new Error(`STRATUM_REQUIRE_NATIVE is set but the native addon does not load (${nativeLoadError()})`);

/**
 * The skip reason of a test that checks the native kernels themselves (native against tfjs cpu, a
 * fused native kernel against its definition): `test(name, { skip: NO_NATIVE }, …)`. false: run it.
 */
export const NO_NATIVE: string | false = HAS_NATIVE ? false : `no native addon (${nativeLoadError()}): a check of the native kernels`;

// without the addon the command-line subprocesses run on cpu too, without the warning that would
// be a second line on stderr
if (!HAS_NATIVE) process.env.STRATUM_NATIVE = 'off';

/**
 * 'fast': the native backend where the addon loads, else tfjs cpu — for a test that only wants
 * speed and checks the same behaviour on either. 'native': the native backend itself, for tests
 * of its kernels; they must be declared with { skip: NO_NATIVE }, and fail loudly here otherwise.
 * 'cpu': tfjs cpu. Returns the backend in use.
 */
export async function onBackend(name: 'cpu' | 'native' | 'fast'): Promise<'cpu' | 'native'> {
  if (name === 'native' && !HAS_NATIVE) throw new Error(`this test needs the native backend: declare it with { skip: NO_NATIVE } (${nativeLoadError()})`);
  const want = name === 'fast' ? (HAS_NATIVE ? 'native' : 'cpu') : name;
  await useBackend(want);
  return want;
}

/**
 * Central finite differences of scalar f with respect to every entry of the named parameters,
 * compared with autodiff. Returns the largest relative error max|a-n| / max(1, max|n|).
 */
export function gradCheck(store: ParamStore, names: string[], f: () => tf.Scalar, eps = 1e-2, sample = 12): number {
  const vars = names.map((n) => store.get(n));
  const { grads } = tf.variableGrads(f, vars);
  let worst = 0;
  for (const v of vars) {
    // a parameter that does not reach f has no gradient entry: its gradient is zero
    const g = grads[v.name]?.dataSync() ?? new Float32Array(v.size);
    const base = (v.dataSync() as Float32Array).slice();
    const idx = Array.from({ length: Math.min(sample, base.length) }, (_, i) => Math.floor((i * base.length) / Math.min(sample, base.length)));
    let scale = 1;
    const num: number[] = [];
    for (const i of idx) {
      const plus = base.slice();
      plus[i]! += eps;
      v.assign(tf.tensor(plus, v.shape));
      const fp = tf.tidy(() => f().dataSync()[0]!);
      const minus = base.slice();
      minus[i]! -= eps;
      v.assign(tf.tensor(minus, v.shape));
      const fm = tf.tidy(() => f().dataSync()[0]!);
      num.push((fp - fm) / (2 * eps));
    }
    v.assign(tf.tensor(base, v.shape));
    for (const n of num) scale = Math.max(scale, Math.abs(n));
    idx.forEach((i, k) => {
      worst = Math.max(worst, Math.abs(g[i]! - num[k]!) / scale);
    });
  }
  tf.dispose(grads);
  return worst;
}

/** a layered document with a random (untrained) mask MLP and random layers; layer 2 hidden */
export function testDocument(T = 5, seed = 3): LayeredDocument {
  return syntheticDocument(T, seed, 2);
}

export { psnrOf as psnr } from '../../src/core/psnr.js';

