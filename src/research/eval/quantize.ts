/**
 * The non-learned baseline of the paper: colour quantisation to a palette of N colours (image-q:
 * Wu's quantiser for the palette, nearest-colour mapping, no dithering). sharp's own palette PNG
 * cannot be used here: it rounds the palette size up to a power of two (20 -> 256).
 */
import { applyPaletteSync, buildPaletteSync, utils } from 'image-q';

export function quantizeRgb(rgb: Uint8Array, width: number, height: number, colours = 20): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
    rgba[4 * p + 3] = 255;
  }
  const pc = utils.PointContainer.fromUint8Array(rgba, width, height);
  const palette = buildPaletteSync([pc], { colors: colours, paletteQuantization: 'wuquant', colorDistanceFormula: 'euclidean' });
  const out = applyPaletteSync(pc, palette, { imageQuantization: 'nearest', colorDistanceFormula: 'euclidean' }).toUint8Array();
  const back = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) back.set(out.subarray(4 * p, 4 * p + 3), 3 * p);
  return back;
}
