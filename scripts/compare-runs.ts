/**
 * Side-by-side curves of several training runs (their metrics.jsonl): held-out PSNR and the
 * training L1 (smoothed), against steps and against wall-clock minutes, so variants can be compared
 * per step and per CPU-hour; and, for runs that log them, the gradient norm of every step and the
 * masks' spatial spread on held-out images (what docs/photos.md reads a collapse from). Also prints a
 * Markdown table (best held-out PSNR, step, minutes).
 *
 *   node --import tsx scripts/compare-runs.ts OUT.png NAME=RUN_DIR [NAME=RUN_DIR ...]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plotPanels, type Series } from '../src/research/eval/plot.js';

const [out, ...specs] = process.argv.slice(2);
if (!out || specs.length === 0) throw new Error('usage: compare-runs.ts OUT.png NAME=RUN_DIR ...');
const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
interface Row { step: number; loss?: number; psnr?: number; psnrLs?: number; gradNorm?: number; maskStd?: number; elapsed?: number; rolledBackTo?: number }
const runs = specs.map((s, i) => {
  const [name, dir] = s.split('=');
  const path = join(dir!, 'metrics.jsonl');
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
  // wall-clock minutes at each step (the trainer logs seconds of training so far, across resumes)
  const minutes = new Map<number, number>();
  let last = 0;
  for (const r of rows) {
    if (r.elapsed !== undefined) last = r.elapsed / 60;
    minutes.set(r.step, last);
  }
  const logged = (key: 'psnr' | 'psnrLs' | 'gradNorm' | 'maskStd') => rows.filter((r) => r[key] !== undefined).map((r) => [r.step, r[key]!] as [number, number]);
  const [psnr, psnrLs, gradNorm, maskStd] = [logged('psnr'), logged('psnrLs'), logged('gradNorm'), logged('maskStd')];
  let ema = NaN;
  const loss = rows.filter((r) => r.loss !== undefined).map((r) => {
    ema = Number.isNaN(ema) ? r.loss! : 0.9 * ema + 0.1 * r.loss!;
    return [r.step, ema] as [number, number];
  });
  return { name: name!, colour: colours[i % colours.length]!, psnr, psnrLs, loss, gradNorm, maskStd, minutes };
});
const s = (key: 'psnr' | 'psnrLs' | 'loss' | 'gradNorm' | 'maskStd', x: 'step' | 'min'): Series[] =>
  runs.map((r) => ({ name: r.name, colour: r.colour, points: r[key].map(([st, v]) => [x === 'step' ? st : (r.minutes.get(st) ?? 0), v] as [number, number]) }));
const panels = [
  { title: 'held-out PSNR vs step', yLabel: 'dB', series: s('psnr', 'step') },
  { title: 'held-out PSNR vs minutes', yLabel: 'dB', xLabel: 'minutes of training (this machine, shared)', series: s('psnr', 'min') },
  { title: 'training L1 (EMA 0.9) vs step', yLabel: 'L1', logY: true, series: s('loss', 'step') },
  // runs that log it: held-out PSNR with least-squares colours (what decompose paints)
  ...(runs.some((r) => r.psnrLs.length) ? [{ title: 'held-out PSNR, least-squares colours, vs step', yLabel: 'dB', series: s('psnrLs', 'step') }] : []),
  // every step's global gradient norm (unsmoothed: a collapse starts as one spike) and the masks' spatial spread
  ...(runs.some((r) => r.gradNorm.length) ? [{ title: 'gradient norm vs step', yLabel: '|g|', logY: true, series: s('gradNorm', 'step') }] : []),
  ...(runs.some((r) => r.maskStd.length) ? [{ title: "mask spatial std, held-out", yLabel: 'std', series: s('maskStd', 'step') }] : []),
];
// three panels a row
await plotPanels(out, panels, 520, 300, 3);
console.log('| run | best held-out PSNR | at step | minutes to it | last PSNR |\n|---|---|---|---|---|');
for (const r of runs) {
  const best = r.psnr.reduce((a, b) => (b[1] > a[1] ? b : a), [0, -Infinity] as [number, number]);
  console.log(`| ${r.name} | ${best[1].toFixed(2)} dB | ${best[0]} | ${(r.minutes.get(best[0]) ?? 0).toFixed(1)} | ${r.psnr.at(-1)?.[1].toFixed(2)} dB |`);
}
console.log(`wrote ${out}`);
