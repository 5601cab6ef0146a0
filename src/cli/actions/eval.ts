/** stratum eval: what the command does (its flags and help: src/cli/commands/eval.ts, which imports this file only when the command runs) */
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDataset, loadSplit } from '../../research/data/datasets.js';
import { evaluate } from '../../research/eval/reconstruct.js';
import { loadModel } from '../../model/checkpoint.js';
import { maxEncoderSteps } from '../../model/decomposeImage.js';
import { say } from '../say.js';
import type { OptionValues } from 'commander';

export async function runEval(o: OptionValues): Promise<void> {
  await useBackend(o.backend as BackendName);
  const { model } = loadModel(o.model);
  const cap = maxEncoderSteps(model.cfg.T);
  // (every held-out image runs through all of them, twice: hours for a mistyped number)
  if (o.T !== undefined && o.T > cap) throw new Error(`--T ${o.T} is far beyond the model's T=${model.cfg.T} (at most ${cap})`);
  const lo = { size: model.cfg.size, limit: o.limit, seed: o.seed };
  const test = o.all ? await loadDataset(o.data, lo) : (await loadSplit(o.data, o.holdout, lo)).test;
  const r = evaluate(model, test, 64, o.T);
  say(`PSNR ${r.psnr.toFixed(2)} dB (batch-stat BN ${r.psnrBatchStats.toFixed(2)} dB) on ${r.n} images of ${o.data}, T=${o.T ?? model.cfg.T}`);
}
