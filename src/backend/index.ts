/**
 * Backend selection for Node. 'native' (OpenBLAS addon) when built, else tfjs 'cpu'
 * (STRATUM_NATIVE=off: 'cpu' as if it were not built, without the warning).
 * 'wasm' is available on request (--backend wasm) for comparison.
 */
import * as tf from '../core/tf.js';
import { NATIVE_BACKEND, registerNativeBackend } from './native.js';
import { nativeDisabled, nativeLoadError } from './nativeAddon.js';

export type BackendName = 'auto' | 'native' | 'cpu' | 'wasm';

let warned = false;

export async function useBackend(name: BackendName = 'auto'): Promise<string> {
  silenceTfjsNodeBanner();
  if (name === 'auto' || name === 'native') {
    if (registerNativeBackend()) {
      await tf.setBackend(NATIVE_BACKEND);
      return NATIVE_BACKEND;
    }
    if (name === 'native') throw new Error(nativeDisabled() ? `native backend turned off (STRATUM_NATIVE=${process.env.STRATUM_NATIVE})` : `native backend not built (${nativeLoadError()}); run: npm rebuild stratum, or npm run build:native in a checkout`);
    // STRATUM_NATIVE=off asked for the cpu backend: nothing to warn about
    if (!warned && !nativeDisabled()) {
      warned = true;
      process.stderr.write(`stratum: native kernels not built (run npm rebuild stratum, or npm run build:native in a checkout); using the slow tfjs cpu backend\n`);
    }
    name = 'cpu';
  }
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  }
  if (!(await tf.setBackend(name))) throw new Error(`could not start tfjs backend ${name}`);
  return name;
}

/** tfjs prints an advert for tfjs-node on first use in Node; Stratum has its own native kernels. */
function silenceTfjsNodeBanner(): void {
  tf.env().set('IS_TEST', true);
}
