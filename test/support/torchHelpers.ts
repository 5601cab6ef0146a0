/**
 * Running the PyTorch twin (python/stratum_torch) from the tests: the first interpreter that
 * imports torch (STRATUM_PYTHON, python3, /usr/bin/python3 — Debian's python3-torch lives in the
 * system Python, which a pyenv or venv python3 may hide). Without one the twin's tests are
 * skipped with NO_TORCH as the reason.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../src/research/io/safetensors.js';

export const PYTHON_DIR = join(import.meta.dirname, '..', '..', 'python');

function torchPython(): string | null {
  for (const py of [process.env.STRATUM_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return py;
  }
  return null;
}

export const PYTHON = torchPython();
export const NO_TORCH: string | false = PYTHON ? false : 'no python3 with torch (apt-get install python3-torch, or STRATUM_PYTHON=/path/to/python): the PyTorch twin is not tested';

/** run the twin's Python with the package on its path; a failure throws with its stderr */
export function python(args: string[], timeout = 180_000): { out: string; err: string } {
  const env = { ...process.env, PYTHONPATH: [PYTHON_DIR, process.env.PYTHONPATH].filter(Boolean).join(':'), OMP_NUM_THREADS: '1' };
  const r = spawnSync(PYTHON!, args, { encoding: 'utf8', timeout, env });
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.error}`);
  return { out: r.stdout, err: r.stderr };
}

export function writeTensors(path: string, tensors: [string, SafeTensor][]): void {
  writeFileSync(path, Buffer.concat(encodeSafetensors(tensors)));
}

export function readTensors(path: string): Map<string, SafeTensor> {
  return decodeSafetensors(new Uint8Array(readFileSync(path)), path).tensors;
}

/** the largest |a − b| */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** the largest |a| */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
