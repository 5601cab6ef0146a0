/**
 * Data sets by name. A spec is one of
 *   fashion-mnist[:DIR]      the training IDX file (train-images-idx3-ubyte[.gz]; Debian's
 *                            dataset-fashion-mnist by default)
 *   fashion-mnist-test[:DIR] the official test file (t10k-images-idx3-ubyte[.gz]), never trained on
 *   mnist:DIR | mnist-test:DIR | idx:FILE   the same for MNIST, or any IDX ubyte image file
 *   cifar10:PATH             a CIFAR-10 binary batch file or a folder of *.bin batches
 *   folder:DIR               jpg/png images, any depth (CelebA / ImageNet layout), centre-cropped
 *   patches:DIR[:PER_IMAGE]  random patches of large photos (wallpapers), default 64 per photo
 *   deadleaves[:N]           synthetic dead-leaves images (default 4000)
 *   photos[:N[:WHOLE[:OBJECTS]]]  N images (default 50000) from the training side of the photo
 *                            corpus (src/research/data/photos.ts): multi-scale crops of photographs, cut-out
 *                            objects composited on them, flips; WHOLE (default 0) is the share of
 *                            crops that are nearly the whole photo (3/4 to all of its short side),
 *                            OBJECTS (default 0.5) the share of images with a cut-out object
 *   photos-test[:N[:WHOLE[:OBJECTS]]]  the same from the held-out photos (default 512); training on
 *                            `photos` evaluates on these (with its shares), never on its own photos
 *   photos-whole             the held-out photos whole (centre-cropped), for benchmarks
 * Images are returned at the requested square size. The train/test split is deterministic.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { HOLDOUT_MAX_SHARE } from '../../config.js';
import { mulberry32, shuffleInPlace } from '../../core/random.js';
import { readCifar } from './cifar.js';
import { deadLeaves } from './deadLeaves.js';
import { readIdx } from './idx.js';
import { readImageFolder, readPhotoPatches } from '../../data/images.js';
import { loadPhotoSources, photoImages, wholePhotos } from './photos.js';
import { subset, type ImageSet } from '../../data/imageSet.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const WALLPAPER_DIRS = ['/usr/share/backgrounds'];

export interface LoadOptions {
  size: number;
  /** keep at most this many images */
  limit?: number;
  seed?: number;
  log?: (msg: string) => void;
}

/** grayscale or RGB uint8 images of any square size -> RGB at `size` (centred zero-pad if it fits evenly, else resize) */
export async function toRgbSize(n: number, src: number, channels: 1 | 3, data: Uint8Array, size: number): Promise<ImageSet> {
  const out = new Uint8Array(n * size * size * 3);
  const pad = size - src;
  for (let i = 0; i < n; i++) {
    const img = data.subarray(i * src * src * channels, (i + 1) * src * src * channels);
    let rgb: Uint8Array;
    if (pad >= 0 && pad % 2 === 0) {
      rgb = new Uint8Array(size * size * 3);
      const o = pad / 2;
      for (let y = 0; y < src; y++)
        for (let x = 0; x < src; x++)
          for (let c = 0; c < 3; c++) rgb[((y + o) * size + x + o) * 3 + c] = img[(y * src + x) * channels + (channels === 3 ? c : 0)]!;
    } else {
      const buf = await sharp(Buffer.from(img), { raw: { width: src, height: src, channels } }).resize(size, size, { kernel: 'lanczos3' }).toColourspace('srgb').raw().toBuffer();
      rgb = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    }
    out.set(rgb, i * size * size * 3);
  }
  return { n, size, data: out };
}

/** the folder's training (or test: t10k) image files; all image files when it has no such split */
function idxFilesIn(dir: string, test: boolean): string[] {
  const all = readdirSync(dir)
    .filter((f) => /images?[-.]idx3-ubyte(\.gz)?$/.test(f))
    .sort();
  const part = all.filter((f) => (test ? f.startsWith('t10k') : f.startsWith('train')));
  return (part.length ? part : all).map((f) => join(dir, f));
}

async function loadIdxImages(paths: string[], o: LoadOptions): Promise<ImageSet> {
  const parts: ImageSet[] = [];
  for (const p of paths) {
    const { dims, data } = readIdx(p);
    if (dims.length !== 3 || dims[1] !== dims[2]) throw new Error(`${p}: expected IDX images [n, h, w] with h = w, got [${dims.join(', ')}]`);
    const n = o.limit ? Math.min(dims[0]!, o.limit) : dims[0]!;
    parts.push(await toRgbSize(n, dims[1]!, 1, data, o.size));
  }
  return concatSets(parts, o.size);
}

function concatSets(parts: ImageSet[], size: number): ImageSet {
  const n = parts.reduce((a, p) => a + p.n, 0);
  const data = new Uint8Array(n * size * size * 3);
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { n, size, data };
}

