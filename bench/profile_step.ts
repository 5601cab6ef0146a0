/**
 * npm run bench:profile — where a training step's time goes: kernel time per tfjs kernel, summed
 * over one step (forward, backward, Adam), largest first. Same model settings as bench/train_step.ts.
 *
 *   npm run bench:profile -- --encoder small --batch 32
 */
import { Command } from 'commander';
import type { EncoderKind } from '../src/config.js';
import { useBackend, type BackendName } from '../src/backend/index.js';
import * as tf from '../src/core/tf.js';
import { stepBench, withStepOptions, type StepOptions } from './stepSetup.js';

const opts = withStepOptions(new Command().option('--encoder <kind>', 'encoder', 'small').option('--backend <name>', 'backend', 'native'))
  .option('--top <n>', 'rows to print', '25')
  .parse()
  .opts<StepOptions & { encoder: string; backend: string; top: string }>();

await useBackend(opts.backend as BackendName);
const bench = stepBench(opts, opts.encoder as EncoderKind);
const { cfg } = bench;
bench.step(); // warm-up
const t0 = performance.now();
const info = await tf.profile(() => bench.step());
bench.dispose();
const wall = (performance.now() - t0) / 1000;
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const ms = await Promise.resolve(k.kernelTimeMs as number | { error: string });
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += typeof ms === 'number' ? ms : 0;
  e.calls++;
  byKernel.set(k.name, e);
}
const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(`${opts.backend} ${opts.encoder} batch ${opts.batch} T ${cfg.T}: ${wall.toFixed(2)} s wall (profiled), ${(total / 1000).toFixed(2)} s in kernels\n`);
console.log('| kernel | calls | ms | share |\n|---|---:|---:|---:|');
for (const [name, e] of rows.slice(0, Number(opts.top))) console.log(`| ${name} | ${e.calls} | ${e.ms.toFixed(0)} | ${((100 * e.ms) / total).toFixed(1)}% |`);
