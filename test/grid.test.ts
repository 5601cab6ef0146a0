import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeGrid, type Tile } from '../src/eval/grid.js';
import { tmp } from './support/helpers.js';

const grey = (v: number): Tile => ({ pixels: new Float32Array(8 * 8 * 3).fill(v), width: 8, height: 8 });

test('picture grids: tiles upscaled in place; column captions are drawn in a band above them', async () => {
  const dir = tmp();
  const rows = [[grey(0), grey(1), null], [grey(0.5), grey(0.25), grey(0)]];
  await writeGrid(join(dir, 'plain.png'), rows, { scale: 4, gap: 2 });
  await writeGrid(join(dir, 'labelled.png'), rows, { scale: 4, gap: 2, columnLabels: ['target', 'a very long caption that cannot fit', 'k = 3'] });
  const read = async (f: string) => sharp(join(dir, f)).raw().toBuffer({ resolveWithObject: true });
  const plain = await read('plain.png');
  const labelled = await read('labelled.png');
  assert.deepEqual([plain.info.width, plain.info.height], [3 * 34 + 2, 2 * 34 + 2]);
  assert.deepEqual([labelled.info.width, labelled.info.height], [plain.info.width, plain.info.height + 16]);
  const px = (img: typeof plain, x: number, y: number) => img.data[(y * img.info.width + x) * img.info.channels]!;
  // tile (row 1, column 1) is 0.25 grey, the same pixels 16 rows lower once captioned
  assert.equal(px(plain, 2 + 34 + 10, 2 + 34 + 10), 64);
  assert.equal(px(labelled, 2 + 34 + 10, 16 + 2 + 34 + 10), 64);
  // every caption leaves dark (text) pixels in its column of the band, nothing outside the band moved
  for (let c = 0; c < 3; c++) {
    let ink = 0;
    for (let y = 0; y < 16; y++) for (let x = 2 + c * 34; x < 2 + c * 34 + 32; x++) if (px(labelled, x, y) < 128) ink++;
    assert.ok(ink > 5, `caption ${c} drawn (${ink} dark pixels)`);
  }
  for (let y = 0; y < plain.info.height; y++)
    for (let x = 0; x < plain.info.width; x++) assert.equal(px(labelled, x, y + 16), px(plain, x, y));
});
