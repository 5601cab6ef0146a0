/**
 * The one training loop, shared by reconstruction (trainer.ts), the GAN (ganTrainer.ts) and the
 * paper's tables (src/research/experiments): steps start+1..steps, each one call of `step(n)`; a progress
 * bar; `save(n)` every saveEvery steps and at the last. Batch n of a run depends only on
 * (seed, n) (batches.ts), so a run resumed at step s sees the batches an unbroken run would have.
 *
 * Also here: the metrics log every run writes (JSONL, one row per line, cut back to the resumed
 * step so a resumed run never holds rows from the future it is about to redo).
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { Progress } from '../../io/progress.js';

export interface LoopOptions {
  /** the last step */
  steps: number;
  /** steps already done (a resumed run) */
  start?: number;
  /** progress-bar label */
  label: string;
  /** no progress bar */
  quiet?: boolean;
  /** one optimisation step; returns the progress bar's live numbers. `log` prints a line above the bar. */
  step: (step: number, log: (msg: string) => void) => string;
  /** write a checkpoint every this many steps (and at the last step) */
  saveEvery?: number;
  save?: (step: number) => Promise<void>;
}

export async function trainingLoop(o: LoopOptions): Promise<void> {
  const start = o.start ?? 0;
  const bar = o.quiet ? null : new Progress(o.steps, start, o.label);
  const log = (msg: string) => (bar ? bar.log(msg) : undefined);
  for (let step = start + 1; step <= o.steps; step++) {
    const info = o.step(step, log);
    bar?.update(step, info);
    if (o.save && (step % (o.saveEvery ?? o.steps) === 0 || step === o.steps)) await o.save(step);
  }
  // a run resumed at or past its last step still leaves its outputs up to date
  if (o.save && start >= o.steps) await o.save(start);
  bar?.finish();
}

/** how often the metrics file is rewritten between checkpoints (milliseconds) */
export const METRICS_FLUSH_MS = 10_000;

/**
 * A run's metrics: rows kept in memory, the JSONL file rewritten whole by the one writer
 * (src/io/atomicFile.ts: a full disk leaves the previous file intact and stops the run with one
 * line) at every checkpoint (flush, called by the run's save) and at most every
 * METRICS_FLUSH_MS in between. A resumed run keeps only the rows up to its checkpoint anyway.
 */
export class MetricsLog<R extends { step: number }> {
  readonly rows: R[];
  private readonly lines: string[];
  private flushedAt = 0;

  /**
   * opens `path`, keeping the rows of steps ≤ upTo (0 for a fresh run); with `mine`, a file shared
   * by several runs (the tables' curves.jsonl): only the rows it picks are this run's to cut back
   */
  constructor(
    readonly path: string,
    upTo: number,
    mine?: (row: R) => boolean,
  ) {
    const keep = (r: R) => (mine && !mine(r)) || (upTo > 0 && r.step <= upTo);
    this.rows = upTo > 0 || mine ? readRows<R>(path).filter(keep) : [];
    this.lines = this.rows.map((r) => JSON.stringify(r) + '\n');
    this.flush();
  }

  add(row: R): void {
    this.rows.push(row);
    this.lines.push(JSON.stringify(row) + '\n');
    if (Date.now() - this.flushedAt >= METRICS_FLUSH_MS) this.flush();
  }

  /** write every row now */
  flush(): void {
    writeFileAtomic(this.path, [new TextEncoder().encode(this.lines.join(''))]);
    this.flushedAt = Date.now();
  }

  /** the last row that has `key` */
  last<K extends keyof R>(key: K): R | undefined {
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.rows[i]![key] !== undefined) return this.rows[i];
    return undefined;
  }

  /** (step, value) of every row that has `key` */
  series(key: keyof R): [number, number][] {
    return this.rows.filter((r) => r[key] !== undefined).map((r) => [r.step, Number(r[key])]);
  }
}

/** the rows of a JSONL metrics file; a last line cut off by a kill is dropped, a corrupt one elsewhere is an error naming the line */
export function readRows<R>(path: string): R[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows: R[] = [];
  lines.forEach((line, i) => {
    if (!line) return;
    try {
      rows.push(JSON.parse(line) as R);
    } catch {
      if (i === lines.length - 1) return; // no newline after it: the write was interrupted
      throw new Error(`${path}: line ${i + 1} is not valid JSON`);
    }
    const row = rows.at(-1) as { step?: unknown };
    if (!row || typeof row !== 'object' || !Number.isInteger(row.step)) throw new Error(`${path}: line ${i + 1} has no step number`);
  });
  return rows;
}
