/**
 * Rows trained side by side (the paper's tables), each with a held-out PSNR curve: one colour per
 * row, and when their order stopped changing (the step from which the rows no longer cross). Shared
 * by `stratum experiment table1|table2` (src/research/experiments/tables.ts) and
 * scripts/gpu-table1-report.ts.
 */
import type { Series } from './plot.js';

export interface RowCurve {
  name: string;
  /** (step, value) in step order */
  points: [number, number][];
}

export const ROW_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000'];

/** one plot series per row, step 0 left out (an untrained model's PSNR squashes the axis) */
export function rowSeries(rows: RowCurve[]): Series[] {
  return rows.map((r, i) => ({ name: r.name, colour: ROW_COLOURS[i % ROW_COLOURS.length]!, points: r.points.filter(([s]) => s > 0) }));
}

/**
 * The rows' order by value (best first) at the last step every row reached, and the last step at
 * which that order changed (0: it never changed; null `at`: no step is common to every row).
 */
export function orderLastChanged(rows: RowCurve[]): { at: number | null; lastChange: number; order: string[] } {
  const value = rows.map((r) => new Map(r.points));
  const steps = [...new Set(rows.flatMap((r) => r.points.map(([s]) => s)))].filter((s) => value.every((m) => m.has(s))).sort((a, b) => a - b);
  let lastChange = 0;
  let prev = '';
  let order: string[] = [];
  for (const s of steps) {
    order = rows.map((r, i) => ({ name: r.name, v: value[i]!.get(s)! })).sort((a, b) => b.v - a.v).map((r) => r.name);
    const key = order.join('\n');
    if (prev && key !== prev) lastChange = s;
    prev = key;
  }
  return { at: steps.at(-1) ?? null, lastChange, order };
}

export interface LateSpread {
  name: string;
  /** mean and sample standard deviation of the row's values at steps ≥ from */
  mean: number;
  sd: number;
  n: number;
}

/**
 * Each row's values over the end of training (steps ≥ from), best mean first: at a constant learning
 * rate the held-out curve wobbles by a dB or so between evaluations, so a row's last point alone
 * cannot order rows closer than that. Rows with fewer than two points there are left out (no spread).
 */
export function lateSpread(rows: RowCurve[], from: number): LateSpread[] {
  return rows
    .map((r) => {
      const v = r.points.filter(([s]) => s >= from).map(([, y]) => y);
      const mean = v.reduce((a, b) => a + b, 0) / (v.length || 1);
      const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
      return { name: r.name, mean, sd, n: v.length };
    })
    .filter((r) => r.n > 1)
    .sort((a, b) => b.mean - a.mean);
}

/**
 * "a 27.9 ± 0.2 > b 27.1 ± 0.3 ≈ c 27.0 ± 0.4": neighbours in lateSpread's order joined by ">" when
 * their means differ by more than twice the standard error of the difference, by "≈" when not (the
 * evaluations of one row are correlated, so this is a yardstick, not a test).
 */
export function lateOrder(spread: LateSpread[], digits = 2): string {
  return spread
    .map((r, i) => {
      const prev = spread[i - 1];
      const sep = prev ? (prev.mean - r.mean > 2 * Math.sqrt(prev.sd ** 2 / prev.n + r.sd ** 2 / r.n) ? ' > ' : ' ≈ ') : '';
      return `${sep}${r.name} ${r.mean.toFixed(digits)} ± ${r.sd.toFixed(digits)}`;
    })
    .join('');
}
