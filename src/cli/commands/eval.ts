/** stratum eval */
import { Command } from 'commander';
import { TRAIN_DEFAULTS } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDataset, loadSplit } from '../../data/datasets.js';
import { evaluate } from '../../eval/reconstruct.js';
import { loadModel } from '../../model/checkpoint.js';
import { maxEncoderSteps } from '../../model/decomposeImage.js';
import { DEFAULT_MODEL, int, backendOption } from '../options.js';
import { say } from '../say.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('held-out PSNR of a model on a data set')
    .option('--model <file>', 'model checkpoint', DEFAULT_MODEL)
    .option('--data <spec>', 'data set (see train --data)', 'fashion-mnist')
    .option('--holdout <n>', 'evaluate on the held-out split of this size (same split as training)', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--all', 'evaluate on every image instead of the held-out split', false)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--T <n>', 'layers to use (default: the model\'s T)', int('--T'))
    .option('--seed <n>', 'split seed (as in training)', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption())
    .action(async (o) => {
      await useBackend(o.backend as BackendName);
      const { model } = loadModel(o.model);
      const cap = maxEncoderSteps(model.cfg.T);
      // (every held-out image runs through all of them, twice: hours for a mistyped number)
      if (o.T !== undefined && o.T > cap) throw new Error(`--T ${o.T} is far beyond the model's T=${model.cfg.T} (at most ${cap})`);
      const lo = { size: model.cfg.size, limit: o.limit, seed: o.seed };
      const test = o.all ? await loadDataset(o.data, lo) : (await loadSplit(o.data, o.holdout, lo)).test;
      const r = evaluate(model, test, 64, o.T);
      say(`PSNR ${r.psnr.toFixed(2)} dB (batch-stat BN ${r.psnrBatchStats.toFixed(2)} dB) on ${r.n} images of ${o.data}, T=${o.T ?? model.cfg.T}`);
    });

}
