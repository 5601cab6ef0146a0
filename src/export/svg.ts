/**
 * SVG export: one traced path per layer (potrace), filled with the layer's colour, over a black
 * rectangle. A mask becomes a hard shape at `threshold`; the SVG scales to any size.
 */
import potrace from 'potrace';
import sharp from 'sharp';
import { colourHex } from '../edit/edits.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import type { LayerRasters } from './layerImages.js';

function trace(png: Buffer, colour: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = new potrace.Potrace({ threshold: 128, turdSize: 2, color: colour, background: 'transparent' });
    t.loadImage(png, (err) => (err ? reject(err) : resolve(t.getPathTag())));
  });
}

export async function toSvg(r: LayerRasters, threshold = 0.5): Promise<string> {
  const { width, height } = r;
  const paths: string[] = [];
  for (const l of r.layers) {
    if (!l.visible) continue;
    // potrace traces dark pixels: inside the mask -> black
    const gray = new Uint8Array(width * height);
    for (let p = 0; p < gray.length; p++) gray[p] = l.rgba[4 * p + 3]! >= threshold * 255 ? 0 : 255;
    if (!gray.includes(0)) continue;
    const png = await sharp(Buffer.from(gray), { raw: { width, height, channels: 1 } }).png().toBuffer();
    const tag = await trace(png, colourHex(l.colour));
    paths.push(tag.replace('<path ', `<path data-layer="${l.name.replace(/"/g, '')}" `));
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="${width}" height="${height}" fill="#000000"/>\n${paths.join('\n')}\n</svg>\n`;
}

export async function writeSvgFile(path: string, r: LayerRasters, threshold = 0.5): Promise<void> {
  writeFileAtomic(path, [new TextEncoder().encode(await toSvg(r, threshold))]);
}
