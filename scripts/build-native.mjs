#!/usr/bin/env node
// Builds the native kernels (native/, OpenBLAS) at install time. If the build fails — no compiler or
// no OpenBLAS (apt-get install libopenblas-dev) — Stratum still works on the slow tfjs cpu backend,
// so the install goes on with a warning.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// --jobs max: the kernel files compile side by side (30 s → 20 s on 2 cores)
const r = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild', '-C', 'native', '--jobs', 'max'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (r.status === 0) {
  console.log('stratum: native kernels built (native/build/Release/stratum_native.node)');
} else {
  const why = (r.stderr || '').split('\n').find((l) => /error|fatal/i.test(l)) ?? `node-gyp exited with ${r.status}`;
  console.warn(`stratum: could not build the native kernels (${why.trim()}).\n  Install OpenBLAS and a C++ compiler (Debian: apt-get install libopenblas-dev g++) and run: npm rebuild stratum\n  (in a Stratum checkout: npm run build:native)\n  Until then Stratum falls back to the much slower tfjs cpu backend.`);
}
