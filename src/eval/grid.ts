/**
 * Picture grids: tiles of RGB or grayscale images laid out in rows, upscaled with nearest
 * neighbour so 32² images stay readable, written as one PNG.
 */
import sharp from 'sharp';
import { blendLayerInto } from '../core/stack.js';
import { writeFileAtomic } from '../io/atomicFile.js';

export interface Tile {
  /** RGB floats in [0,1] (length w*h*3) or grayscale (w*h) */
  pixels: Float32Array;
  width: number;
  height: number;
}

export function grayTile(mask: Float32Array, width: number, height: number): Tile {
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < mask.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = mask[i]!;
  return { pixels: rgb, width, height };
}

/** a mask shown in its layer's colour over a checkerboard-free light grey */
export function colouredMaskTile(mask: Float32Array, colour: ArrayLike<number>, width: number, height: number): Tile {
  const rgb = new Float32Array(width * height * 3).fill(0.85);
  blendLayerInto(rgb, mask, colour);
  return { pixels: rgb, width, height };
}

export interface GridOptions {
  /** nearest-neighbour upscaling of every tile */
  scale?: number;
  /** white pixels between tiles */
  gap?: number;
  /** a caption above each column (shortened to fit) */
  columnLabels?: string[];
}

const LABEL_BAND = 16;
const LABEL_FONT = 11;
/** rough advance of one character of an 11 px sans-serif font */
const LABEL_CHAR = 6.2;

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

export async function writeGrid(path: string, rows: (Tile | null)[][], o: GridOptions = {}): Promise<void> {
  const { scale = 4, gap = 2, columnLabels } = o;
  const cols = Math.max(...rows.map((r) => r.length));
  const cw = Math.max(...rows.flat().map((t) => t?.width ?? 0));
  const ch = Math.max(...rows.flat().map((t) => t?.height ?? 0));
  const band = columnLabels ? LABEL_BAND : 0;
  const W = cols * (cw * scale + gap) + gap;
  const H = band + rows.length * (ch * scale + gap) + gap;
  const out = new Uint8Array(W * H * 3).fill(255);
  rows.forEach((row, r) =>
    row.forEach((t, c) => {
      if (!t) return;
      const ox = gap + c * (cw * scale + gap);
      const oy = band + gap + r * (ch * scale + gap);
      for (let y = 0; y < t.height * scale; y++)
        for (let x = 0; x < t.width * scale; x++) {
          const si = (Math.floor(y / scale) * t.width + Math.floor(x / scale)) * 3;
          const di = ((oy + y) * W + ox + x) * 3;
          for (let k = 0; k < 3; k++) out[di + k] = Math.round(Math.min(1, Math.max(0, t.pixels[si + k]!)) * 255);
        }
    }),
  );
  let img = sharp(Buffer.from(out.buffer), { raw: { width: W, height: H, channels: 3 } });
  if (columnLabels) {
    const fit = Math.max(1, Math.floor((cw * scale) / LABEL_CHAR));
    const texts = columnLabels.slice(0, cols).map((label, c) => {
      const text = label.length > fit ? `${label.slice(0, fit - 1)}…` : label;
      const x = gap + c * (cw * scale + gap) + (cw * scale) / 2;
      return `<text x="${x}" y="${LABEL_BAND - 4}" text-anchor="middle" font-size="${LABEL_FONT}" font-family="sans-serif">${escapeXml(text)}</text>`;
    });
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${LABEL_BAND}">${texts.join('')}</svg>`;
    img = sharp(await img.png().toBuffer()).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  }
  writeFileAtomic(path, [await img.png().toBuffer()]);
}
