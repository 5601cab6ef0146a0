/**
 * The photo corpus (`photos:` data specs): photographs and wallpapers from a fixed set of Debian
 * packages, and photographs of objects cut out with alpha (Tux Paint's stamps), listed with their
 * SHA-256 in data/photos.manifest.json (written by scripts/photo-manifest.ts) and split by source
 * photo, so no photo gives crops to both sides.
 *
 * A training image is a small whole scene, like CIFAR, not only a smooth wallpaper patch:
 *
 *   crop   a square of side s = S·2^(−3u), u ~ U(0, 1) (from the photo's whole short side S down to
 *          S/8, log-uniform), at a uniform position, area-resampled to --size
 *   stamp  with probability `stampShare` a cut-out object composited (premultiplied alpha) on that
 *          crop, its long side 40–100 % of the image, its centre anywhere in the middle 60 %
 *   flip   left-right with probability ½ (crop and stamp independently)
 *
 * Everything is drawn from a seeded generator, so a spec gives the same images on every machine
 * with the same packages installed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { psnrFromMse } from '../../core/psnr.js';
import { resampleArea } from '../../core/resample.js';

export { resampleArea };
import { mulberry32 } from '../../core/random.js';
import type { ImageSet } from '../../data/imageSet.js';

export type PhotoKind = 'wallpaper' | 'stamp';

/** the packages of the corpus and what they hold; no other image package is used */
export const PHOTO_PACKAGES: [string, PhotoKind][] = [
  ['mate-backgrounds', 'wallpaper'],
  ['ukui-wallpapers', 'wallpaper'],
  ['gnome-backgrounds', 'wallpaper'],
  ['sway-backgrounds', 'wallpaper'],
  ['lomiri-wallpapers', 'wallpaper'],
  ['lomiri-wallpapers-16.04', 'wallpaper'],
  ['lomiri-wallpapers-20.04', 'wallpaper'],
  ['tuxpaint-stamps-default', 'stamp'],
];

/** percent of source photos held out (by the hash of their group key): wallpapers are few, so more of them */
export const HOLDOUT_PERCENT: Record<PhotoKind, number> = { wallpaper: 25, stamp: 15 };

export interface PhotoEntry {
  path: string;
  package: string;
  kind: PhotoKind;
  bytes: number;
  sha256: string;
  /** files of one group (same content, or a stamp and its mirror image) share a side of the split */
  group: string;
  split: 'train' | 'test';
}

export interface PhotoManifest {
  version: 1;
  holdoutPercent: Record<PhotoKind, number>;
  entries: PhotoEntry[];
}

/**
 * The source photo a file shows: one design at several resolutions or orientations
 * (Sway_Wallpaper_Blue_1366x768, …_768x1024_Portrait), GNOME's light and dark versions (wood-l,
 * wood-d), MATE's -Dark/-Light, and a stamp's `_mirror` copy are one source, so one side of the split.
 */
export function sourceGroup(path: string): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const stem = path
    .slice(slash + 1)
    .replace(/\.[a-z0-9]+$/i, '')
    .replace(/_mirror$/i, '')
    .replace(/_Portrait$/i, '')
    .replace(/_\d+x\d+$/, '')
    .replace(/-(Dark|Light)$/i, '')
    .replace(dir.endsWith('/gnome/') ? /-[dl]$/ : /$^/, '');
  return dir + stem;
}

export function groupHeldOut(group: string, kind: PhotoKind): boolean {
  const h = createHash('sha256').update(group).digest();
  return h.readUInt32BE(0) % 100 < HOLDOUT_PERCENT[kind];
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const PHOTO_MANIFEST = join(ROOT, 'data', 'photos.manifest.json');

export function readPhotoManifest(path = PHOTO_MANIFEST): PhotoManifest {
  let m: PhotoManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as PhotoManifest;
  } catch (e) {
    throw new Error(`${path}: cannot read the photo manifest (${(e as Error).message.split('\n')[0]})`);
  }
  if (m.version !== 1 || !Array.isArray(m.entries)) throw new Error(`${path}: not a version-1 photo manifest`);
  return m;
}

/** one level of an image pyramid: level k is the photo box-filtered by 2^k */
interface Level {
  w: number;
  h: number;
  rgb: Float32Array;
}

/** 2×2 box-filter pyramid down to about `min` pixels on the short side */
function pyramid(rgb: Uint8Array, w: number, h: number, min: number): Level[] {
  const levels: Level[] = [{ w, h, rgb: Float32Array.from(rgb) }];
  for (;;) {
    const l = levels.at(-1)!;
    if (Math.min(l.w, l.h) < 2 * min) return levels;
    const nw = l.w >> 1;
    const nh = l.h >> 1;
    const out = new Float32Array(nw * nh * 3);
    for (let y = 0; y < nh; y++)
      for (let x = 0; x < nw; x++)
        for (let c = 0; c < 3; c++) {
          const a = ((2 * y) * l.w + 2 * x) * 3 + c;
          const b = a + l.w * 3;
          out[(y * nw + x) * 3 + c] = 0.25 * (l.rgb[a]! + l.rgb[a + 3]! + l.rgb[b]! + l.rgb[b + 3]!);
        }
    levels.push({ w: nw, h: nh, rgb: out });
  }
}

