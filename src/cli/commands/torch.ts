/**
 * stratum export-torch / import-torch / export-data: moving models and data sets between Stratum
 * and its PyTorch twin (python/stratum_torch), which trains on GPUs and across machines with
 * DistributedDataParallel (docs/scale.md). Weights travel as safetensors in the twin's layout
 * (src/model/torchWeights.ts), data sets as the uint8 arrays `stratum train` would train on.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { MODEL_DEFAULTS, TRAIN_DEFAULTS } from '../../config.js';
import { loadSplit } from '../../data/datasets.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { encodeNpyUint8 } from '../../io/npy.js';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { decodeSafetensors } from '../../io/safetensors.js';
import { readCheckpoint } from '../../model/checkpoint.js';
import { parseCheckpoint } from '../../model/checkpointFormat.js';
import { checkpointToSafetensors, safetensorsToCheckpoint } from '../../model/torchWeights.js';
import { backendOption, int, oldOutOption, outputOf, outputOpt } from '../options.js';

/** the output given as OUT or as -o/--output (once) */
function oneOutput(positional: string | undefined, c: Command, command: string, what: string): string {
  const given = c.opts().output !== undefined || c.opts().out !== undefined;
  if (given && positional !== undefined) throw new Error(`give the ${what} to write once: as OUT or as -o/--output`);
  const to = given ? outputOf(c) : positional;
  if (to === undefined) throw new Error(`${command}: name the ${what} to write (OUT or -o/--output)`);
  return to;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export function register(program: Command): void {
  program
    .command('export-torch')
    .description("write a model file or training checkpoint as safetensors for the PyTorch twin (python/stratum_torch): its state_dict names and layout, shape bank and optimiser state included, the architecture in the metadata")
    .argument('<model>', 'model file or training checkpoint (.stratum)')
    .argument('[out]', 'safetensors file to write (or -o/--output)')
    .addOption(backendOption())
    .addOption(outputOpt('safetensors file to write'))
    .addOption(oldOutOption())
    .action(async (from: string, positional: string | undefined, o, c: Command) => {
      const to = oneOutput(positional, c, 'export-torch', 'safetensors file');
      checkOutputs([to], [from]);
      await useBackend(o.backend as BackendName);
      const ckpt = readCheckpoint(from);
      writeFileAtomic(to, checkpointToSafetensors(ckpt, from));
      const m = ckpt.header.model;
      const bank = ckpt.tensors.get('shapes.p')?.shape[0];
      const adam = ckpt.header.tensors.some((t) => t.name.startsWith('adam.'));
      console.log(`wrote ${to} (${plural(ckpt.header.tensors.length, 'tensor')}: ${m.encoder} encoder, T=${m.T}, K=${m.mask.K}, ${m.size}², step ${ckpt.header.step}${bank ? `, shape bank of ${bank}` : ''}${adam ? `, Adam state at step ${ckpt.header.adamStep}` : ''})`);
    });

  program
    .command('import-torch')
    .description('write a Stratum model file (or training checkpoint, with optimiser state) from a safetensors file of the PyTorch twin or of export-torch')
    .argument('<safetensors>', 'safetensors file (python/stratum_torch, or stratum export-torch)')
    .argument('[out]', 'model file to write (or -o/--output)')
    .addOption(backendOption())
    .addOption(outputOpt('model file to write'))
    .addOption(oldOutOption())
    .action(async (from: string, positional: string | undefined, o, c: Command) => {
      const to = oneOutput(positional, c, 'import-torch', 'model file');
      checkOutputs([to], [from]);
      if (!existsSync(from)) throw new Error(`${from}: no such safetensors file`);
      if (!statSync(from).isFile()) throw new Error(`${from}: is a folder, not a safetensors file`);
      await useBackend(o.backend as BackendName);
      const file = decodeSafetensors(new Uint8Array(readFileSync(from)), from);
      const bytes = safetensorsToCheckpoint(file, from);
      writeFileAtomic(to, bytes);
      const { header } = parseCheckpoint(bytes[0]!, to);
      console.log(`wrote ${to} (${plural(header.tensors.length, 'tensor')}: ${header.model.encoder} encoder, T=${header.model.T}, K=${header.model.mask.K}, ${header.model.size}², step ${header.step})`);
    });

  program
    .command('export-data')
    .description("write a data set's training and held-out images, split as `stratum train` splits them, as uint8 .npy arrays [N, S, S, 3] for the PyTorch twin")
    .requiredOption('--data <spec>', 'data set (see train --data)')
    .option('--size <n>', 'image size', int('--size', 4), MODEL_DEFAULTS.size)
    .option('--holdout <n>', 'held-out images', int('--holdout'), TRAIN_DEFAULTS.holdout)
    .option('--limit <n>', 'use at most this many images', int('--limit'))
    .option('--seed <n>', 'seed of the split (as train --seed)', int('--seed', 0), TRAIN_DEFAULTS.seed)
    .addOption(backendOption())
    .addOption(outputOpt('folder to write train.npy, test.npy and data.json into'))
    .addOption(oldOutOption())
    .action(async (o, c: Command) => {
      const dir = outputOf(c);
      checkOutputFolder(dir);
      await useBackend(o.backend as BackendName);
      const data = await loadSplit(o.data, o.holdout, { size: o.size, limit: o.limit, seed: o.seed, log: (m) => process.stderr.write(`${m}\n`) });
      mkdirSync(dir, { recursive: true });
      for (const [name, set] of [['train', data.train], ['test', data.test]] as const) writeFileAtomic(join(dir, `${name}.npy`), encodeNpyUint8(set.data, [set.n, set.size, set.size, 3]));
      // what the twin records as its data set, and the split it was made with
      const meta = { data: o.data, size: o.size, holdout: o.holdout, limit: o.limit ?? null, seed: o.seed, train: data.train.n, test: data.test.n };
      writeFileAtomic(join(dir, 'data.json'), [new TextEncoder().encode(`${JSON.stringify(meta, null, 1)}\n`)]);
      console.log(`wrote ${join(dir, 'train.npy')} (${data.train.n} images) and ${join(dir, 'test.npy')} (${data.test.n} held out), ${o.size}², from ${o.data}`);
    });
}
