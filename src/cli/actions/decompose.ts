/** stratum decompose: what the command does (its flags and help: src/cli/commands/decompose.ts, which imports this file only when the command runs) */
import { Command, type OptionValues } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { SOFT_SIDE } from '../../eval/soft.js';
import { formatContributions } from '../../eval/contribution.js';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { loadModel } from '../../model/checkpoint.js';
import { decomposeBatch, expandInputs } from '../decomposeBatch.js';
import { checkRequest, decomposeToFiles, outputsOf } from '../decomposeFiles.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';

export async function runDecompose(inputs: string[], o: OptionValues, c: Command): Promise<void> {
  const req = checkRequest(o, c);
  const out = outputOf(c);
  checkOutputFolder(out);
  const images = expandInputs(inputs);
  if (images.length === 1 && inputs.length === 1 && images[0] === inputs[0]) {
    const image = images[0]!;
    const outputs = outputsOf(out, image);
    checkOutputs(Object.values(outputs), [image, o.model]);
    await useBackend(o.backend as BackendName);
    const loaded = loadModel(o.model);
    const r = await decomposeToFiles(loaded, image, outputs, req, true);
    say(`${r.layers} layers${r.note ? `, ${r.note}` : ''}; PSNR ${r.psnr.toFixed(2)} dB at ${r.width}×${r.height} (the written render against the input), soft share ${(100 * r.soft).toFixed(0)}% at ${SOFT_SIDE}; wrote ${shown(outputs.png)}, ${shown(outputs.grid)}, ${shown(outputs.doc)}`);
    say(formatContributions(r.contributions, r.contributionsAt));
    return;
  }
  process.exitCode = await decomposeBatch(images, out, req, { jobs: o.jobs, skipExisting: o.skipExisting });
}
