import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { flatColourPsnr, groupHeldOut, loadPhotoSources, UNIFORM_PSNR, sourceGroup, photoImages, PHOTO_PACKAGES, readPhotoManifest, resampleArea, wholePhotos, type PhotoManifest } from '../src/research/data/photos.js';
import { loadDataset } from '../src/research/data/datasets.js';
import { tmp } from './support/helpers.js';

test('photo manifest: one side of the split per source photo, no duplicate content, only the allowed packages', () => {
  const m = readPhotoManifest();
  const allowed = new Set(PHOTO_PACKAGES.map(([p]) => p));
  const sideOfGroup = new Map<string, string>();
  const hashes = new Set<string>();
  for (const e of m.entries) {
    assert.ok(allowed.has(e.package), `${e.package} is not a corpus package`);
    assert.ok(!hashes.has(e.sha256), `${e.path}: same content listed twice`);
    hashes.add(e.sha256);
    const side = sideOfGroup.get(e.group);
    assert.ok(side === undefined || side === e.split, `group ${e.group} is on both sides`);
    sideOfGroup.set(e.group, e.split);
    assert.equal(e.split, groupHeldOut(e.group, e.kind) ? 'test' : 'train', `${e.path}: split does not follow the group hash`);
  }
  // a stamp and its mirror image, one design at several sizes or in light and dark, are one source photo
  const mirrors = m.entries.filter((e) => /_mirror\.png$/.test(e.path));
  assert.ok(mirrors.length > 0);
  for (const e of mirrors) assert.equal(e.group, e.path.replace('_mirror.png', ''));
  const sideOf = (re: RegExp) => new Set(m.entries.filter((e) => re.test(e.path)).map((e) => e.split));
  for (const re of [/Sway_Wallpaper_Blue/, /gnome\/wood-/, /gnome\/vnc-/, /Elephants/, /MATE-Stripes/]) {
    assert.equal(sideOf(re).size, 1, `all of ${re} on one side`);
  }
  assert.equal(sourceGroup('/a/gnome/wood-l.webp'), sourceGroup('/a/gnome/wood-d.webp'));
  assert.equal(sourceGroup('/a/b/Sway_X_768x1024_Portrait.png'), sourceGroup('/a/b/Sway_X_1366x768.png'));
  assert.notEqual(sourceGroup('/a/b/frog.png'), sourceGroup('/a/b/frog-1.png'));
  const held = m.entries.filter((e) => e.split === 'test');
  assert.ok(held.some((e) => e.kind === 'wallpaper') && held.some((e) => e.kind === 'stamp'), 'both kinds are held out');
  assert.ok(held.length / m.entries.length > 0.08 && held.length / m.entries.length < 0.25);
});

test('area resampling: constants stay constant, 2× down is the 2×2 mean, flips mirror', () => {
  const w = 6;
  const h = 4;
  const src = Float32Array.from({ length: w * h }, (_, i) => i);
  const half = resampleArea(src, w, h, 1, 0, 0, w, h, 3, 2);
  for (let y = 0; y < 2; y++)
    for (let x = 0; x < 3; x++) {
      const m = (src[2 * y * w + 2 * x]! + src[2 * y * w + 2 * x + 1]! + src[(2 * y + 1) * w + 2 * x]! + src[(2 * y + 1) * w + 2 * x + 1]!) / 4;
      assert.ok(Math.abs(half[y * 3 + x]! - m) < 1e-5);
    }
  const flipped = resampleArea(src, w, h, 1, 0, 0, w, h, 3, 2, true);
  assert.deepEqual([...flipped.slice(0, 3)], [...half.slice(0, 3)].reverse());
  const c = resampleArea(new Float32Array(50 * 40 * 3).fill(77), 50, 40, 3, 3.3, 1.7, 31.9, 31.9, 7, 7);
  for (const v of c) assert.ok(Math.abs(v - 77) < 1e-3);
});

