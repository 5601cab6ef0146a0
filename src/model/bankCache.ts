/**
 * A model's shape-bank masks on disk, so that only the first process using a model file pays for
 * rendering them (1,024 masks through the mask network at 32²: about 0.9 s on a 2-core machine,
 * a third of a one-photo `stratum decompose`). One file per model file content:
 * CACHE/<sha256 of the model file>.bank, the float32 masks, written atomically. CACHE is
 * $STRATUM_CACHE, else $XDG_CACHE_HOME/stratum, else ~/.cache/stratum; STRATUM_CACHE=off turns it
 * off. A file of any other size, or with a value outside [0, 1], is ignored and replaced; a cache
 * that cannot be written is skipped without a word (the masks are rendered every time instead).
 * Node only: the browser editor never loads this file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../io/atomicFile.js';
import type { BankMaskCache } from './decomposer.js';

/** the cache folder, or null when turned off */
export function bankCacheDir(): string | null {
  const env = process.env.STRATUM_CACHE;
  if (env === 'off') return null;
  if (env) return env;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stratum');
}

/** the cache file of the `kind` rendering of the model stored in `fileBytes`, or null when the cache is off */
export function bankCachePath(fileBytes: Uint8Array, kind = 'bank'): string | null {
  const dir = bankCacheDir();
  return dir ? join(dir, `${createHash('sha256').update(fileBytes).digest('hex')}.${kind}`) : null;
}

/**
 * the disk cache for the bank of the model stored in `fileBytes`: its masks (`.bank`, values in
 * [0, 1]), or another rendering of it named by `kind` whose values pass `valid` (the placing
 * bank's logit maps, src/model/place.ts: `.place`)
 */
export function diskBankCache(fileBytes: Uint8Array, kind = 'bank', valid: (v: number) => boolean = (v) => v >= 0 && v <= 1): BankMaskCache | null {
  const path = bankCachePath(fileBytes, kind);
  if (!path) return null;
  const dir = dirname(path);
  return {
    get(values: number): Float32Array | null {
      try {
        if (!existsSync(path) || statSync(path).size !== values * 4) return null;
        const b = readFileSync(path);
        const masks = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
        // (written by this code, but a file anyone could change: only mask values pass)
        return masks.every(valid) ? masks : null;
      } catch {
        return null;
      }
    },
    set(masks: Float32Array): void {
      try {
        mkdirSync(dir, { recursive: true });
        writeFileAtomic(path, [new Uint8Array(masks.buffer, masks.byteOffset, masks.byteLength)]);
      } catch {
        // a read-only or full disk: render again next time
      }
    },
  };
}
