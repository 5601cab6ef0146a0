/**
 * The page's and the worker's tfjs backend: WebGL on a real GPU; WebAssembly (SIMD) where WebGL is
 * missing or drawn in software (SwiftShader, llvmpipe: there the mask network runs an order of
 * magnitude slower than in WebAssembly); the plain JavaScript CPU backend as the last resort.
 * `?backend=webgl|wasm|cpu` asks for one (falling back in that order when it cannot start).
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '../src/core/tf.js';

setWasmPaths({ 'tfjs-backend-wasm.wasm': plainWasm, 'tfjs-backend-wasm-simd.wasm': simdWasm, 'tfjs-backend-wasm-threaded-simd.wasm': threadedWasm });

export type BackendChoice = 'auto' | 'webgl' | 'wasm' | 'cpu';

/** is WebGL here drawn by a GPU? (false where it is missing or a software renderer) */
export function hardwareWebgl(): boolean {
  try {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    return !/swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
  } catch {
    return false;
  }
}

/** start a backend: the one asked for, else the next that starts; returns its name */
export async function startBackend(choice: BackendChoice): Promise<string> {
  const order: string[] = choice === 'auto' ? (hardwareWebgl() ? ['webgl', 'wasm', 'cpu'] : ['wasm', 'webgl', 'cpu']) : [choice, ...['webgl', 'wasm', 'cpu'].filter((b) => b !== choice)];
  for (const name of order) if (await tf.setBackend(name).catch(() => false)) return name;
  throw new Error('no tfjs backend starts in this browser');
}

export function backendChoice(value: string | null): BackendChoice {
  return value === 'webgl' || value === 'wasm' || value === 'cpu' ? value : 'auto';
}
