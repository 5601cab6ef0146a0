/**
 * Reading and writing image files with sharp: folders of jpg/png (CelebA / ImageNet layout, any
 * depth), centre-crop + resize to a square, random patches of large photos, and single images.
 */
import { readdirSync, statSync, existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { mulberry32 } from '../core/random.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import type { ImageSet } from './imageSet.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.bmp'];

export function listImages(dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir}: not a folder`);
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** one image file (a path, or the file's bytes) -> uint8 RGB [size, size, 3], centre-cropped to a square */
export async function readImageSquare(input: string | Uint8Array, size: number): Promise<Uint8Array> {
  const path = typeof input === 'string' ? input : `image (${input.length} bytes)`;
  if (typeof input === 'string' && !existsSync(input)) throw new Error(`${path}: no such file`);
  if (typeof input === 'string' && !statSync(input).isFile()) throw new Error(`${path}: is a folder, not an image`);
  try {
    const buf = await sharp(input).rotate().removeAlpha().resize(size, size, { fit: 'cover', position: 'centre' }).toColourspace('srgb').raw().toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (e) {
    throw new Error(`${path}: cannot read image (${(e as Error).message.split('\n')[0]})`);
  }
}

/**
 * one image file (a path, or the file's bytes) at its own aspect ratio: uint8 RGB, the long side at
 * most `maxSide` (never enlarged), EXIF orientation applied
 */
export async function readImageFrame(input: string | Uint8Array, maxSide: number): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const path = typeof input === 'string' ? input : `image (${input.length} bytes)`;
  if (typeof input === 'string' && !existsSync(input)) throw new Error(`${path}: no such file`);
  if (typeof input === 'string' && !statSync(input).isFile()) throw new Error(`${path}: is a folder, not an image`);
  try {
    const { data, info } = await sharp(input).rotate().removeAlpha().resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new Error(`${path}: cannot read image (${(e as Error).message.split('\n')[0]})`);
  }
}

/** one image file resized to exactly width×height (stretched: the frame of a document rendered at that size) */
export async function readImageExact(input: string | Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const path = typeof input === 'string' ? input : `image (${input.length} bytes)`;
  try {
    const buf = await sharp(input).rotate().removeAlpha().resize(width, height, { fit: 'fill' }).toColourspace('srgb').raw().toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (e) {
    throw new Error(`${path}: cannot read image (${(e as Error).message.split('\n')[0]})`);
  }
}

export interface FolderOptions {
  size: number;
  limit?: number;
  /** called for files that cannot be decoded (they are skipped) */
  onSkip?: (path: string, why: string) => void;
}

export async function readImageFolder(dir: string, o: FolderOptions): Promise<ImageSet & { files: string[] }> {
  let files = listImages(dir);
  if (o.limit) files = files.slice(0, o.limit);
  const px = o.size * o.size * 3;
  const chunks: Uint8Array[] = [];
  const used: string[] = [];
  for (const f of files) {
    try {
      chunks.push(await readImageSquare(f, o.size));
      used.push(f);
    } catch (e) {
      o.onSkip?.(f, (e as Error).message);
    }
  }
  if (chunks.length === 0) throw new Error(`${dir}: no readable images (${IMAGE_EXTENSIONS.join(' ')})`);
  const data = new Uint8Array(chunks.length * px);
  chunks.forEach((c, i) => data.set(c, i * px));
  return { n: chunks.length, size: o.size, data, files: used };
}

export interface PatchOptions {
  size: number;
  /** patches per image */
  perImage: number;
  /** each photo is first resized so its short side is this many pixels */
  scale: number;
  seed?: number;
  onSkip?: (path: string, why: string) => void;
}

/** random square patches of a folder of (large) photos, e.g. desktop wallpapers */
export async function readPhotoPatches(dir: string, o: PatchOptions): Promise<ImageSet> {
  const files = listImages(dir);
  const rng = mulberry32(o.seed ?? 0);
  const px = o.size * o.size * 3;
  const chunks: Uint8Array[] = [];
  for (const f of files) {
    let img: { data: Buffer; info: OutputInfo };
    try {
      img = await sharp(f).rotate().removeAlpha().resize(o.scale, o.scale, { fit: 'outside' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    } catch (e) {
      o.onSkip?.(f, (e as Error).message.split('\n')[0]!);
      continue;
    }
    const { width, height } = img.info;
    for (let k = 0; k < o.perImage; k++) {
      const x0 = Math.floor(rng() * (width - o.size + 1));
      const y0 = Math.floor(rng() * (height - o.size + 1));
      const patch = new Uint8Array(px);
      for (let y = 0; y < o.size; y++) {
        const row = ((y0 + y) * width + x0) * 3;
        patch.set(img.data.subarray(row, row + o.size * 3), y * o.size * 3);
      }
      chunks.push(patch);
    }
  }
  if (chunks.length === 0) throw new Error(`${dir}: no readable images for patches`);
  const data = new Uint8Array(chunks.length * px);
  chunks.forEach((c, i) => data.set(c, i * px));
  return { n: chunks.length, size: o.size, data };
}

/** write RGB (float in [0,1] or uint8) as PNG */
export async function writePng(path: string, width: number, height: number, rgb: Float32Array | Uint8Array, channels: 1 | 3 | 4 = 3): Promise<void> {
  const bytes = rgb instanceof Uint8Array ? rgb : floatToBytes(rgb);
  const png = await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { raw: { width, height, channels } }).png().toBuffer();
  writeFileAtomic(path, [png]);
}

export function floatToBytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, a[i]!)) * 255);
  return out;
}
