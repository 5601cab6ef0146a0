/**
 * The memory a job may use here, and the refusal when an estimate (src/core/memory.ts) exceeds
 * it: 80% of the machine's memory or of the cgroup limit when that is lower; STRATUM_MEMORY_LIMIT
 * (bytes, or e.g. 8G, 512M) overrides it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { MAX_IMAGE_PIXELS } from '../config.js';

function parseBytes(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(s);
  if (!m) throw new Error(`STRATUM_MEMORY_LIMIT '${s}' is not a size (e.g. 8G, 512M, 1000000)`);
  return Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
}

function cgroupLimit(): number {
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      if (!existsSync(f)) continue;
      const v = Number(readFileSync(f, 'utf8').trim());
      if (Number.isFinite(v) && v > 0) return v;
    } catch {
      // unreadable: no limit from it
    }
  }
  return Infinity;
}

export function memoryLimit(): { bytes: number; why: string } {
  const env = process.env.STRATUM_MEMORY_LIMIT;
  if (env) return { bytes: parseBytes(env), why: 'STRATUM_MEMORY_LIMIT' };
  const total = Math.min(totalmem(), cgroupLimit());
  return { bytes: 0.8 * total, why: `80% of ${gb(total)}; set STRATUM_MEMORY_LIMIT to change it` };
}

export const gb = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${Math.ceil(b / 1e6)} MB`);

/** refuse `what` when its estimate exceeds the limit */
export function checkMemory(estimate: number, what: string): void {
  const lim = memoryLimit();
  if (estimate > lim.bytes) throw new Error(`${what} needs about ${gb(estimate)} of memory; the limit here is ${gb(lim.bytes)} (${lim.why})`);
}

/** refuse an output image larger than the PNG writer takes, before rendering it */
export function checkImageSize(width: number, height: number, what = 'output image'): void {
  if (width * height > MAX_IMAGE_PIXELS) throw new Error(`${what} of ${width}×${height} pixels exceeds the image writer's limit of ${MAX_IMAGE_PIXELS.toLocaleString('en')} pixels (16383²)`);
}