/** decoded sources of one side of the split */
export interface PhotoSources {
  /** RGB, short side ≥ the decode size */
  wallpapers: { w: number; h: number; rgb: Uint8Array; path: string; levels: Level[] }[];
  /** RGBA with premultiplied alpha, long side = the stamp decode size */
  stamps: { w: number; h: number; rgba: Float32Array; path: string }[];
}

const cache = new Map<string, PhotoSources>();

/**
 * Decode one side of the split. Missing packages are one error naming them; a file whose content
 * no longer matches the manifest (another package version) is skipped with a warning.
 */
export async function loadPhotoSources(split: 'train' | 'test', size: number, log?: (m: string) => void, manifestPath = PHOTO_MANIFEST): Promise<PhotoSources> {
  const wallSide = Math.max(512, 8 * size);
  const stampSide = Math.max(160, 2 * size);
  const key = `${manifestPath}|${split}|${wallSide}|${stampSide}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const m = readPhotoManifest(manifestPath);
  const entries = m.entries.filter((e) => e.split === split);
  const missing = [...new Set(entries.filter((e) => !existsSync(e.path)).map((e) => e.package))];
  if (missing.length) throw new Error(`photo corpus: files of ${missing.join(', ')} are missing (install them: apt-get install ${missing.join(' ')})`);
  const out: PhotoSources = { wallpapers: [], stamps: [] };
  let skipped = 0;
  for (const e of entries) {
    const bytes = readFileSync(e.path);
    if (createHash('sha256').update(bytes).digest('hex') !== e.sha256) {
      skipped++;
      continue;
    }
    try {
      if (e.kind === 'wallpaper') {
        const { data, info } = await sharp(bytes).rotate().removeAlpha().resize(wallSide, wallSide, { fit: 'outside', kernel: 'lanczos3' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
        const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
        out.wallpapers.push({ w: info.width, h: info.height, rgb, path: e.path, levels: pyramid(rgb, info.width, info.height, size) });
      } else {
        const { data, info } = await sharp(bytes).ensureAlpha().resize(stampSide, stampSide, { fit: 'inside', kernel: 'lanczos3' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
        const rgba = new Float32Array(info.width * info.height * 4);
        for (let i = 0; i < info.width * info.height; i++) {
          const a = data[i * 4 + 3]! / 255;
          for (let c = 0; c < 3; c++) rgba[i * 4 + c] = (data[i * 4 + c]! / 255) * a;
          rgba[i * 4 + 3] = a;
        }
        out.stamps.push({ w: info.width, h: info.height, rgba, path: e.path });
      }
    } catch (err) {
      skipped++;
      log?.(`skipped ${e.path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (skipped) log?.(`photo corpus: ${skipped} ${split} files skipped (content differs from data/photos.manifest.json: another package version?)`);
  if (out.wallpapers.length === 0) throw new Error(`photo corpus: no readable ${split} wallpapers`);
  cache.set(key, out);
  return out;
}

export interface PhotoSetOptions {
  n: number;
  size: number;
  seed: number;
  /** share of images with a composited stamp */
  stampShare?: number;
  /**
   * share of crops that are (nearly) the whole photo: side 3/4 to all of the short side. The other
   * crops' sides are log-uniform from 1/8 to all of it, where only about 1 in 9 is that wide, while
   * people decompose whole photos (and bench:quality measures them). 0 (the default) draws exactly
   * the images it drew before the option existed.
   */
  wholeShare?: number;
}

/**
 * A stamp scaled so its long side is `long` pixels (area-resampled, premultiplied alpha, optionally
 * mirrored) and composited over `img` (RGB floats 0–255, size²) with its top-left corner at
 * (ox, oy), clipped to the image: img = stamp + img·(1 − α).
 */
function compositeStamp(img: Float32Array, size: number, st: PhotoSources['stamps'][number], long: number, place: (sw: number, sh: number) => [number, number], flip = false): void {
  const sw = Math.max(1, Math.round((long * st.w) / Math.max(st.w, st.h)));
  const sh = Math.max(1, Math.round((long * st.h) / Math.max(st.w, st.h)));
  const stamp = resampleArea(st.rgba, st.w, st.h, 4, 0, 0, st.w, st.h, sw, sh, flip);
  const [ox, oy] = place(sw, sh);
  for (let y = 0; y < sh; y++) {
    const ty = oy + y;
    if (ty < 0 || ty >= size) continue;
    for (let x = 0; x < sw; x++) {
      const tx = ox + x;
      if (tx < 0 || tx >= size) continue;
      const s = (y * sw + x) * 4;
      const a = stamp[s + 3]!;
      const d = (ty * size + tx) * 3;
      for (let c = 0; c < 3; c++) img[d + c] = stamp[s + c]! * 255 + img[d + c]! * (1 - a);
    }
  }
}

/** one generated image (uint8 RGB, size²) from the sources and a generator */
function drawImage(src: PhotoSources, size: number, rng: () => number, stampShare: number, wholeShare: number): Uint8Array {
  const wp = src.wallpapers[Math.floor(rng() * src.wallpapers.length)]!;
  const S = Math.min(wp.w, wp.h);
  // with wholeShare 0 no extra number is drawn, so old seeds give the same images
  const side = wholeShare > 0 && rng() < wholeShare ? S * (0.75 + 0.25 * rng()) : S * Math.pow(2, -3 * rng());
  const x0 = rng() * (wp.w - side);
  const y0 = rng() * (wp.h - side);
  // read from the pyramid level that is at most 2× the output's resolution (same box filter, ~30× less work)
  const k = Math.max(0, Math.min(wp.levels.length - 1, Math.floor(Math.log2(side / size))));
  const lv = wp.levels[k]!;
  const f = 2 ** k;
  const img = resampleArea(lv.rgb, lv.w, lv.h, 3, x0 / f, y0 / f, Math.min(side / f, lv.w - x0 / f), Math.min(side / f, lv.h - y0 / f), size, size, rng() < 0.5);
  if (src.stamps.length && rng() < stampShare) {
    const st = src.stamps[Math.floor(rng() * src.stamps.length)]!;
    const long = Math.max(2, Math.round(size * (0.4 + 0.6 * rng())));
    // the draws keep their order (flip, then centre x, y), so a seed gives the same images as before
    const flip = rng() < 0.5;
    const cx = size * (0.2 + 0.6 * rng());
    const cy = size * (0.2 + 0.6 * rng());
    compositeStamp(img, size, st, long, (sw, sh) => [Math.round(cx - sw / 2), Math.round(cy - sh / 2)], flip);
  }
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img[i]!)));
  return out;
}

