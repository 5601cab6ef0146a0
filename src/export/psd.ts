/** Layered Photoshop export (ag-psd): a black background and one RGBA layer per mask, bottom to top. */
import { initializeCanvas, readPsd, writePsd, type Psd } from 'ag-psd';
import { floatToBytes } from '../data/images.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import { compositeOnBlack, type LayerRasters } from './layerImages.js';
import { readFileSync } from 'node:fs';

// Node has no canvas: ag-psd only needs plain ImageData-like pixel buffers for our layers.
initializeCanvas(
  () => {
    throw new Error('no canvas in Node');
  },
  (width: number, height: number) => ({ width, height, data: new Uint8ClampedArray(width * height * 4), colorSpace: 'srgb' }) as unknown as ImageData,
);

function imageData(width: number, height: number, rgba: Uint8Array) {
  return { width, height, data: new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), colorSpace: 'srgb' as const };
}

export function toPsd(r: LayerRasters): Uint8Array {
  const { width, height } = r;
  const black = new Uint8Array(width * height * 4);
  for (let p = 3; p < black.length; p += 4) black[p] = 255;
  const rgb = floatToBytes(r.composite);
  const merged = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    merged.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
    merged[4 * p + 3] = 255;
  }
  const psd: Psd = {
    width,
    height,
    imageData: imageData(width, height, merged) as unknown as ImageData,
    children: [
      { name: 'background', top: 0, left: 0, bottom: height, right: width, imageData: imageData(width, height, black) as unknown as ImageData },
      ...r.layers.map((l) => ({ name: l.name, hidden: !l.visible, top: 0, left: 0, bottom: height, right: width, imageData: imageData(width, height, l.rgba) as unknown as ImageData })),
    ],
  };
  return new Uint8Array(writePsd(psd, { noBackground: true }));
}

export function writePsdFile(path: string, r: LayerRasters): void {
  writeFileAtomic(path, [toPsd(r)]);
}

/** read a PSD back and composite its visible layers on black */
export function compositePsd(path: string): { width: number; height: number; rgb: Float32Array; names: string[] } {
  let psd: Psd;
  try {
    psd = readPsd(readFileSync(path), { useImageData: true, skipThumbnail: true });
  } catch (e) {
    throw new Error(`${path}: cannot read PSD (${(e as Error).message})`);
  }
  const layers = (psd.children ?? []).map((c) => {
    const d = c.imageData as unknown as { width: number; height: number; data: Uint8ClampedArray } | undefined;
    const full = new Uint8Array(psd.width * psd.height * 4);
    if (d) {
      const top = c.top ?? 0;
      const left = c.left ?? 0;
      for (let y = 0; y < d.height; y++) full.set(d.data.subarray(y * d.width * 4, (y + 1) * d.width * 4), ((top + y) * psd.width + left) * 4);
    }
    return { rgba: full, visible: !c.hidden, opacity: c.opacity ?? 1 };
  });
  return { width: psd.width, height: psd.height, rgb: compositeOnBlack(psd.width, psd.height, layers), names: (psd.children ?? []).map((c) => c.name ?? '') };
}
