/**
 * OpenRaster (.ora, Krita / GIMP / MyPaint): a zip with an uncompressed `mimetype` first,
 * `stack.xml` (topmost layer first), one PNG per layer, `mergedimage.png` and a thumbnail.
 */
import { readFileSync } from 'node:fs';
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import sharp from 'sharp';
import { floatToBytes } from '../data/images.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import { compositeOnBlack, type LayerRasters } from './layerImages.js';

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

async function png(width: number, height: number, data: Uint8Array, channels: 3 | 4): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(data.buffer, data.byteOffset, data.length), { raw: { width, height, channels } }).png().toBuffer());
}

export async function toOra(r: LayerRasters): Promise<Uint8Array> {
  const { width, height } = r;
  const black = new Uint8Array(width * height * 4);
  for (let p = 3; p < black.length; p += 4) black[p] = 255;
  const files: Zippable = { mimetype: [strToU8('image/openraster'), { level: 0 }] };
  const entries: string[] = [];
  const all = [{ name: 'background', visible: true, rgba: black }, ...r.layers];
  for (let i = 0; i < all.length; i++) {
    const l = all[i]!;
    const src = `data/layer${String(i).padStart(3, '0')}.png`;
    files[src] = [await png(width, height, l.rgba, 4), { level: 0 }];
    entries.unshift(`  <layer name="${esc(l.name)}" src="${src}" x="0" y="0" opacity="1.0" visibility="${l.visible ? 'visible' : 'hidden'}" composite-op="svg:src-over"/>`);
  }
  files['stack.xml'] = strToU8(`<?xml version="1.0" encoding="UTF-8"?>\n<image version="0.0.5" w="${width}" h="${height}">\n <stack>\n${entries.join('\n')}\n </stack>\n</image>\n`);
  const merged = floatToBytes(r.composite);
  files['mergedimage.png'] = [await png(width, height, merged, 3), { level: 0 }];
  const s = Math.min(1, 256 / Math.max(width, height));
  files['Thumbnails/thumbnail.png'] = [
    new Uint8Array(await sharp(Buffer.from(merged), { raw: { width, height, channels: 3 } }).resize(Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))).png().toBuffer()),
    { level: 0 },
  ];
  return zipSync(files);
}

export async function writeOraFile(path: string, r: LayerRasters): Promise<void> {
  writeFileAtomic(path, [await toOra(r)]);
}

/** read an .ora back and composite its visible layers on black */
export async function compositeOra(path: string): Promise<{ width: number; height: number; rgb: Float32Array; names: string[] }> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(readFileSync(path));
  } catch (e) {
    throw new Error(`${path}: not a zip archive (${(e as Error).message})`);
  }
  if (!files.mimetype || strFromU8(files.mimetype) !== 'image/openraster') throw new Error(`${path}: not an OpenRaster file (bad mimetype)`);
  const xml = strFromU8(files['stack.xml'] ?? new Uint8Array());
  const size = /<image[^>]*\sw="(\d+)"[^>]*\sh="(\d+)"/.exec(xml);
  if (!size) throw new Error(`${path}: stack.xml has no image size`);
  const width = Number(size[1]);
  const height = Number(size[2]);
  const layers: { rgba: Uint8Array; visible: boolean; opacity: number; name: string }[] = [];
  for (const m of xml.matchAll(/<layer\s([^>]*)\/>/g)) {
    const attr = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[1]!)?.[1];
    const data = files[attr('src') ?? ''];
    if (!data) throw new Error(`${path}: layer image ${attr('src')} missing`);
    const raw = await sharp(Buffer.from(data)).ensureAlpha().raw().toBuffer();
    layers.unshift({ rgba: new Uint8Array(raw), visible: attr('visibility') !== 'hidden', opacity: Number(attr('opacity') ?? 1), name: attr('name') ?? '' });
  }
  return { width, height, rgb: compositeOnBlack(width, height, layers), names: layers.map((l) => l.name) };
}
