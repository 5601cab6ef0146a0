/** Deterministic batch streams: batch `step` of a run depends only on (seed, step), so a resumed run sees the same batches. */
import { mixSeed, mulberry32 } from '../../core/random.js';

export function batchIndices(n: number, batch: number, seed: number, step: number): number[] {
  const rng = mulberry32(mixSeed(seed, step));
  return Array.from({ length: batch }, () => Math.floor(rng() * n));
}