test('photos data: crops come only from their side of the split, stamps are composited with their alpha', async () => {
  const dir = tmp();
  // two "wallpapers": a red one (train) and a blue one (held out); one green stamp with a transparent half (train)
  const png = (w: number, h: number, ch: 3 | 4, f: (x: number, y: number) => number[]) => {
    const d = Buffer.alloc(w * h * ch);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d.set(f(x, y), (y * w + x) * ch);
    return sharp(d, { raw: { width: w, height: h, channels: ch } }).png().toBuffer();
  };
  const files: [string, Buffer, 'wallpaper' | 'stamp', 'train' | 'test'][] = [
    ['red.png', await png(120, 90, 3, () => [200, 0, 0]), 'wallpaper', 'train'],
    ['blue.png', await png(100, 100, 3, () => [0, 0, 200]), 'wallpaper', 'test'],
    ['stamp.png', await png(40, 40, 4, (x) => (x < 20 ? [0, 255, 0, 255] : [0, 255, 0, 0])), 'stamp', 'train'],
  ];
  const m: PhotoManifest = { version: 1, holdoutPercent: { wallpaper: 25, stamp: 15 }, entries: [] };
  for (const [name, buf, kind, split] of files) {
    const path = join(dir, name);
    writeFileSync(path, buf);
    m.entries.push({ path, package: 'test', kind, bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex'), group: path, split });
  }
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify(m));
  const train = await loadPhotoSources('train', 8, undefined, manifest);
  const test = await loadPhotoSources('test', 8, undefined, manifest);
  assert.equal(train.wallpapers.length, 1);
  assert.equal(train.stamps.length, 1);
  assert.equal(test.wallpapers.length, 1);
  assert.equal(test.stamps.length, 0);
  const a = photoImages(train, { n: 40, size: 8, seed: 3, stampShare: 1 });
  const b = photoImages(train, { n: 40, size: 8, seed: 3, stampShare: 1 });
  assert.deepEqual(a.data, b.data, 'same seed, same images');
  let green = 0;
  for (let i = 0; i < a.data.length; i += 3) {
    assert.equal(a.data[i + 2], 0, 'no blue (held-out) pixel in a training image');
    if (a.data[i + 1]! > 128) green++;
    // every pixel is red, green or a mix of the two along the stamp's edge
    assert.ok(Math.abs(a.data[i]! / 200 + a.data[i + 1]! / 255 - 1) < 0.03, `pixel ${a.data.slice(i, i + 3)}`);
  }
  assert.ok(green > 0 && green < a.n * 64 * 0.6, 'stamps cover part of the images, and their transparent half shows the crop');
  const t = photoImages(test, { n: 5, size: 8, seed: 3 });
  for (let i = 0; i < t.data.length; i += 3) assert.deepEqual([...t.data.slice(i, i + 3)], [0, 0, 200]);
  const whole = wholePhotos(test, 8);
  assert.equal(whole.n, 1);
  assert.deepEqual(whole.names, [join(dir, 'blue.png')]);
  // the benchmarks leave out near-uniform wallpapers (nothing to decompose; 100 dB for a flat colour)
  assert.equal(wholePhotos(test, 8, { skipUniform: true }).n, 0);
  // a file whose content changed is skipped, not trained on (size 70: another decode size, so not from the cache)
  writeFileSync(join(dir, 'red.png'), await png(10, 10, 3, () => [0, 0, 0]));
  const logs: string[] = [];
  await assert.rejects(loadPhotoSources('train', 70, (l) => logs.push(l), manifest), /no readable train wallpapers/);
  assert.match(logs.join('\n'), /content differs/);
  assert.ok(readFileSync(manifest, 'utf8').length > 0);
});

test('flatColourPsnr: a flat image is 100 dB (the floor), a ramp or a noisy image is well under the uniform threshold', () => {
  const flat = new Float32Array(16 * 3).fill(120);
  assert.equal(flatColourPsnr(flat), 100);
  const ramp = Float32Array.from({ length: 16 * 3 }, (_, i) => Math.floor(i / 3) * 16);
  assert.ok(flatColourPsnr(ramp) < UNIFORM_PSNR, `${flatColourPsnr(ramp)}`);
  // an image within ±1 of its mean counts as uniform
  const nearly = Float32Array.from({ length: 64 * 3 }, (_, i) => 120 + (i % 2));
  assert.ok(flatColourPsnr(nearly) > UNIFORM_PSNR);
});

test('photos data: wholeShare 1 crops (nearly) the whole photo, 0 draws the images it drew without the option; the spec checks it', async () => {
  const dir = tmp();
  // a horizontal ramp: a crop's red range is the share of the short side it spans
  const W = 256;
  const d = Buffer.alloc(W * W * 3);
  for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) d[(y * W + x) * 3] = x;
  const buf = await sharp(d, { raw: { width: W, height: W, channels: 3 } }).png().toBuffer();
  const path = join(dir, 'ramp.png');
  writeFileSync(path, buf);
  const m: PhotoManifest = { version: 1, holdoutPercent: { wallpaper: 25, stamp: 15 }, entries: [{ path, package: 'test', kind: 'wallpaper', bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex'), group: path, split: 'train' }] };
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify(m));
  const src = await loadPhotoSources('train', 8, undefined, manifest);
  const ranges = (s: { n: number; data: Uint8Array }) =>
    Array.from({ length: s.n }, (_, i) => {
      const reds = Array.from({ length: 64 }, (_, q) => s.data[i * 192 + q * 3]!);
      return (Math.max(...reds) - Math.min(...reds)) / 255;
    });
  const plain = photoImages(src, { n: 200, size: 8, seed: 5, stampShare: 0 });
  assert.deepEqual(photoImages(src, { n: 200, size: 8, seed: 5, stampShare: 0, wholeShare: 0 }).data, plain.data);
  const whole = ranges(photoImages(src, { n: 200, size: 8, seed: 5, stampShare: 0, wholeShare: 1 }));
  // a crop spanning ≥ 3/4 of the side has a red range ≥ 3/4 · 7/8 (pixel centres) minus rounding
  assert.ok(Math.min(...whole) > 0.6, `narrowest whole crop spans ${Math.min(...whole)}`);
  const narrow = ranges(plain).filter((r) => r < 0.6).length;
  assert.ok(narrow > 120, `log-uniform crops: ${narrow}/200 narrower than 0.6 (expected about 3/4)`);
  const half = ranges(photoImages(src, { n: 200, size: 8, seed: 5, stampShare: 0, wholeShare: 0.5 })).filter((r) => r < 0.6).length;
  assert.ok(half > 40 && half < narrow - 30, `half whole: ${half}/200 narrow`);
  assert.throws(() => photoImages(src, { n: 1, size: 8, seed: 5, wholeShare: 1.5 }), /whole-photo share/);
  await assert.rejects(loadDataset('photos:10:2', { size: 8 }), /photos:10:2.*whole-photo share/);
  await assert.rejects(loadDataset('photos:10:', { size: 8 }), /whole-photo share/);
  await assert.rejects(loadDataset('photos:10:0.5:-1', { size: 8 }), /photos:10:0.5:-1.*cut-out object share/);
  await assert.rejects(loadDataset('photos-test:10:0.5:', { size: 8 }), /cut-out object share/);
});
