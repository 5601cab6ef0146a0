/**
 * A GAN run's loss curves (gan-curves.png, as `stratum gan` draws them at every save) redrawn from
 * its stored gan-metrics.jsonl, without loading the model or the data.
 *
 *   node --import tsx scripts/gan-curves.ts RUN/gan-metrics.jsonl OUT.png
 */
import { existsSync } from 'node:fs';
import { readRows } from '../src/research/train/loop.js';
import { plotGanCurves, type GanRow } from '../src/research/train/ganTrainer.js';

const [metrics, out] = process.argv.slice(2);
if (!metrics || !out) throw new Error('usage: gan-curves.ts RUN/gan-metrics.jsonl OUT.png');
if (!existsSync(metrics)) throw new Error(`${metrics}: no such file`);
const rows = readRows<GanRow>(metrics).filter((r) => Number.isFinite(r.critic) && Number.isFinite(r.gen));
if (!rows.length) throw new Error(`${metrics}: no critic/generator loss rows`);
await plotGanCurves(out, rows);
console.log(`wrote ${out} (${rows.length} steps, ${rows[0]!.step}–${rows.at(-1)!.step})`);
