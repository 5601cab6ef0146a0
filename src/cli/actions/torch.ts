/** stratum torch: what the command does (its flags and help: src/cli/commands/torch.ts, which imports this file only when the command runs) */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadSplit } from '../../research/data/datasets.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { encodeNpyUint8 } from '../../research/io/npy.js';
import { checkOutputFolder, checkOutputs } from '../../io/paths.js';
import { decodeSafetensors } from '../../research/io/safetensors.js';
import { readCheckpoint } from '../../model/checkpoint.js';
import { parseCheckpoint } from '../../model/checkpointFormat.js';
import { checkpointToSafetensors, safetensorsToCheckpoint } from '../../research/model/torchWeights.js';
import { outputOf } from '../options.js';
import type { OptionValues } from 'commander';

/** the output given as OUT or as -o/--output (once) */
function oneOutput(positional: string | undefined, c: Command, command: string, what: string): string {
  const given = c.opts().output !== undefined || c.opts().out !== undefined;
  if (given && positional !== undefined) throw new Error(`give the ${what} to write once: as OUT or as -o/--output`);
  const to = given ? outputOf(c) : positional;
  if (to === undefined) throw new Error(`${command}: name the ${what} to write (OUT or -o/--output)`);
  return to;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export async function runExportTorch(from: string, positional: string | undefined, o: OptionValues, c: Command): Promise<void> {
  const to = oneOutput(positional, c, 'export-torch', 'safetensors file');
  checkOutputs([to], [from]);
  await useBackend(o.backend as BackendName);
  const ckpt = readCheckpoint(from);
  writeFileAtomic(to, checkpointToSafetensors(ckpt, from));
  const m = ckpt.header.model;
  const bank = ckpt.tensors.get('shapes.p')?.shape[0];
  const adam = ckpt.header.tensors.some((t) => t.name.startsWith('adam.'));
  console.log(`wrote ${to} (${plural(ckpt.header.tensors.length, 'tensor')}: ${m.encoder} encoder, T=${m.T}, K=${m.mask.K}, ${m.size}², step ${ckpt.header.step}${bank ? `, shape bank of ${bank}` : ''}${adam ? `, Adam state at step ${ckpt.header.adamStep}` : ''})`);
}

export async function runImportTorch(from: string, positional: string | undefined, o: OptionValues, c: Command): Promise<void> {
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
}

export async function runExportData(o: OptionValues, c: Command): Promise<void> {
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
}
