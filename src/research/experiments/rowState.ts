/**
 * A table row's training state (src/research/experiments/tables.ts), so a row killed mid-training
 * resumes where it stopped instead of from step 0: OUT/rows/NAME.safetensors (src/research/io/
 * safetensors.ts) holding every tensor of the model's parameter store and Adam's moments under the
 * names model checkpoints use (src/model/checkpoint.ts), and in its metadata the row's cache key,
 * the step, Adam's step count and the training seconds so far. Written atomically
 * (src/io/atomicFile.ts); batches depend only on (seed, step), so a resumed row sees the batches an
 * unbroken one would have. A file that cannot be read is a one-line error naming it.
 *
 * A compact copy (compactRowState) keeps a large state between sessions where the full one cannot
 * (scripts/tables-cpu.sh keeps states up to 20 MB as they are; ResNet-18's is 134 MB): the weights in
 * bfloat16 and no Adam moments, ~1/6 of the size. Resuming from it is not an unbroken run: the
 * weights move by their bf16 rounding (relative 2⁻⁹, less than one Adam step at lr 1e-3) and Adam
 * starts afresh (its step count at 0). The steps it resumed at travel in the metadata
 * (`compactResumes`) into the finished row, so the table says so.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Adam } from '../../core/adam.js';
import type { ParamStore } from '../../core/params.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { OPTIMISER_PREFIX, optimiserTensors, restoreOptimiser, restoreStore, storeTensors } from '../../model/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';

export const ROWS_DIR = 'rows';
const FORMAT = 'stratum-table-row';

export interface RowState {
  /** steps done */
  step: number;
  /** seconds spent in training steps so far, across resumes */
  trainSeconds: number;
  /** the steps at which the row resumed from a compact state (absent: none) */
  compactResumes?: number[];
}

const COMPACT = 'weights-bf16';

/** OUT/rows/WHAT-HASH.safetensors: WHAT the row's configuration (ours-T=10-K=10, mlp-z=130), HASH of its whole cache key */
export function rowStatePath(out: string, key: string): string {
  const what = key.split('|')[0]!.replace(/[^A-Za-z0-9=.]+/g, '-');
  return join(out, ROWS_DIR, `${what}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.safetensors`);
}

export function saveRowState(path: string, key: string, store: ParamStore, opt: Adam, s: RowState): void {
  const tensors = [...storeTensors(store), ...optimiserTensors(opt, OPTIMISER_PREFIX)].map(([name, t]): [string, SafeTensor] => [name, { shape: t.shape, values: t.dataSync() as Float32Array }]);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, encodeSafetensors(tensors, { format: FORMAT, key, step: String(s.step), adamStep: String(opt.step), trainSeconds: String(s.trainSeconds), ...resumesMeta(s) }));
}

const resumesMeta = (s: RowState): Record<string, string> => (s.compactResumes?.length ? { compactResumes: JSON.stringify(s.compactResumes) } : {});

/**
 * Write `to`, the compact copy of the row state `from` (weights in bf16, no optimiser state); `from`
 * is read only. Returns the two sizes in bytes. A state already compact is copied as it is.
 */
export function compactRowState(from: string, to: string): { before: number; after: number } {
  const buf = new Uint8Array(readFileSync(from));
  const f = decodeSafetensors(buf, from);
  if (f.metadata.format !== FORMAT) throw new Error(`${from}: not a table row's training state (format ${JSON.stringify(f.metadata.format ?? null)})`);
  const weights = [...f.tensors].filter(([name]) => !name.startsWith(OPTIMISER_PREFIX)).map(([name, t]): [string, SafeTensor] => [name, { ...t, dtype: 'BF16' }]);
  const bytes = f.metadata.compact ? [buf] : encodeSafetensors(weights, { ...f.metadata, adamStep: '0', compact: COMPACT });
  mkdirSync(dirname(to), { recursive: true });
  writeFileAtomic(to, bytes);
  return { before: buf.length, after: bytes.reduce((a, b) => a + b.length, 0) };
}

/** a state read back: `fromCompact` when it was compact (its weights bf16, Adam restarted now) */
export interface LoadedRowState extends RowState {
  fromCompact: boolean;
}

/** put a saved state back into `store` and `opt` (a fresh optimiser); every failure is one line naming `path` */
export function loadRowState(path: string, key: string, store: ParamStore, opt: Adam): LoadedRowState {
  try {
    const f = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
    const m = f.metadata;
    if (m.format !== FORMAT) throw new Error(`not a table row's training state (format ${JSON.stringify(m.format ?? null)})`);
    if (m.key !== key) throw new Error(`holds the row ${JSON.stringify(m.key ?? null)}, not ${JSON.stringify(key)}`);
    const [step, adamStep, trainSeconds] = [Number(m.step), Number(m.adamStep), Number(m.trainSeconds)];
    if (!Number.isSafeInteger(step) || step < 0 || !Number.isSafeInteger(adamStep) || adamStep < 0 || !(trainSeconds >= 0)) throw new Error(`bad step ${m.step}, adamStep ${m.adamStep} or trainSeconds ${m.trainSeconds}`);
    const earlier: unknown = m.compactResumes === undefined ? [] : JSON.parse(m.compactResumes);
    if (!Array.isArray(earlier) || !earlier.every((r) => Number.isSafeInteger(r) && r >= 0)) throw new Error(`bad compactResumes ${m.compactResumes}`);
    if (m.compact !== undefined && m.compact !== COMPACT) throw new Error(`unknown compact form ${JSON.stringify(m.compact)}`);
    restoreStore(store, f.tensors, path);
    // a compact state has no optimiser state: Adam starts afresh, and the row records where
    if (!m.compact) restoreOptimiser(opt, f.tensors, OPTIMISER_PREFIX, adamStep);
    const resumes: number[] = m.compact ? [...earlier, step] : earlier;
    return { step, trainSeconds, fromCompact: !!m.compact, ...(resumes.length ? { compactResumes: resumes } : {}) };
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).replace(/\s+/g, ' ');
    throw new Error(`${why.startsWith(`${path}: `) ? why : `${path}: ${why}`} (delete it to train this row again from step 0)`);
  }
}
