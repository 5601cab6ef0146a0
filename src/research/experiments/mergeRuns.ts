/**
 * Run folders of `stratum experiment table1|table2` merged into one, so rows trained side by side in
 * two folders (one training per folder: its run.lock), or a run folder and the copy kept in the repo,
 * end in one place that both tables read:
 *
 *   rows.json      the union of the finished rows; a key finished in two folders with different
 *                  results is refused (one row trained twice: the person picks one)
 *   curves.jsonl   each row's held-out points from the folder where that row got furthest (a
 *                  resumed row's folder holds the points before its resume as well)
 *   rows/*.safetensors  each unfinished row's state from the folder where it got furthest (the
 *                  step in its metadata); a finished row's state is left behind
 *
 * The destination is locked while it is written, every file goes in atomically, the sources are
 * only read, and everything is read and checked before the first write: a refused merge writes
 * nothing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { lockRunFolder } from '../io/runLock.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { readRows } from '../train/loop.js';
import { ROWS_DIR, rowStatePath } from './rowState.js';
import { CURVES_FILE, readRowCache, ROWS_FILE, type CurvePoint } from './tables.js';

/** the step a row's training state is at (its metadata), or a one-line error naming the file */
function stateStep(path: string): number {
  const step = Number(decodeSafetensors(new Uint8Array(readFileSync(path)), path).metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`${path}: not a table row's training state (step ${step})`);
  return step;
}

/** merges the run folders `sources` into `dest` (created if absent); returns what changed there */
export function mergeTableRuns(dest: string, sources: string[]): { rows: number; curves: number; states: number } {
  for (const s of sources) if (!existsSync(s)) throw new Error(`${s}: no such run folder`);
  mkdirSync(join(dest, ROWS_DIR), { recursive: true });
  const unlock = lockRunFolder(dest);
  try {
    const cache = readRowCache(dest);
    let rows = 0;
    for (const s of sources) {
      for (const [key, hit] of Object.entries(readRowCache(s))) {
        if (!(key in cache)) {
          cache[key] = hit;
          rows++;
        } else if (JSON.stringify(cache[key]) !== JSON.stringify(hit)) throw new Error(`${join(s, ROWS_FILE)}: row ${key} is finished with another result in ${dest} or an earlier source`);
      }
    }
    // per row, the points of the folder where it reached the furthest step (dest first: it wins ties)
    const byRow = new Map<string, { points: CurvePoint[]; last: number; from: string }>();
    for (const dir of [dest, ...sources]) {
      const mine = new Map<string, CurvePoint[]>();
      for (const p of readRows<CurvePoint>(join(dir, CURVES_FILE))) {
        if (!mine.has(p.row)) mine.set(p.row, []);
        mine.get(p.row)!.push(p);
      }
      for (const [row, points] of mine) {
        const last = Math.max(...points.map((p) => p.step));
        if (!byRow.has(row) || last > byRow.get(row)!.last) byRow.set(row, { points, last, from: dir });
      }
    }
    const curves = [...byRow.values()].filter((r) => r.from !== dest).length;
    const finished = new Set(Object.keys(cache).map((k) => basename(rowStatePath(dest, k))));
    const states = new Map<string, { path: string; step: number }>();
    for (const dir of [dest, ...sources].map((d) => join(d, ROWS_DIR))) {
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).filter((f) => f.endsWith('.safetensors') && !finished.has(f))) {
        const step = stateStep(join(dir, f));
        if (!states.has(f) || step > states.get(f)!.step) states.set(f, { path: join(dir, f), step });
      }
    }
    const copies = [...states].filter(([f, st]) => st.path !== join(dest, ROWS_DIR, f)).map(([f, st]) => [join(dest, ROWS_DIR, f), readFileSync(st.path)] as const);
    const enc = new TextEncoder();
    for (const [path, bytes] of copies) writeFileAtomic(path, [new Uint8Array(bytes)]);
    const points = [...byRow.values()].flatMap((r) => r.points);
    writeFileAtomic(join(dest, CURVES_FILE), [enc.encode(points.map((p) => JSON.stringify(p) + '\n').join(''))]);
    writeFileAtomic(join(dest, ROWS_FILE), [enc.encode(JSON.stringify(cache))]);
    return { rows, curves, states: copies.length };
  } finally {
    unlock();
  }
}
