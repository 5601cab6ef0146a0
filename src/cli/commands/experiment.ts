/** stratum experiment */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { modelConfig, type EncoderKind } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDataset, split } from '../../data/datasets.js';
import { markdownTable, runExperiment } from '../../eval/experiments.js';
import { checkOutputFolder } from '../../io/paths.js';
import { checkTraining } from '../limits.js';
import { int, backendOption, outputOf, outputOpt, oldOutOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('experiment')
    .description("reproduce the paper's tables: table1 (PSNR/SSIM over T×K) or table2 (ours vs baselines at |z| 130 and 260, and 20-colour quantisation)")
    .argument('<table>', 'table1 | table2')
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--steps <n>', 'training steps per row', int('--steps'), 1000)
    .option('--batch <n>', 'batch size', int('--batch'), 32)
    .option('--size <n>', 'image size', int('--size', 8), 32)
    .option('--holdout <n>', 'held-out images', int('--holdout'), 256)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .addOption(new Option('--encoder <kind>', 'encoder for every row').choices(['resnet18', 'small']).default('small'))
    .option('--show <n>', 'held-out images shown side by side', int('--show'), 8)
    .option('--seed <n>', 'seed', int('--seed', 0), 0)
    .addOption(backendOption())
    .addOption(outputOpt('results folder', 'runs/experiments'))
    .addOption(oldOutOption())
    .action(async (table: string, o, c: Command) => {
      o.out = outputOf(c);
      checkOutputFolder(o.out);
      if (table !== 'table1' && table !== 'table2') throw new Error(`unknown table '${table}' (table1, table2)`);
      await useBackend(o.backend as BackendName);
      const set = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed });
      // the largest row: T=20, K=20 (table1) or T=20 (table2)
      checkTraining(modelConfig({ T: 20, size: o.size, encoder: o.encoder as EncoderKind, mask: { K: 20 } }), o.batch, set.data.byteLength, `experiment ${table}`);
      const { train: tr, test } = split(set, Math.min(o.holdout, Math.floor(set.n / 5)), o.seed);
      const rows = await runExperiment({ table, data: o.data, train: tr, test, steps: o.steps, batch: o.batch, encoder: o.encoder as EncoderKind, out: o.out, seed: o.seed, show: o.show, log: (m) => process.stderr.write(`${m}\n`) });
      console.log(markdownTable(rows, { data: o.data, steps: o.steps, encoder: o.encoder, testN: test.n }));
      console.log(`wrote ${join(o.out, `${table}.md`)}, ${table}.csv, ${table}.png`);
    });
}
