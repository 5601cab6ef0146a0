#!/usr/bin/env node
// Link flags for OpenBLAS, printed for native/binding.gyp. Debian ships OpenBLAS built two ways:
// with its own pthread pool (libopenblas0-pthread, the default that libopenblas-dev links) and with
// OpenMP (libopenblas0-openmp). The native kernels run their own loops on OpenMP, so with the
// pthread build two thread pools take turns on the cores, and OpenBLAS's idle workers spin in
// sched_yield while OpenMP works (~20 % of CPU samples on 2 cores). When the OpenMP build is
// installed, link it explicitly (with an rpath, so the system's default choice does not matter):
// one pool for everything, ~10–15 % faster training steps (docs/training-speed.md).
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function openmpBlasDir() {
  for (const lib of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(lib)) continue;
    const dirs = [join(lib, 'openblas-openmp'), ...readdirSync(lib).map((d) => join(lib, d, 'openblas-openmp'))];
    for (const d of dirs) if (existsSync(join(d, 'libopenblas.so.0'))) return d;
  }
  return null;
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const dir = process.env.STRATUM_BLAS === 'pthread' ? null : openmpBlasDir();
  console.log(dir ? `-L${dir} -Wl,-rpath,${dir} -l:libopenblas.so.0` : '-lopenblas');
}
