/**
 * A disk that fills mid-write, for each kind of output the commands write (issue 20): documents,
 * PNG, PSD/ORA/SVG (checkpoints and metrics: test/fullDisk.e2e.test.ts). The disk is
 * test/support/diskFull.mjs (a write stub: a short count, then ENOSPC) in the command's thread
 * (test/support/cli.ts), and, where this machine lets root mount one, a real 256 KiB tmpfs. Each time the
 * previous file stays byte-identical, no temporary file is left, and the command exits non-zero
 * with one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { keepsOldFile, setup, stratum, temps } from './support/fullDiskTools.js';


test('a full disk: documents, PNG, PSD, ORA and SVG keep their previous file', async () => {
  const { dir, doc } = await setup();
  const half = (n: number) => Math.floor(n / 2);
  await keepsOldFile(['render', doc, '-o', join(dir, 'r.png'), '--size', '256'], join(dir, 'r.png'), half, 'render PNG');
  for (const ext of ['psd', 'ora', 'svg']) await keepsOldFile(['export', doc, '-o', join(dir, `x.${ext}`), '--size', '128'], join(dir, `x.${ext}`), half, `export ${ext}`);
  // the case: a short count one byte before the end (the old writer renamed the cut file over the good one)
  await keepsOldFile(['export', doc, '-o', join(dir, 'y.psd'), '--size', '96'], join(dir, 'y.psd'), (n) => n - 1, 'export psd, one byte short');
  await keepsOldFile(['edit', doc, '--hide', '0', '-o', join(dir, 'e.stratum.json')], join(dir, 'e.stratum.json'), half, 'edit -o (document)');
  await keepsOldFile(['edit', doc, '--png', join(dir, 'e.png'), '--size', '64'], join(dir, 'e.png'), () => 0, 'edit --png');
  const img = join(dir, 'photo.png');
  await sharp(Buffer.alloc(48 * 48 * 3, 100), { raw: { width: 48, height: 48, channels: 3 } }).png().toFile(img);
  await keepsOldFile(['decompose', img, '-o', join(dir, 'd'), '--size', '64'], join(dir, 'd', 'photo.stratum.json'), half, 'decompose (its document, written first)');
});

test('a real full disk (a 256 KiB tmpfs, where root may mount one): the previous document is kept', async (t) => {
  const { dir, doc } = await setup();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status !== 0) {
    t.skip('mount needs root and CAP_SYS_ADMIN; the write stub above covers the same cases');
    return;
  }
  try {
    // a document of about 190 KB (its mask weights): one fits, a second beside it (the temporary file) does not
    const out = join(mnt, 'doc.stratum.json');
    const first = await stratum(['edit', doc, '-o', out]);
    assert.equal(first.code, 0, first.err);
    const before = readFileSync(out);
    assert.ok(before.length > 140_000 && before.length < 250_000, `${before.length} bytes`);
    const r = await stratum(['edit', doc, '--hide', '0', '-o', out]);
    assert.notEqual(r.code, 0, 'a full disk fails');
    assert.match(r.err.trimEnd(), /^stratum: .*doc\.stratum\.json: cannot write \(no space left on device, ENOSPC\); the previous file is unchanged$/);
    assert.deepEqual(readFileSync(out), before);
    assert.deepEqual(temps(mnt), []);
  } finally {
    spawnSync('umount', [mnt]);
    rmdirSync(mnt);
  }
});
