/** stratum export-model */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadModel, saveCheckpoint } from '../../model/checkpoint.js';
import { backendOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('export-model')
    .description('write a small weights-only model file (no optimiser state) from a training checkpoint')
    .argument('<checkpoint>', 'training checkpoint (runs/NAME/checkpoint.stratum)')
    .argument('<out>', 'model file to write')
    .addOption(backendOption())
    .action(async (from: string, to: string, o) => {
      await useBackend(o.backend as BackendName);
      const { model, ckpt } = loadModel(from);
      const psnr = ckpt.header.info?.lastPsnr;
      saveCheckpoint(to, model, { step: ckpt.header.step, data: ckpt.header.data, weightsOnly: true, info: { ...ckpt.header.info, heldOutPsnr: psnr, trainConfig: ckpt.header.train } });
      console.log(`wrote ${to} (step ${ckpt.header.step}, ${model.store.count()} parameters${typeof psnr === 'number' ? `, held-out PSNR ${psnr.toFixed(2)} dB` : ''})`);
    });
}
