/**
 * npm run bench — seconds per training step of the reconstruction model (T=10, K=10, 32×32,
 * batch 32 by default) for each encoder on each available Node backend.
 * Compare with the PyTorch reference: /usr/bin/python3 ../shared/reference/torch_ref.py --bench
 *
 *   npm run bench -- --encoders small,resnet18 --backends native,cpu --reps 3 --batch 32
 */
import { Command } from 'commander';
import type { EncoderKind } from '../src/config.js';
import { useBackend, type BackendName } from '../src/backend/index.js';
import { loadAddon } from '../src/backend/nativeAddon.js';
import * as tf from '../src/core/tf.js';
import { stepBench, withStepOptions, type StepOptions } from './stepSetup.js';

const opts = withStepOptions(
  new Command().option('--encoders <list>', 'encoders', 'small,resnet18').option('--backends <list>', 'backends (native, cpu, wasm)', 'native'),
)
  .option('--reps <n>', 'timed steps', '3')
  .option('--warmup <n>', 'untimed steps', '1')
  .parse()
  .opts<StepOptions & { encoders: string; backends: string; reps: string; warmup: string }>();

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

function benchOne(backend: string, enc: string): string[] {
  const bench = stepBench(opts, enc as EncoderKind);
  const { cfg } = bench;
  const head = [backend, enc, `${opts.batch}`, `${cfg.T}`, `${cfg.mask.K}`, `${cfg.size}`];
  try {
    for (let i = 0; i < Number(opts.warmup); i++) bench.step();
    const ts: number[] = [];
    // CPU seconds of the whole process (every thread) per step: steadier than wall time on a machine shared with other work
    const cpu: number[] = [];
    const before = tf.memory().numTensors;
    for (let i = 0; i < Number(opts.reps); i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      bench.step();
      const c = process.cpuUsage(c0);
      ts.push((performance.now() - t0) / 1000);
      cpu.push((c.user + c.system) / 1e6);
    }
    const leaked = tf.memory().numTensors - before;
    console.error(`${backend} ${enc}: ${median(ts).toFixed(3)} s/step`);
    return [...head, median(ts).toFixed(3), ts.map((t) => t.toFixed(2)).join(' '), median(cpu).toFixed(3), `${leaked}`];
  } catch (e) {
    const why = (e as Error).message.split('\n').at(-1)!.slice(0, 120);
    console.error(`${backend} ${enc}: ${why}`);
    return [...head, 'fails', why, '-', '-'];
  } finally {
    bench.dispose();
  }
}

const rows: string[][] = [];
for (const backend of String(opts.backends).split(',')) {
  const got = await useBackend(backend as BackendName);
  for (const enc of String(opts.encoders).split(',')) rows.push(benchOne(got, enc));
}
const head = ['backend', 'encoder', 'batch', 'T', 'K', 'size', 's/step (median)', 'all', 'CPU s/step (median)', 'tensors leaked'];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
const addon = loadAddon();
if (addon) console.log(`\nnative: OpenBLAS ${addon.blasCore()} kernels, ${addon.blasThreading()} build, ${addon.threads()} threads (OPENBLAS_CORETYPE overrides; see src/backend/blasCore.ts)`);
