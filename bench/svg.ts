/**
 * npm run bench:svg — how well the SVG export matches Stratum's own PNG render: PSNR of the SVG
 * rasterised by librsvg (sharp) and by Chromium against the render, and the file size, per
 * document, size and number of mask levels ('auto', the default export: the fewest levels whose
 * quantised masks reach 32 dB, printed in brackets; 1 = one hard contour, the old export).
 *
 *   npm run bench:svg -- --sizes 256,1024 --levels 1,16,auto --docs bag,goldfish,synthetic
 */
import { Command } from 'commander';
import { psnrOf } from '../src/core/psnr.js';
import { useBackend } from '../src/backend/index.js';
import { layerRasters } from '../src/export/layerImages.js';
import { autoLevels, toSvg } from '../src/export/svg.js';
import { launchChromium, rasteriseChromium, rasteriseLibrsvg } from '../test/support/svgRaster.js';
import { benchDocuments } from './renderDocs.js';

const o = new Command()
  .option('--sizes <list>', 'export sizes', '256,1024')
  .option('--levels <list>', "mask levels per layer (numbers, or 'auto')", 'auto')
  .option('--docs <list>', 'only these documents (names as printed)')
  .parse()
  .opts<{ sizes: string; levels: string; docs?: string }>();

await useBackend('native');
let docs = await benchDocuments();
if (o.docs) docs = docs.filter(([n]) => o.docs!.split(',').includes(n));
const psnr = (a: Float32Array, b: Float32Array) => psnrOf(a, b);

const browser = await launchChromium();
try {
  console.log('| document | size | levels | librsvg dB | Chromium dB | SVG kB | export s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const size of o.sizes.split(',').map(Number)) {
    for (const [name, doc] of docs) {
      const r = layerRasters(doc, size);
      for (const arg of o.levels.split(',')) {
        const levels = arg === 'auto' ? ('auto' as const) : Number(arg);
        const t0 = performance.now();
        const svg = toSvg(r, { levels });
        const secs = (performance.now() - t0) / 1000;
        const a = psnr((await rasteriseLibrsvg(svg)).rgb, r.composite);
        const b = psnr((await rasteriseChromium(browser, svg, size, size)).rgb, r.composite);
        console.log(`| ${name} | ${size}² | ${levels === 'auto' ? `auto (${autoLevels(r)})` : levels} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(Buffer.byteLength(svg) / 1024).toFixed(0)} | ${secs.toFixed(1)} |`);
      }
    }
  }
} finally {
  await browser.close();
}
