/** stratum experiment */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { EXPERIMENT_DEFAULTS, MODEL_DEFAULTS, modelConfig, TRAIN_DEFAULTS, type EncoderKind } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadSplit } from '../../data/datasets.js';
import { checkTableSize, markdownTable, runExperiment } from '../../experiments/tables.js';
import { checkOutputFolder } from '../../io/paths.js';
import { checkTraining } from '../limits.js';
import { int, backendOption, outputOf, outputOption } from '../options.js';
import { say, shown } from '../say.js';

export function register(program: Command): void {
  const cmd = program
    .command('experiment')
    .description("reproduce the paper's tables: table1 (PSNR/SSIM over T×K) or table2 (ours vs baselines at |z| 130 and 260, and 20-colour quantisation)")
    .argument('<table>', 'table1 | table2')
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--steps <n>', 'training steps per row', int('--steps'), EXPERIMENT_DEFAULTS.steps)
    .option('--batch <n>', 'batch size', int('--batch'), TRAIN_DEFAULTS.batch)
    .option('--size <n>', 'image size', int('--size', 8), MODEL_DEFAULTS.size)
    .option('--holdout <n>', 'held-out images', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .addOption(new Option('--encoder <kind>', 'encoder for every row').choices(['resnet18', 'small']).default(EXPERIMENT_DEFAULTS.encoder))
    .option('--show <n>', 'held-out images shown side by side', int('--show'), EXPERIMENT_DEFAULTS.show)
    .option('--seed <n>', 'seed', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption());
  outputOption(cmd, 'results folder', 'runs/experiments').action(async (table: string, o, c: Command) => {
    o.out = outputOf(c);
    checkOutputFolder(o.out);
    if (table !== 'table1' && table !== 'table2') throw new Error(`unknown table '${table}' (table1, table2)`);
    checkTableSize(table, o.size);
    await useBackend(o.backend as BackendName);
    const { train: tr, test } = await loadSplit(o.data, o.holdout, { size: o.size, limit: o.limit, seed: o.seed });
    // the largest row: T=20, K=20 (table1) or T=20 (table2)
    checkTraining(modelConfig({ T: 20, size: o.size, encoder: o.encoder as EncoderKind, mask: { K: 20 } }), o.batch, tr.data.byteLength + test.data.byteLength, `experiment ${table}`);
    const rows = await runExperiment({ table, data: o.data, train: tr, test, steps: o.steps, batch: o.batch, encoder: o.encoder as EncoderKind, out: o.out, seed: o.seed, show: o.show, log: (m) => process.stderr.write(`${m}\n`) });
    say(...markdownTable(rows, { data: o.data, steps: o.steps, encoder: o.encoder, testN: test.n }).replace(/\n$/, '').split('\n'));
    say(`wrote ${shown(join(o.out, `${table}.md`))}, ${table}.csv, ${table}.png`);
  });
}
