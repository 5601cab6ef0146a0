/**
 * The table and curves of a `scripts/gpu-table1.sh` run (the twin's Table 1 rows trained side by side):
 *   node --import tsx scripts/gpu-table1-report.ts RUNS [figure.png]
 * RUNS holds one folder per row with its metrics.jsonl (and bench.txt). Rows are compared at the last
 * evaluation step every row reached (equal steps), and at their own last one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plotPanels } from '../src/research/eval/plot.js';
import { orderLastChanged, rowSeries } from '../src/research/eval/rowCurves.js';

interface Eval { step: number; psnr: number; psnrLs: number }
interface RowRun { name: string; evals: Eval[]; steps: number; secPerStep: number }

const [runs, figure] = process.argv.slice(2);
if (!runs || !existsSync(runs)) {
  console.error(`usage: gpu-table1-report.ts RUNS [figure.png] (RUNS: a folder written by scripts/gpu-table1.sh${runs ? `; ${runs} does not exist` : ''})`);
  process.exit(2);
}
const rows: RowRun[] = [];
for (const name of readdirSync(runs).sort()) {
  const file = join(runs, name, 'metrics.jsonl');
  if (!existsSync(file)) continue;
  const evals: Eval[] = [];
  let steps = 0, secPerStep = NaN;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: Record<string, number>;
    try { r = JSON.parse(line.replace(/\bNaN\b/g, 'null')); } catch { continue; } // Python writes NaN
    if (typeof r.psnr === 'number') evals.push({ step: r.step!, psnr: r.psnr, psnrLs: typeof r.psnrLs === 'number' ? r.psnrLs : NaN });
    if (typeof r.loss === 'number') { steps = r.step!; secPerStep = r.secPerStep ?? NaN; }
  }
  rows.push({ name, evals, steps, secPerStep });
}
if (!rows.length) { console.error(`${runs}: no row folder with a metrics.jsonl`); process.exit(1); }
// the last evaluation step every row reached (evaluations fall on multiples of the same interval)
const every = Number(process.env.EVAL ?? 500);
const common = Math.min(...rows.map((r) => Math.max(0, ...r.evals.filter((e) => e.step % every === 0).map((e) => e.step))));
const at = (r: RowRun, step: number) => r.evals.find((e) => e.step === step);
console.log(`| row | steps reached | s/step (${rows.length} rows sharing the GPU) | held-out PSNR at step ${common} (encoder colours / least squares) | at its last step |`);
console.log('|---|---|---|---|---|');
for (const r of rows) {
  const c = at(r, common), l = r.evals[r.evals.length - 1];
  console.log(`| ${r.name} | ${r.steps} | ${r.secPerStep.toFixed(3)} | ${c ? `${c.psnr.toFixed(2)} / ${c.psnrLs.toFixed(2)}` : '—'} | ${l ? `${l.psnr.toFixed(2)} / ${l.psnrLs.toFixed(2)} (step ${l.step})` : '—'} |`);
}
// when the rows stop crossing: the last evaluation step at which their order by PSNR changed
const { lastChange, order } = orderLastChanged(rows.map((r) => ({ name: r.name, points: r.evals.map((e) => [e.step, e.psnr] as [number, number]) })));
console.log(`\nthe rows' order by held-out PSNR last changed at step ${lastChange}; from there on: ${order.join(' > ')}`);
const bench = join(runs, 'bench.txt');
if (existsSync(bench)) console.log(`\nstep times (python/stratum_torch/bench.py):\n${readFileSync(bench, 'utf8').trim()}`);
if (figure) {
  const series = (key: 'psnr' | 'psnrLs') => rowSeries(rows.map((r) => ({ name: r.name, points: r.evals.map((e) => [e.step, e[key]] as [number, number]) })));
  await plotPanels(figure, [
    { title: 'held-out PSNR, encoder colours', yLabel: 'dB', series: series('psnr') },
    { title: 'held-out PSNR, least-squares colours', yLabel: 'dB', series: series('psnrLs') },
  ]);
  console.log(`wrote ${figure}`);
}
