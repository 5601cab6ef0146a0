// Many images at once (issue 23): `stratum decompose IMAGES... -o DIR` over a pool of workers —
// folders and globs expanded, every good image written exactly as one image alone would be, a bad
// file reported in summary.csv and the exit code, --skip-existing; and the library's decomposeMany.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateDocument } from '../src/core/document.js';
import { decomposeMany, load } from '../src/index.js';
import { tmp } from './support/helpers.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'stratum.js');
const dir = tmp();
const stratum = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, STRATUM_CACHE: join(dir, 'cache') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const csv = (path: string) => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));

test('decompose IMAGES... -o DIR: a folder and a glob through two workers; good images as one alone makes them, a bad file reported, exit 1; --skip-existing; clashing names refused first', { timeout: 600_000 }, () => {
  const inDir = join(dir, 'in');
  mkdirSync(inDir, { recursive: true });
  for (const s of ['bag.png', 'sneaker.png']) copyFileSync(join(ROOT, 'samples', s), join(inDir, s));
  writeFileSync(join(inDir, 'broken.png'), 'not an image at all');
  const other = join(dir, 'other');
  mkdirSync(other, { recursive: true });
  copyFileSync(join(ROOT, 'samples', 'trouser.png'), join(other, 'trouser.png'));
  copyFileSync(join(ROOT, 'samples', 'tshirt.png'), join(other, 'tshirt.png'));
  const out = join(dir, 'out');
  const r = stratum('decompose', inDir, join(other, 't*.png'), '-o', out, '--size', '64', '--jobs', '2');
  assert.equal(r.code, 1, `one bad file: exit 1 (${r.err})`);
  assert.match(r.out, /5 images: 4 decomposed, 1 failed in [\d.]+ s \([\d.]+ images\/s, 2 workers\)/);
  assert.match(r.err, /broken\.png: cannot read image/);
  const rows = csv(join(out, 'summary.csv'));
  assert.deepEqual(rows.map((x) => [x[0]!.split('/').pop(), x[1]]), [['bag.png', 'ok'], ['broken.png', 'failed'], ['sneaker.png', 'ok'], ['trouser.png', 'ok'], ['tshirt.png', 'ok']]);
  for (const row of rows.filter((x) => x[1] === 'ok')) {
    assert.equal(Number(row[2]), 10, 'layers');
    assert.ok(Number(row[3]) > 12, `PSNR ${row[3]}`);
    const stem = row[0]!.split('/').pop()!.replace('.png', '');
    for (const suffix of ['.png', '.layers.png', '.stratum.json']) assert.ok(existsSync(join(out, stem + suffix)), stem + suffix);
  }
  assert.ok(!existsSync(join(out, 'broken.stratum.json')));
  // a worker's document is the one image alone makes (up to float rounding: one thread against two)
  const alone = join(dir, 'alone');
  assert.equal(stratum('decompose', join(inDir, 'bag.png'), '-o', alone, '--size', '64').code, 0);
  const a = validateDocument(JSON.parse(readFileSync(join(alone, 'bag.stratum.json'), 'utf8')));
  const b = validateDocument(JSON.parse(readFileSync(join(out, 'bag.stratum.json'), 'utf8')));
  assert.equal(a.layers.length, b.layers.length);
  a.layers.forEach((l, t) => {
    l.p.forEach((v, k) => assert.ok(Math.abs(v - b.layers[t]!.p[k]!) < 1e-4, `layer ${t} p[${k}]`));
    l.colour.forEach((v, k) => assert.ok(Math.abs(v - b.layers[t]!.colour[k]!) < 1e-4, `layer ${t} colour[${k}]`));
  });
  // again with --skip-existing: the four written are left alone, the bad one tried (and failing) again
  const before = statSync(join(out, 'bag.stratum.json')).mtimeMs;
  const again = stratum('decompose', inDir, join(other, 't*.png'), '-o', out, '--size', '64', '--skip-existing');
  assert.equal(again.code, 1);
  assert.match(again.out, /5 images: 0 decomposed, 4 skipped \(already there\), 1 failed/);
  assert.equal(statSync(join(out, 'bag.stratum.json')).mtimeMs, before);
  assert.deepEqual(csv(join(out, 'summary.csv')).map((x) => x[1]), ['skipped', 'failed', 'skipped', 'skipped', 'skipped']);
  // two inputs that would write the same files: refused before any work, nothing written
  const clash = stratum('decompose', join(inDir, 'bag.png'), join(ROOT, 'samples', 'bag.png'), '-o', join(dir, 'clash'));
  assert.equal(clash.code, 1);
  assert.match(clash.err, /^stratum: .*bag\.png and .*bag\.png would both write bag\.\* in .*clash: decompose them into different folders\n$/);
  assert.ok(!existsSync(join(dir, 'clash')));
  // a folder with no images and a glob matching nothing: one line each
  mkdirSync(join(dir, 'empty'), { recursive: true });
  assert.match(stratum('decompose', join(dir, 'empty'), '-o', join(dir, 'x')).err, /empty: a folder with no images/);
  assert.match(stratum('decompose', join(inDir, '*.xyz'), '-o', join(dir, 'x')).err, /\*\.xyz: matches no file/);
});

test('library decomposeMany: one model for many images, a document for each good one and the one-line error of a bad one, in order', { timeout: 300_000 }, async () => {
  const model = await load();
  const bad = join(dir, 'bad.png');
  writeFileSync(bad, 'garbage');
  const got = [];
  for await (const r of decomposeMany(model, [join(ROOT, 'samples', 'bag.png'), bad, join(ROOT, 'samples', 'sneaker.png')])) got.push(r);
  assert.equal(got.length, 3);
  assert.equal(got[0]!.doc!.layers.length, model.cfg.T);
  assert.match(got[1]!.error!, /bad\.png: cannot read image/);
  assert.equal(got[1]!.doc, undefined);
  assert.equal(got[2]!.doc!.layers.length, model.cfg.T);
  assert.ok(got.every((r) => r.seconds >= 0));
});
