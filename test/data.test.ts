import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { heldOutSplit, loadDataset, split } from '../src/research/data/datasets.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { encodeIdx, parseIdx } from '../src/research/data/idx.js';
import { parseCifar } from '../src/research/data/cifar.js';
import { readImageSquare } from '../src/data/images.js';
import { tmp } from './support/helpers.js';

function idxImages(n: number, side: number): Uint8Array {
  const d = new Uint8Array(n * side * side);
  for (let i = 0; i < d.length; i++) d[i] = (i * 37) % 256;
  return d;
}

test('IDX loader reads raw and gzip files (MNIST layout), pads 28 -> 32 into RGB', async () => {
  const dir = tmp();
  const pixels = idxImages(3, 28);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx([3, 28, 28], pixels));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx([2, 28, 28], idxImages(2, 28))));
  const set = await loadDataset(`mnist:${dir}`, { size: 32 });
  assert.equal(set.n, 3, 'the training file only');
  const testSet = await loadDataset(`mnist-test:${dir}`, { size: 32 });
  assert.equal(testSet.n, 2, 'the t10k file only');
  assert.equal(set.size, 32);
  // pixel (y=0, x=0) of image 0 lands at (2, 2) in all three channels; the border is zero
  const at = (i: number, y: number, x: number, c: number) => set.data[((i * 32 + y) * 32 + x) * 3 + c];
  assert.equal(at(0, 2, 2, 0), pixels[0]);
  assert.equal(at(0, 2, 3, 2), pixels[1]);
  assert.equal(at(0, 0, 0, 1), 0);
  assert.equal(at(1, 2 + 27, 2 + 27, 1), pixels[28 * 28 + 27 * 28 + 27]);
  assert.equal(testSet.data[(2 * 32 + 2) * 3], idxImages(2, 28)[0]);
  // resize path for a size that does not pad evenly
  const small = await loadDataset(`idx:${join(dir, 'train-images-idx3-ubyte')}`, { size: 16 });
  assert.equal(small.n, 3);
  assert.equal(small.data.length, 3 * 16 * 16 * 3);
});

test('IDX loader rejects corrupt and truncated files with one-line errors', () => {
  const good = encodeIdx([2, 4, 4], new Uint8Array(32));
  assert.deepEqual(parseIdx(good).dims, [2, 4, 4]);
  assert.throws(() => parseIdx(good.subarray(0, 20), 'f'), /f: truncated IDX data/);
  assert.throws(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'f'), /not an IDX file/);
  const gz = gzipSync(good);
  assert.throws(() => parseIdx(gz.subarray(0, gz.length - 9), 'f'), /corrupt gzip|truncated/);
});

test('CIFAR-10 binary batch: label byte + R, G, B planes', async () => {
  const n = 2;
  const buf = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    buf[i * 3073] = i + 3;
    for (let p = 0; p < 1024; p++) {
      buf[i * 3073 + 1 + p] = p % 256; // R
      buf[i * 3073 + 1 + 1024 + p] = 100 + i; // G
      buf[i * 3073 + 1 + 2048 + p] = 255 - (p % 256); // B
    }
  }
  const c = parseCifar(buf);
  assert.equal(c.n, 2);
  assert.deepEqual(Array.from(c.labels), [3, 4]);
  const px = (i: number, p: number) => Array.from(c.data.subarray((i * 1024 + p) * 3, (i * 1024 + p) * 3 + 3));
  assert.deepEqual(px(1, 5), [5, 101, 250]);
  const dir = tmp();
  mkdirSync(join(dir, 'cifar-10-batches-bin'));
  writeFileSync(join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin'), buf);
  writeFileSync(join(dir, 'cifar-10-batches-bin', 'test_batch.bin'), buf.subarray(0, 3073));
  const set = await loadDataset(`cifar10:${join(dir, 'cifar-10-batches-bin')}`, { size: 32 });
  assert.equal(set.n, 3);
  assert.throws(() => parseCifar(buf.subarray(0, 3000), 'b.bin'), /b.bin: 3000 bytes is not a whole number of CIFAR-10 records/);
});