export async function loadDataset(spec: string, o: LoadOptions): Promise<ImageSet> {
  const [kind, ...rest] = spec.split(':');
  const arg = rest.join(':');
  const need = (what: string) => {
    if (!arg) throw new Error(`data spec '${spec}' needs a path: ${kind}:${what}`);
    if (!existsSync(arg)) throw new Error(`${arg}: no such file or folder (data spec '${spec}')`);
    return arg;
  };
  let set: ImageSet;
  switch (kind) {
    case 'fashion-mnist':
    case 'fashion-mnist-test':
    case 'mnist':
    case 'mnist-test': {
      const fashion = kind.startsWith('fashion');
      const dir = arg || (fashion ? FASHION_MNIST_DIR : '');
      if (!dir || !existsSync(dir)) {
        throw new Error(`${dir || 'mnist'}: no such folder${fashion ? ' (install it: apt-get install dataset-fashion-mnist)' : ''}`);
      }
      const files = idxFilesIn(dir, kind.endsWith('-test'));
      if (files.length === 0) throw new Error(`${dir}: no *-images-idx3-ubyte[.gz] files`);
      set = await loadIdxImages(files, o);
      break;
    }
    case 'idx':
      set = await loadIdxImages([need('FILE')], o);
      break;
    case 'cifar10':
    case 'cifar': {
      const p = need('PATH');
      const files = statSync(p).isDirectory()
        ? readdirSync(p)
            .filter((f) => f.endsWith('.bin') && f !== 'batches.meta.bin')
            .sort()
            .map((f) => join(p, f))
        : [p];
      if (files.length === 0) throw new Error(`${p}: no CIFAR-10 .bin batches`);
      const parts = files.map((f) => readCifar(f));
      set = concatSets(
        await Promise.all(parts.map((c) => (o.size === 32 ? Promise.resolve(c as ImageSet) : toRgbSize(c.n, 32, 3, c.data, o.size)))),
        o.size,
      );
      break;
    }
    case 'folder':
      set = await readImageFolder(need('DIR'), { size: o.size, limit: o.limit, onSkip: (f, why) => o.log?.(`skipped ${why}`) });
      break;
    case 'patches': {
      const [dir, per] = arg.split(':');
      if (!dir) throw new Error(`data spec '${spec}' needs a folder: patches:DIR[:PER_IMAGE]`);
      if (!existsSync(dir)) throw new Error(`${dir}: no such folder (data spec '${spec}')`);
      set = await readPhotoPatches(dir, { size: o.size, perImage: per ? Number(per) : 64, scale: Math.max(4 * o.size, 128), seed: o.seed, onSkip: (f, why) => o.log?.(`skipped ${f}: ${why}`) });
      break;
    }
    case 'photos':
    case 'photos-test': {
      const test = kind === 'photos-test';
      const [count, share, stamps] = arg.split(':');
      const n = count ? Number(count) : test ? 512 : 50000;
      if (!Number.isInteger(n) || n <= 0) throw new Error(`data spec '${spec}': image count must be a positive integer`);
      const wholeShare = share === undefined ? 0 : Number(share);
      if (share === '' || !(wholeShare >= 0 && wholeShare <= 1)) throw new Error(`data spec '${spec}': whole-photo share must be a number in [0, 1]`);
      const stampShare = stamps === undefined ? 0.5 : Number(stamps);
      if (stamps === '' || !(stampShare >= 0 && stampShare <= 1)) throw new Error(`data spec '${spec}': cut-out object share must be a number in [0, 1]`);
      const src = await loadPhotoSources(test ? 'test' : 'train', o.size, o.log);
      // the held-out crops use their own fixed stream, whatever the run's seed
      set = photoImages(src, { n: o.limit ? Math.min(n, o.limit) : n, size: o.size, seed: test ? 0x7e57 : (o.seed ?? 0), wholeShare, stampShare });
      break;
    }
    case 'photos-whole':
      set = wholePhotos(await loadPhotoSources('test', o.size, o.log), o.size);
      break;
    case 'deadleaves': {
      const n = arg ? Number(arg) : 4000;
      if (!Number.isInteger(n) || n <= 0) throw new Error(`data spec '${spec}': image count must be a positive integer`);
      set = deadLeaves({ n, size: o.size, seed: o.seed });
      break;
    }
    default:
      throw new Error(`unknown data spec '${spec}' (fashion-mnist[:DIR], fashion-mnist-test[:DIR], mnist:DIR, mnist-test:DIR, idx:FILE, cifar10:PATH, folder:DIR, patches:DIR[:N], deadleaves[:N], photos[:N[:WHOLE[:OBJECTS]]], photos-test[:N[:WHOLE[:OBJECTS]]], photos-whole)`);
  }
  if (o.limit && set.n > o.limit) set = subset(set, Array.from({ length: o.limit }, (_, i) => i));
  return set;
}

/** deterministic split: a seeded shuffle, the last `holdout` images are the test set */
export function split(set: ImageSet, holdout: number, seed = 0): { train: ImageSet; test: ImageSet } {
  if (holdout >= set.n) throw new Error(`held-out count ${holdout} leaves no training images (data has ${set.n})`);
  const idx = Array.from({ length: set.n }, (_, i) => i);
  shuffleInPlace(idx, mulberry32(seed ^ 0x5eed));
  return { train: subset(set, idx.slice(0, set.n - holdout)), test: subset(set, idx.slice(set.n - holdout)) };
}

/**
 * The held-out split every command uses (train, eval, experiment): `holdout` images, at most a
 * fifth of the data (HOLDOUT_MAX_SHARE) so a small set still trains, chosen by split().
 */
export function heldOutSplit(set: ImageSet, holdout: number, seed = 0): { train: ImageSet; test: ImageSet } {
  return split(set, Math.min(holdout, Math.floor(set.n * HOLDOUT_MAX_SHARE)), seed);
}

/**
 * Training and held-out images for a data spec: the photo corpus is split by source photo (its
 * held-out side is `photos-test`); every other set by heldOutSplit.
 */
export async function loadSplit(spec: string, holdout: number, o: LoadOptions): Promise<{ train: ImageSet; test: ImageSet }> {
  const kind = spec.split(':')[0];
  if (kind === 'photos') {
    const train = await loadDataset(spec, o);
    // held out with the training spec's whole-photo and object shares, so the curve measures what is trained for
    const shares = spec.split(':').slice(2);
    const test = await loadDataset(['photos-test', String(Math.max(1, holdout)), ...shares].join(':'), { ...o, limit: undefined });
    return { train, test };
  }
  const set = await loadDataset(spec, o);
  return heldOutSplit(set, holdout, o.seed);
}
