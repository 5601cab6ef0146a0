/**
 * Held-out photo PSNR of model files at their size, as decompose paints them, for comparing
 * training variants (docs/photos.md, leg 3):
 *   whole   the held-out photos whole (bench:quality's set: photos-whole without near-uniform
 *           wallpapers), through decomposeImage as decompose paints them (least-squares colours,
 *           then shape swaps for a model with a bank, else the layers restacked), restacked (no
 *           swaps), in the forward pass's order, and with the encoder's colours; the share of
 *           layers contributing < 0.1 dB (least-squares colours)
 *   crops   photos-test:512 (crops, whole-photo share 0 and 0.5; and photos-test:512:0.8:0.8,
 *           leg 5's), evaluate()'s PSNR with the encoder's colours and with least-squares colours
 *
 *   node --import tsx scripts/eval-photos.ts MODEL [MODEL ...]
 */
import { useBackend } from '../src/backend/index.js';
import { loadPhotoSources, wholePhotos, photoImages } from '../src/research/data/photos.js';
import { loadModel } from '../src/model/checkpoint.js';
import { decomposeImage } from '../src/model/decomposeImage.js';
import { psnrOf } from '../src/core/psnr.js';
import { evaluate } from '../src/research/eval/reconstruct.js';
import { contributionsFromMasks, nearUselessShare } from '../src/eval/contribution.js';
await useBackend('native');
const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: eval-photos.ts MODEL [MODEL ...]');
const models = files.map((f) => ({ f, ...loadModel(f) }));
const src = await loadPhotoSources('test', Math.max(...models.map((m) => m.model.cfg.size)));
for (const { f, model, ckpt } of models) {
  const S = model.cfg.size;
  const px = S * S * 3;
  const all = wholePhotos(src, S, { skipUniform: true });
  const crops = photoImages(src, { n: 512, size: S, seed: 0x7e57 });
  const crops5 = photoImages(src, { n: 512, size: S, seed: 0x7e57, wholeShare: 0.5 });
  const crops8 = photoImages(src, { n: 512, size: S, seed: 0x7e57, wholeShare: 0.8, stampShare: 0.8 });
  let sLS = 0, sOrder = 0, sEnc = 0, sRe = 0;
  const contributions: number[] = [], inOrder: number[] = [], restacked: number[] = [];
  const bank = model.shapeBank();
  for (let i = 0; i < all.n; i++) {
    const rgb = all.data.subarray(i * px, (i + 1) * px);
    const t = Float32Array.from(rgb, (v) => v / 255);
    const d = decomposeImage(model, rgb);
    sLS += psnrOf(d.canvas, t);
    contributions.push(...contributionsFromMasks(d.steps.map((s) => s.mask), d.doc.layers, t).contributions);
    if (bank) {
      const r = decomposeImage(model, rgb, { shapes: false });
      sRe += psnrOf(r.canvas, t);
      restacked.push(...contributionsFromMasks(r.steps.map((s) => s.mask), r.doc.layers, t).contributions);
    }
    const o = decomposeImage(model, rgb, { reorder: false });
    sOrder += psnrOf(o.canvas, t);
    inOrder.push(...contributionsFromMasks(o.steps.map((s) => s.mask), o.doc.layers, t).contributions);
    sEnc += psnrOf(decomposeImage(model, rgb, { leastSquares: false }).canvas, t);
  }
  const c = evaluate(model, crops), c5 = evaluate(model, crops5), c8 = evaluate(model, crops8);
  const noSwaps = bank ? ` (no swaps, restacked ${(sRe / all.n).toFixed(2)}, ${(100 * nearUselessShare(restacked)).toFixed(1)} %)` : '';
  console.log(`${f} (step ${ckpt.header.step}): whole ${all.n}: LS ${(sLS / all.n).toFixed(2)} near-useless ${(100 * nearUselessShare(contributions)).toFixed(1)} %${noSwaps} (in step order ${(sOrder / all.n).toFixed(2)}, ${(100 * nearUselessShare(inOrder)).toFixed(1)} %) enc ${(sEnc / all.n).toFixed(2)} | crops: enc ${c.psnr.toFixed(2)} LS ${c.psnrLs.toFixed(2)} | crops 0.5 whole: enc ${c5.psnr.toFixed(2)} LS ${c5.psnrLs.toFixed(2)} | crops 0.8 whole, 0.8 objects: enc ${c8.psnr.toFixed(2)} LS ${c8.psnrLs.toFixed(2)}`);
  model.dispose();
}
