/**
 * The one writer (src/io/atomicFile.ts), in this process (issue 20): a disk that fills mid-write,
 * short writes, devices and FIFOs written in place, planted links at temporary names, and a killed
 * writer's temporary files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { processAlive, removeOrphanTempFiles, removeOrphansOf, tempFileFor, writeFileAtomic } from '../src/io/atomicFile.js';
import { diskBankCache } from '../src/model/bankCache.js';
import { tmp } from './support/helpers.js';
// @ts-expect-error: a plain ES module of the tests, without types
import { fillDiskAfter } from './support/diskFull.mjs';

const fill = fillDiskAfter as (bytes: number, perWrite?: number) => () => void;
const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);
const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.stratum-tmp-'));

test('a disk that fills mid-write: the previous file stays byte-identical, the temporary file is removed, one line', () => {
  const dir = tmp();
  const path = join(dir, 'doc.stratum.json');
  writeFileAtomic(path, [bytes(195_478, 7)]);
  const before = readFileSync(path);
  // one chunk cut short at the 98,304 of 195,478 bytes (the short count was not checked), or two
  for (const [budget, chunks] of [[0, 1], [1, 2], [98_304, 1], [98_304, 2], [195_477, 1], [195_477, 2]] as const) {
    const restore = fill(budget);
    try {
      assert.throws(
        () => writeFileAtomic(path, chunks === 1 ? [bytes(195_478, 1)] : [bytes(100_000, 1), bytes(95_478, 2)]),
        (e: Error) => /doc\.stratum\.json: cannot write \(no space left on device, ENOSPC\); the previous file is unchanged$/.test(e.message) && !e.message.includes('\n'),
        `budget ${budget}`,
      );
    } finally {
      restore();
    }
    assert.deepEqual(readFileSync(path), before, `budget ${budget}: the old file is intact`);
    assert.deepEqual(temps(dir), [], `budget ${budget}: no temporary file left`);
  }
  // a new name: nothing at all is left
  const restore = fill(10);
  try {
    assert.throws(() => writeFileAtomic(join(dir, 'new.png'), [bytes(100, 1)]), /new\.png: cannot write \(no space left on device, ENOSPC\); nothing written/);
  } finally {
    restore();
  }
  assert.ok(!existsSync(join(dir, 'new.png')));
  assert.deepEqual(temps(dir), []);
});

test('short writes are continued with the rest: every byte arrives', () => {
  const dir = tmp();
  const path = join(dir, 'x.bin');
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) & 255);
  const restore = fill(Infinity, 777);
  try {
    writeFileAtomic(path, [data.subarray(0, 3000), data.subarray(3000)]);
  } finally {
    restore();
  }
  assert.deepEqual(new Uint8Array(readFileSync(path)), data);
});

test('a device or a FIFO is written in place and stays what it was; /dev/full fails with one line', async () => {
  const dir = tmp();
  const dev = join(dir, 'null.png');
  const made = spawnSync('mknod', [dev, 'c', '1', '3']);
  if (made.status === 0) {
    writeFileAtomic(dev, [bytes(1000, 1)]);
    assert.ok(lstatSync(dev).isCharacterDevice(), 'still a character device');
    assert.deepEqual(temps(dir), []);
  } else assert.fail(`mknod needs root (CI runs as root): ${made.stderr}`);
  writeFileAtomic('/dev/null', [bytes(1000, 1)]);
  assert.ok(statSync('/dev/null').isCharacterDevice());
  if (existsSync('/dev/full')) {
    assert.throws(() => writeFileAtomic('/dev/full', [bytes(10, 1)]), (e: Error) => e.message === '/dev/full: cannot write (no space left on device, ENOSPC)');
    assert.ok(statSync('/dev/full').isCharacterDevice());
  }
  // a FIFO: the reader gets the bytes, the FIFO stays a FIFO
  const fifo = join(dir, 'pipe.png');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const reader = spawn('cat', [fifo]);
  const got: Buffer[] = [];
  reader.stdout.on('data', (b: Buffer) => got.push(b));
  const done = new Promise((resolve) => reader.on('close', resolve));
  writeFileAtomic(fifo, [bytes(5000, 9)]);
  await done;
  assert.equal(Buffer.concat(got).length, 5000);
  assert.ok(lstatSync(fifo).isFIFO());
  // a link to a device is neither replaced nor followed (/dev/stdin is one); no file is ever created in /dev
  const link = join(dir, 'link.png');
  symlinkSync('/dev/null', link);
  assert.throws(() => writeFileAtomic(link, [bytes(10, 1)]), /link\.png: is a link to a character device; refusing to replace it/);
  assert.equal(readlinkSync(link), '/dev/null');
  assert.throws(() => writeFileAtomic('/dev/stdin', [bytes(10, 1)]), /\/dev\/stdin: is a link to (a character device|a FIFO|a socket)|\/dev\/stdin: is not a device/);
  assert.equal(readlinkSync('/dev/stdin'), '/proc/self/fd/0');
  assert.throws(() => writeFileAtomic('/dev/stratum-test-nul', [bytes(10, 1)]), /is not a device; refusing to create or replace a file in \/dev/);
  assert.ok(!existsSync('/dev/stratum-test-nul'));
  // block devices are refused, untouched
  const block = join(dir, 'disk.png');
  if (spawnSync('mknod', [block, 'b', '7', '200']).status === 0) {
    assert.throws(() => writeFileAtomic(block, [bytes(10, 1)]), /disk\.png: is a block device; refusing to write an output onto it/);
    assert.ok(lstatSync(block).isBlockDevice());
  }
});

test('temporary names are unpredictable; a planted link at one is never opened or followed', () => {
  const dir = tmp();
  const path = join(dir, 'x.png');
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'precious');
  // the old predictable names, planted for this process
  symlinkSync(victim, `${path}.tmp-${process.pid}`);
  const names = new Set(Array.from({ length: 50 }, () => tempFileFor(path)));
  assert.equal(names.size, 50, 'a fresh name every time');
  for (const n of names) assert.match(n, new RegExp(`/\\.x\\.png\\.stratum-tmp-${process.pid}-[0-9a-f]{16}$`));
  // a link planted at the very name drawn (the random source made predictable for this test)
  const real = crypto.randomBytes;
  let draws = 0;
  (crypto as { randomBytes: unknown }).randomBytes = (n: number) => (draws++ === 0 ? Buffer.alloc(n) : real(n));
  syncBuiltinESMExports();
  const planted = join(dir, `.x.png.stratum-tmp-${process.pid}-0000000000000000`);
  symlinkSync(victim, planted);
  try {
    writeFileAtomic(path, [new TextEncoder().encode('the output')]);
  } finally {
    (crypto as { randomBytes: unknown }).randomBytes = real;
    syncBuiltinESMExports();
  }
  assert.ok(draws >= 2, 'the taken name was skipped for another');
  assert.equal(readFileSync(victim, 'utf8'), 'precious');
  assert.equal(readlinkSync(planted), victim, 'the planted link is left alone');
  assert.equal(readFileSync(path, 'utf8'), 'the output');
  // a link at the output name itself is replaced, never followed
  const link = join(dir, 'link.png');
  symlinkSync(victim, link);
  writeFileAtomic(link, [new TextEncoder().encode('new')]);
  assert.ok(lstatSync(link).isFile());
  assert.equal(readFileSync(victim, 'utf8'), 'precious');
});

test("a killed writer's temporary files are removed by the next write to the same path; live writers' are kept", () => {
  const dir = tmp();
  const path = join(dir, 'model.stratum');
  const dead = `.model.stratum.stratum-tmp-999999-0123456789abcdef`;
  const live = `.model.stratum.stratum-tmp-${process.ppid}-fedcba9876543210`;
  const other = `.other.png.stratum-tmp-999999-0123456789abcdef`;
  assert.ok(!processAlive(999999) && processAlive(process.ppid));
  for (const n of [dead, live, other]) writeFileSync(join(dir, n), 'half a file');
  writeFileAtomic(path, [bytes(10, 1)]);
  assert.deepEqual(temps(dir).sort(), [live, other].sort(), 'only the dead writer of this path is cleaned');
  assert.deepEqual(removeOrphansOf(join(dir, 'other.png')), [other]);
  // a long name's temporary files (a hash of the name) are found too
  const long = join(dir, `${'n'.repeat(200)}.png`);
  const orphan = tempFileFor(long).replace(`-${process.pid}-`, '-999999-');
  writeFileSync(orphan, '');
  writeFileAtomic(long, [bytes(3, 1)]);
  assert.ok(!existsSync(orphan));
  // run folders: this writer's orphans and those of earlier versions
  writeFileSync(join(dir, 'b.tmp-999998'), '');
  writeFileSync(join(dir, `a.tmp-${process.pid}`), '');
  writeFileSync(join(dir, dead), '');
  assert.deepEqual(removeOrphanTempFiles(dir).sort(), ['b.tmp-999998', dead].sort());
});

test('the file keeps its permissions; folders and missing folders are one-line errors', () => {
  const dir = tmp();
  const path = join(dir, 'keep.json');
  writeFileAtomic(path, [bytes(3, 1)]);
  chmodSync(path, 0o600);
  writeFileAtomic(path, [bytes(4, 1)]);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.throws(() => writeFileAtomic(dir, [bytes(1, 1)]), /is a folder, expected a file name/);
  assert.throws(() => writeFileAtomic(join(dir, 'nope', 'f'), [bytes(1, 1)]), /nope does not exist/);
});

test('the shape-bank cache: a full disk keeps the kept masks and leaves no temporary file', () => {
  const dir = tmp();
  const env = process.env.STRATUM_CACHE;
  process.env.STRATUM_CACHE = dir;
  try {
    const cache = diskBankCache(new Uint8Array([1, 2, 3]))!;
    const masks = Float32Array.from({ length: 4096 }, (_, i) => (i % 7) / 7);
    cache.set(masks);
    const [file] = readdirSync(dir);
    const before = readFileSync(join(dir, file!));
    const restore = fill(1000);
    try {
      cache.set(new Float32Array(4096).fill(0.5)); // a cache write that fails is skipped without a word
    } finally {
      restore();
    }
    assert.deepEqual(readFileSync(join(dir, file!)), before);
    assert.deepEqual(temps(dir), []);
    assert.deepEqual(cache.get(4096), masks);
  } finally {
    if (env === undefined) delete process.env.STRATUM_CACHE;
    else process.env.STRATUM_CACHE = env;
  }
});
