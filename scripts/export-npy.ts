/**
 * Write data specs as one uint8 [N, H, W, 3] .npy array (for the PyTorch reference's --train):
 *
 *   node --import tsx scripts/export-npy.ts OUT.npy --size 32 SPEC [SPEC ...]
 *
 * The specs are concatenated in order, so `photos:20000 photos-test:256` with --holdout 256 in
 * torch_ref.py trains on the same crops as `stratum train --data photos:20000` and holds out the
 * same held-out photos.
 */
import { loadDataset } from '../src/research/data/datasets.js';
import { writeFileAtomic } from '../src/io/atomicFile.js';

const args = process.argv.slice(2);
const out = args.shift();
let size = 32;
const specs: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--size') size = Number(args[++i]);
  else specs.push(args[i]!);
}
if (!out || specs.length === 0 || !Number.isInteger(size) || size < 4) throw new Error('usage: export-npy.ts OUT.npy [--size N] SPEC [SPEC ...]');
const sets = [];
for (const s of specs) sets.push(await loadDataset(s, { size, seed: 0 }));
const n = sets.reduce((a, s) => a + s.n, 0);
let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${n}, ${size}, ${size}, 3), }`;
header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
const head = Buffer.alloc(10);
head.write('\x93NUMPY', 0, 'latin1');
head[6] = 1;
head[7] = 0;
head.writeUInt16LE(header.length, 8);
writeFileAtomic(out, [head, Buffer.from(header, 'latin1'), ...sets.map((s) => s.data)]);
console.log(`${out}: ${n} images ${size}² (${specs.join(' + ')})`);
