/**
 * Picture grids: tiles of RGB or grayscale images laid out in rows, upscaled with nearest
 * neighbour so 32² images stay readable, written as one PNG.
 */
import sharp from 'sharp';

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
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i]!;
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = 0.85 * (1 - m) + colour[c]! * m;
  }
  return { pixels: rgb, width, height };
}

export async function writeGrid(path: string, rows: (Tile | null)[][], scale = 4, gap = 2): Promise<void> {
  const cols = Math.max(...rows.map((r) => r.length));
  const cw = Math.max(...rows.flat().map((t) => t?.width ?? 0));
  const ch = Math.max(...rows.flat().map((t) => t?.height ?? 0));
  const W = cols * (cw * scale + gap) + gap;
  const H = rows.length * (ch * scale + gap) + gap;
  const out = new Uint8Array(W * H * 3).fill(255);
  rows.forEach((row, r) =>
    row.forEach((t, c) => {
      if (!t) return;
      const ox = gap + c * (cw * scale + gap);
      const oy = gap + r * (ch * scale + gap);
      for (let y = 0; y < t.height * scale; y++)
        for (let x = 0; x < t.width * scale; x++) {
          const si = (Math.floor(y / scale) * t.width + Math.floor(x / scale)) * 3;
          const di = ((oy + y) * W + ox + x) * 3;
          for (let k = 0; k < 3; k++) out[di + k] = Math.round(Math.min(1, Math.max(0, t.pixels[si + k]!)) * 255);
        }
    }),
  );
  await sharp(Buffer.from(out.buffer), { raw: { width: W, height: H, channels: 3 } }).png().toFile(path);
}
