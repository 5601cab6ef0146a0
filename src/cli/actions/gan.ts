/** stratum gan: what the command does (its flags and help: src/cli/commands/gan.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { join } from 'node:path';
import { modelConfig, type EncoderKind } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadDataset } from '../../research/data/datasets.js';
import { trainGan } from '../../research/train/ganTrainer.js';
import { checkOutputFolder } from '../../io/paths.js';
import { checkModelFlags, checkTraining } from '../limits.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runGan(o: any, c: Command): Promise<void> {
  o.out = outputOf(c);
  checkModelFlags(o);
  checkOutputFolder(o.out);
  if (o.criticMbstd > o.batch) throw new Error(`--critic-mbstd ${o.criticMbstd}: a group of the critic's minibatch standard deviation is at most the batch (--batch ${o.batch})`);
  await useBackend(o.backend as BackendName);
  const data = await loadDataset(o.data, { size: o.size, limit: o.limit, seed: o.seed });
  const model = { ...modelConfig({ T: o.T, size: o.size, encoder: o.encoder as EncoderKind, mask: { K: o.K } }), noise: o.noise };
  checkTraining(model, o.batch, data.data.byteLength, 'GAN training');
  await trainGan({ out: o.out, data: o.data, model, steps: o.steps, batch: o.batch, lr: o.lr, gamma: o.gamma, criticSteps: o.criticSteps, criticWidth: o.criticWidth, criticMbstd: o.criticMbstd, saveEvery: o.saveEvery, seed: o.seed, resume: o.resume }, data);
  say(`GAN trained to step ${o.steps}; samples in ${shown(join(o.out, 'samples.png'))}`);
}
