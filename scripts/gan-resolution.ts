/**
 * docs/results/gan-resolution.png: one GAN sample at two resolutions. Its 32² render upscaled with
 * nearest neighbour, its 1024² render (both shown at 256 px), and the same window of each magnified
 * to 256 px (the window is a quarter of the side): the 1024² edge is a smooth curve drawn by the
 * mask network, not an interpolation of 32² pixels.
 *
 *   node --import tsx scripts/gan-resolution.ts GAN.stratum [OUT.png] [--sample 7] [--window X,Y]
 *
 * (The committed picture was made from the Fashion-MNIST GAN of docs/results.md, sample 7.)
 */
import { useBackend } from '../src/backend/index.js';
import { makeDocument, renderDocument } from '../src/core/document.js';
import { resampleArea } from '../src/core/resample.js';
import { writeGrid, type Tile } from '../src/eval/grid.js';
import { discardBnUpdates, newCtx } from '../src/model/nn.js';
import { loadGan } from '../src/research/train/ganTrainer.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : dflt);
const [gan, out = 'docs/results/gan-resolution.png'] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!gan) throw new Error('usage: scripts/gan-resolution.ts GAN.stratum [OUT.png] [--sample 7] [--window X,Y]');
const k = Number(flag('--sample', '7'));
const [wx, wy] = flag('--window', '0.125,0.375').split(',').map(Number) as [number, number];
await useBackend('auto');
const { g } = loadGan(gan);
const ctx = newCtx(true);
const layers = g.sampleLayers(k + 1, ctx, 0)[k]!;
discardBnUpdates(ctx);
const doc = makeDocument(g.cfg.mask, g.cfg.size, g.store, layers);
const S = g.cfg.size;
const SHOW = 256;
const small = renderDocument(doc, S).rgb;
const big = renderDocument(doc, 1024).rgb;
/** nearest-neighbour crop [x0, x0 + w)² of an n² image (fractions of the side) to SHOW² */
const nearest = (img: Float32Array, n: number, x0: number, y0: number, w: number): Tile => {
  const px = new Float32Array(SHOW * SHOW * 3);
  for (let y = 0; y < SHOW; y++)
    for (let x = 0; x < SHOW; x++) {
      const sx = Math.min(n - 1, Math.floor((x0 + (w * (x + 0.5)) / SHOW) * n));
      const sy = Math.min(n - 1, Math.floor((y0 + (w * (y + 0.5)) / SHOW) * n));
      for (let c = 0; c < 3; c++) px[(y * SHOW + x) * 3 + c] = img[(sy * n + sx) * 3 + c]!;
    }
  return { pixels: px, width: SHOW, height: SHOW };
};
const whole1024: Tile = { pixels: resampleArea(big, 1024, 1024, 3, 0, 0, 1024, 1024, SHOW, SHOW), width: SHOW, height: SHOW };
await writeGrid(out, [[nearest(small, S, 0, 0, 1), whole1024, nearest(small, S, wx, wy, 0.25), nearest(big, 1024, wx, wy, 0.25)]], { scale: 1, gap: 4 });
console.log(`wrote ${out}: sample ${k} of ${gan} at ${S}² and 1024², window (${wx}, ${wy}) a quarter of the side`);