/** n generated images from one side of the split */
export function photoImages(src: PhotoSources, o: PhotoSetOptions): ImageSet {
  const rng = mulberry32(o.seed);
  const px = o.size * o.size * 3;
  const data = new Uint8Array(o.n * px);
  const wholeShare = o.wholeShare ?? 0;
  if (!(wholeShare >= 0 && wholeShare <= 1)) throw new Error(`whole-photo share must be in [0, 1], got ${wholeShare}`);
  for (let i = 0; i < o.n; i++) data.set(drawImage(src, o.size, rng, o.stampShare ?? 0.5, wholeShare), i * px);
  return { n: o.n, size: o.size, data };
}

/**
 * A wallpaper whose centre crop at 32² is painted to within UNIFORM_PSNR dB by its mean colour
 * alone (solid or near-solid backgrounds: MATE-Stripes, GNOME symbolic and vnc) has nothing to
 * decompose; in a mean PSNR it would count as 50–100 dB for any method that can paint a flat
 * colour and drown the photos, so the benchmarks leave them out (skipUniform). Decided at one
 * size, so the set is the same at every benchmark size.
 */
export const UNIFORM_PSNR = 40;
const UNIFORM_TEST_SIZE = 32;

/** PSNR of an image (RGB floats 0..255) against its own mean colour */
export function flatColourPsnr(rgb: Float32Array): number {
  const n = rgb.length / 3;
  const mean = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) mean[c]! += rgb[3 * i + c]! / n;
  let se = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) se += ((rgb[3 * i + c]! - mean[c]!) / 255) ** 2;
  return psnrFromMse(se / rgb.length);
}

/**
 * The benchmark's held-out photos, whole: every held-out wallpaper centre-cropped to a square, and
 * every held-out stamp (long side 80 %, centred) on the centre crop of a held-out wallpaper.
 */
export function wholePhotos(src: PhotoSources, size: number, o: { skipUniform?: boolean } = {}): ImageSet & { names: string[] } {
  const px = size * size * 3;
  const imgs: Uint8Array[] = [];
  const names: string[] = [];
  const centre = (wp: PhotoSources['wallpapers'][number], at = size) => {
    const S = Math.min(wp.w, wp.h);
    return resampleArea(wp.rgb, wp.w, wp.h, 3, (wp.w - S) / 2, (wp.h - S) / 2, S, S, at, at);
  };
  const toBytes = (f: Float32Array) => Uint8Array.from(f, (v) => Math.max(0, Math.min(255, Math.round(v))));
  for (const wp of src.wallpapers) {
    if (o.skipUniform && flatColourPsnr(centre(wp, UNIFORM_TEST_SIZE)) > UNIFORM_PSNR) continue;
    imgs.push(toBytes(centre(wp)));
    names.push(wp.path);
  }
  src.stamps.forEach((st, k) => {
    const bg = centre(src.wallpapers[k % src.wallpapers.length]!);
    compositeStamp(bg, size, st, Math.round(size * 0.8), (sw, sh) => [Math.round((size - sw) / 2), Math.round((size - sh) / 2)]);
    imgs.push(toBytes(bg));
    names.push(st.path);
  });
  const data = new Uint8Array(imgs.length * px);
  imgs.forEach((im, i) => data.set(im, i * px));
  return { n: imgs.length, size, data, names };
}
