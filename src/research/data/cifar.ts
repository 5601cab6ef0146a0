/**
 * CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin): records of 1 label byte and
 * 3072 bytes of 32×32 pixels stored as R, G, B planes.
 */
import { readFileSync } from 'node:fs';
import type { ImageSet } from '../../data/imageSet.js';

const REC = 1 + 3 * 1024;

export function parseCifar(buf: Uint8Array, name = 'CIFAR-10 batch'): ImageSet & { labels: Uint8Array } {
  if (buf.length === 0 || buf.length % REC !== 0) {
    throw new Error(`${name}: ${buf.length} bytes is not a whole number of CIFAR-10 records (${REC} bytes each)`);
  }
  const n = buf.length / REC;
  const data = new Uint8Array(n * 1024 * 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = buf.subarray(i * REC, (i + 1) * REC);
    labels[i] = r[0]!;
    if (r[0]! > 9) throw new Error(`${name}: record ${i} has label ${r[0]} (expected 0-9); not a CIFAR-10 binary batch`);
    for (let p = 0; p < 1024; p++) {
      data[(i * 1024 + p) * 3] = r[1 + p]!;
      data[(i * 1024 + p) * 3 + 1] = r[1 + 1024 + p]!;
      data[(i * 1024 + p) * 3 + 2] = r[1 + 2048 + p]!;
    }
  }
  return { n, size: 32, data, labels };
}

export function readCifar(path: string): ImageSet & { labels: Uint8Array } {
  return parseCifar(readFileSync(path), path);
}
