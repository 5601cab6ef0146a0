/**
 * Where a GAN's samples stop differing (the photo GAN's mode collapse, docs/results.md): for each
 * layer t of N samples, how far the noise spreads p_t (sd over the samples, mean over its K values),
 * how much the masks differ between samples (per-pixel sd, mean over pixels) and the colours
 * (sd, mean over RGB); then the final canvases' per-pixel sd against the same for N real images. A
 * mask sd far below the canvas's says the shapes are the same in every sample and only the colours
 * change. Per-pixel sd mixes layout with colour, so the last line compares layouts alone: the mean
 * cosine similarity between two images' edge maps (|∇ luminance|), over all pairs, for the samples
 * and for the real images: near 1, every image has its edges in the same places. Sampling as
 * `stratum sample` does (batch statistics).
 *
 *   node --import tsx scripts/gan-diversity.ts data/gan-photos/gan.stratum [N] [REAL_SPEC]
 *   (REAL_SPEC default photos:256, the photo corpus at the GAN's size)
 */
import { existsSync } from 'node:fs';
import { useBackend } from '../src/backend/index.js';
import * as tf from '../src/core/tf.js';
import { batchTensor } from '../src/data/imageSet.js';
import { discardBnUpdates, newCtx } from '../src/model/nn.js';
import { loadDataset } from '../src/research/data/datasets.js';
import { loadGan } from '../src/research/train/ganTrainer.js';

const [file, nArg = '256', real = 'photos:256'] = process.argv.slice(2);
if (!file) throw new Error('usage: gan-diversity.ts GAN.stratum [N] [REAL_SPEC]');
if (!existsSync(file)) throw new Error(`${file}: no such file`);
const n = Number(nArg);
if (!Number.isInteger(n) || n < 2 || n > 4096) throw new Error(`N must be an integer in 2..4096, got '${nArg}'`);
await useBackend('auto');
const { g, critic, step } = loadGan(file);
critic.store.dispose();
/** mean over the trailing values of the sd over the first axis */
const sdOver0 = (x: tf.Tensor) => tf.tidy(() => tf.mean(tf.sqrt(tf.moments(x, 0).variance)).dataSync()[0]!);
console.log(`${file}: step ${step}, ${n} samples, T=${g.cfg.T}, K=${g.cfg.mask.K}, noise ${g.cfg.noise}\n`);
console.log('| layer | p sd | mask sd (per pixel) | mask cover | colour sd | canvas sd (per pixel) |\n|---:|---:|---:|---:|---:|---:|');
const ctx = newCtx(true);
let last = 0;
/** mean cosine similarity over all pairs of the images' edge maps: (|Σ u_i|² − n) / (n(n − 1)) for unit u_i */
const edgeSimilarity = (x: tf.Tensor4D) =>
  tf.tidy(() => {
    const [b, h, w] = x.shape;
    const l = tf.mean(x, 3, true) as tf.Tensor4D;
    const gx = tf.sub(l.slice([0, 0, 1, 0], [b, h - 1, w - 1, 1]), l.slice([0, 0, 0, 0], [b, h - 1, w - 1, 1]));
    const gy = tf.sub(l.slice([0, 1, 0, 0], [b, h - 1, w - 1, 1]), l.slice([0, 0, 0, 0], [b, h - 1, w - 1, 1]));
    const e = tf.sqrt(tf.add(tf.add(tf.square(gx), tf.square(gy)), 1e-12)).reshape([b, -1]);
    const u = tf.div(e, tf.norm(e, 'euclidean', 1, true));
    const s = tf.sum(tf.square(tf.sum(u, 0))).dataSync()[0]!;
    return (s - b) / (b * (b - 1));
  });
let sampleEdges = 0;
tf.tidy(() => {
  const { steps } = g.generate(n, ctx, 1);
  steps.forEach((s, t) => {
    last = sdOver0(s.canvas);
    if (t === steps.length - 1) sampleEdges = edgeSimilarity(s.canvas);
    console.log(`| ${t + 1} | ${sdOver0(s.p).toFixed(2)} | ${sdOver0(s.mask).toFixed(3)} | ${tf.mean(s.mask).dataSync()[0]!.toFixed(2)} | ${sdOver0(s.c).toFixed(3)} | ${last.toFixed(3)} |`);
  });
});
discardBnUpdates(ctx);
const set = await loadDataset(real, { size: g.cfg.size, seed: 0, limit: n });
const realImages = batchTensor(set, Array.from({ length: set.n }, (_, i) => i));
const realSd = sdOver0(realImages);
const realEdges = edgeSimilarity(realImages);
realImages.dispose();
console.log(`\nfinal canvas per-pixel sd over the samples ${last.toFixed(3)}; over ${set.n} real images (${real}) ${realSd.toFixed(3)}`);
console.log(`edge maps, mean cosine similarity between two images: samples ${sampleEdges.toFixed(3)}; real images ${realEdges.toFixed(3)}`);
g.dispose();
