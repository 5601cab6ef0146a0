/**
 * Which OpenBLAS kernel set to ask for.
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's) identifies the CPU by vendor, family and model when
 * it loads. A model newer than the library (Debian 12 ships 0.3.21; Intel Emerald Rapids is family
 * 6 model 207) falls through to the generic 'Prescott' SSE3 kernels, even on a CPU with AVX-512:
 * measured here, that doubles the time of a training step (small encoder 2.16 → 1.18 s, ResNet-18
 * 4.72 → 2.81 s). For Intel CPUs we therefore name the kernel set from the CPU's own feature flags,
 * which is what OpenBLAS picks for every Intel model it knows (SkylakeX for AVX-512, Haswell for
 * AVX2 + FMA). Other vendors keep OpenBLAS's own choice, and so does anyone who sets
 * OPENBLAS_CORETYPE.
 */
import { readFileSync } from 'node:fs';

/** the OPENBLAS_CORETYPE for the CPU described by /proc/cpuinfo's text, or undefined to let OpenBLAS decide */
export function blasCoreFor(cpuinfo: string): string | undefined {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim() ?? '';
  if (field('vendor_id') !== 'GenuineIntel') return undefined;
  const flags = new Set(field('flags').split(/\s+/));
  if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))) return 'SkylakeX';
  if (['avx2', 'fma'].every((f) => flags.has(f))) return 'Haswell';
  return undefined;
}

/** set OPENBLAS_CORETYPE (unless the user did) before OpenBLAS is loaded; returns the value used */
export function chooseBlasCore(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE) return process.env.OPENBLAS_CORETYPE;
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined; // not Linux: OpenBLAS decides
  }
  const core = blasCoreFor(cpuinfo);
  if (core) process.env.OPENBLAS_CORETYPE = core;
  return core;
}
