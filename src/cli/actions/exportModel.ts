/** stratum exportModel: what the command does (its flags and help: src/cli/commands/exportModel.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadModel, saveCheckpoint } from '../../model/checkpoint.js';
import { checkOutputs } from '../../io/paths.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';
import type { OptionValues } from 'commander';

export async function runExportModel(from: string, positional: string | undefined, o: OptionValues, c: Command): Promise<void> {
  const given = c.opts().output !== undefined || c.opts().out !== undefined;
  if (given && positional !== undefined) throw new Error('give the model file to write once: as OUT or as -o/--output');
  const to = given ? outputOf(c) : positional;
  if (to === undefined) throw new Error('export-model: name the model file to write (OUT or -o/--output)');
  checkOutputs([to], [from]);
  await useBackend(o.backend as BackendName);
  const { model, ckpt } = loadModel(from);
  const psnr = ckpt.header.info?.lastPsnr;
  saveCheckpoint(to, model, { step: ckpt.header.step, data: ckpt.header.data, weightsOnly: true, info: { ...ckpt.header.info, heldOutPsnr: psnr, trainConfig: ckpt.header.train } });
  say(`wrote ${shown(to)} (step ${ckpt.header.step}, ${model.store.count()} parameters${typeof psnr === 'number' ? `, held-out PSNR ${psnr.toFixed(2)} dB` : ''})`);
}