test('image folders (CelebA / ImageNet layout): nested jpg/png, centre crop, corrupt files skipped', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'n01440764'), { recursive: true });
  mkdirSync(join(dir, 'n02102040'), { recursive: true });
  // a 40×20 image: left half red, right half blue; centre crop keeps x in [10, 30)
  const w = 40, h = 20;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[(y * w + x) * 3 + (x < 20 ? 0 : 2)] = 255;
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, 'n01440764', 'a.png'));
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(dir, 'n02102040', 'b.jpg'));
  writeFileSync(join(dir, 'n02102040', 'broken.jpg'), 'this is not a jpeg');
  const skipped: string[] = [];
  const set = await loadDataset(`folder:${dir}`, { size: 8, log: (m) => skipped.push(m) });
  assert.equal(set.n, 2);
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!, /broken\.jpg/);
  const px = (i: number, y: number, x: number) => Array.from(set.data.subarray(((i * 8 + y) * 8 + x) * 3, ((i * 8 + y) * 8 + x) * 3 + 3));
  assert.ok(px(0, 4, 0)[0]! > 200 && px(0, 4, 0)[2]! < 50, 'left of the crop is red');
  assert.ok(px(0, 4, 7)[2]! > 200 && px(0, 4, 7)[0]! < 50, 'right of the crop is blue');
  await assert.rejects(readImageSquare(join(dir, 'n02102040', 'broken.jpg'), 8), /broken\.jpg: cannot read image/);
  await assert.rejects(readImageSquare(join(dir, 'nope.png'), 8), /nope\.png: no such file/);
  const patches = await loadDataset(`patches:${dir}:3`, { size: 8 });
  assert.equal(patches.n, 6);
});

test('dead leaves are deterministic; the split is deterministic and disjoint', () => {
  const a = deadLeaves({ n: 20, size: 16, seed: 4 });
  const b = deadLeaves({ n: 20, size: 16, seed: 4 });
  const c = deadLeaves({ n: 20, size: 16, seed: 5 });
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  const s1 = split(a, 5, 1);
  const s2 = split(a, 5, 1);
  assert.deepEqual(s1.test.data, s2.test.data);
  assert.equal(s1.train.n, 15);
  const key = (set: typeof a, i: number) => Buffer.from(set.data.subarray(i * 768, (i + 1) * 768)).toString('hex');
  const trainKeys = new Set(Array.from({ length: 15 }, (_, i) => key(s1.train, i)));
  for (let i = 0; i < 5; i++) assert.ok(!trainKeys.has(key(s1.test, i)), 'held-out image also in training set');
  assert.throws(() => split(a, 20), /leaves no training images/);
});

test('held-out split: the asked-for count, at most a fifth of the data, the same images as split()', () => {
  const a = deadLeaves({ n: 40, size: 8, seed: 4 });
  assert.equal(heldOutSplit(a, 5, 2).test.n, 5);
  assert.equal(heldOutSplit(a, 256, 2).test.n, 8, 'a fifth of 40');
  assert.deepEqual(heldOutSplit(a, 256, 2).test.data, split(a, 8, 2).test.data);
  assert.equal(heldOutSplit(deadLeaves({ n: 4, size: 8, seed: 1 }), 256).test.n, 0, 'too few images: all train');
});

test('unknown data specs and missing paths are one-line errors', async () => {
  await assert.rejects(loadDataset('imagenet', { size: 32 }), /unknown data spec 'imagenet'/);
  await assert.rejects(loadDataset('folder:/no/such/dir', { size: 32 }), /no such file or folder/);
  await assert.rejects(loadDataset('deadleaves:-3', { size: 32 }), /positive integer/);
});
