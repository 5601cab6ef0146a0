/**
 * npm run bench:render — seconds to render real decompositions at 256², 1024², 4096², 8192²,
 * dense (the mask MLP at every pixel) vs adaptive (coarse to fine, src/core/adaptive.ts), with the
 * share of (pixel, layer) mask values the MLP evaluated and the largest difference from dense.
 *
 * Dense cost is proportional to the pixel count (same tiles, same work per pixel), so above
 * --dense-max it is extrapolated from the dense time at --dense-max and marked "(×N)".
 *
 *   npm run bench:render -- --sizes 256,1024,4096,8192 --dense-max 1024 --docs bag,goldfish
 */
import { Command } from 'commander';
import { useBackend, type BackendName } from '../src/backend/index.js';
import { renderDocument } from '../src/core/document.js';
import { benchDocuments } from './renderDocs.js';

const o = new Command()
  .option('--sizes <list>', 'output edges', '256,1024,4096,8192')
  .option('--dense-max <n>', 'largest edge rendered densely (larger: extrapolated)', '1024')
  .option('--docs <list>', 'only these documents (names as printed)')
  .option('--backend <name>', 'backend', 'native')
  .parse()
  .opts<{ sizes: string; denseMax: string; docs?: string; backend: string }>();

await useBackend(o.backend as BackendName);
const sizes = o.sizes.split(',').map(Number);
const denseMax = Number(o.denseMax);
let docs = await benchDocuments();
if (o.docs) docs = docs.filter(([n]) => o.docs!.split(',').includes(n));

const secs = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};

console.log('| document | size | dense s | adaptive s | speed-up | MLP share | max Δ (×255) |');
console.log('|---|---|---|---|---|---|---|');
const perSize = new Map<number, number[]>();
for (const [name, doc] of docs) {
  let denseRef: { size: number; s: number } | undefined;
  for (const size of sizes) {
    let dense: Float32Array | undefined;
    let denseS: number;
    let denseNote = '';
    if (size <= denseMax) {
      denseS = secs(() => (dense = renderDocument(doc, size, size, { method: 'dense' }).rgb));
      denseRef = { size, s: denseS };
    } else if (denseRef) {
      const k = (size / denseRef.size) ** 2;
      denseS = denseRef.s * k;
      denseNote = ` (×${k})`;
    } else denseS = Number.NaN;
    let r: ReturnType<typeof renderDocument> | undefined;
    const adaptiveS = secs(() => (r = renderDocument(doc, size, size)));
    let d = Number.NaN;
    if (dense) {
      d = 0;
      for (let i = 0; i < dense.length; i++) d = Math.max(d, Math.abs(dense[i]! - r!.rgb[i]!));
    }
    perSize.set(size, [...(perSize.get(size) ?? []), adaptiveS]);
    console.log(
      `| ${name} | ${size}² | ${denseS.toFixed(1)}${denseNote} | ${adaptiveS.toFixed(2)} | ${(denseS / adaptiveS).toFixed(1)}× | ${((100 * r!.evaluated) / r!.needed).toFixed(2)} % | ${Number.isNaN(d) ? '—' : (d * 255).toFixed(2)} |`,
    );
    r = undefined;
    dense = undefined;
  }
}
console.log('\n| size | adaptive s, median over documents | max |');
console.log('|---|---|---|');
for (const [size, ts] of perSize) {
  const s = [...ts].sort((a, b) => a - b);
  console.log(`| ${size}² | ${s[Math.floor(s.length / 2)]!.toFixed(2)} | ${s[s.length - 1]!.toFixed(2)} |`);
}
