/**
 * Why Table 2's MLP-xy baseline dies on Fashion-MNIST under the paper's L1 loss, and lives under MSE.
 * MLP-xy (src/research/model/baselines.ts) starts almost flat: z enters every pixel alike, and the
 * GroupNorm over the image divides the little spatial signal by z's larger spread. L1's optimum for
 * a flat image is its median pixel, which on Fashion-MNIST is the black background, so every logit
 * is driven down together until the sigmoid saturates and the gradient is gone. MSE's optimum is the
 * mean, which keeps the picture grey long enough for the spatial weights to grow.
 *
 * Trains the row's network on each loss from the same seed and prints, every 10 steps, the held-out
 * mean output, its spatial standard deviation (0: a flat image) and its spread across images (0: the
 * same image for every input). Fashion-MNIST's own numbers are printed first.
 *
 *   node --import tsx scripts/mlpxy-collapse.ts [STEPS=100] [LR=0.001]
 */
import { TRAIN_DEFAULTS } from '../src/config.js';
import { Adam } from '../src/core/adam.js';
import { psnr } from '../src/core/psnr.js';
import * as tf from '../src/core/tf.js';
import { useBackend } from '../src/backend/index.js';
import { batchTensor } from '../src/data/imageSet.js';
import { newCtx } from '../src/model/nn.js';
import { loadDataset } from '../src/research/data/datasets.js';
import { BaselineAE } from '../src/research/model/baselines.js';
import { batchIndices } from '../src/research/train/batches.js';
import { l1, mse, optimiseStep } from '../src/research/train/step.js';

const steps = Number(process.argv[2] ?? 100);
const lr = Number(process.argv[3] ?? TRAIN_DEFAULTS.lr);
if (!(Number.isInteger(steps) && steps > 0 && steps <= 10000) || !(lr > 0 && lr < 1)) {
  console.error('usage: mlpxy-collapse.ts [STEPS (1..10000)] [LR (0..1)]');
  process.exit(2);
}
await useBackend();
const set = await loadDataset('fashion-mnist', { size: 32, limit: 4000, seed: 0 });
const held = batchTensor(set, batchIndices(set.n, 64, 1, 999));

/** mean, spatial sd (averaged over images and channels) and sd of the per-image means */
const stats = (y: tf.Tensor4D) =>
  tf.tidy(() => [y.mean(), tf.moments(y, [1, 2]).variance.sqrt().mean(), tf.moments(y.mean([1, 2]), [0]).variance.sqrt().mean()].map((t) => t.dataSync()[0]!));
const show = (label: string, [mean, spatial, across]: number[]) => console.log(`${label.padEnd(16)} mean ${mean!.toFixed(3)}  spatial sd ${spatial!.toFixed(4)}  sd across images ${across!.toFixed(4)}`);
show('Fashion-MNIST', stats(held));

for (const [name, loss] of [['L1', l1], ['MSE', mse]] as const) {
  const m = new BaselineAE({ kind: 'mlpxy', size: 32, latent: 130, encoder: 'small', smallChannels: [32, 64, 64, 64], hidden: 512 }, 0);
  const opt = new Adam({ ...TRAIN_DEFAULTS, lr });
  for (let step = 1; step <= steps; step++) {
    const x = batchTensor(set, batchIndices(set.n, 32, 0, step));
    optimiseStep(m.store, opt, (ctx) => loss(m.forward(x, ctx), x), TRAIN_DEFAULTS.bnMomentum);
    x.dispose();
    if (step % 10 === 0 || step === steps) {
      const y = tf.tidy(() => m.forward(held, newCtx(false)));
      const db = psnr(y, held); // the mean of per-image PSNRs, as the tables report
      show(`${name} step ${step}`, stats(y));
      console.log(`${''.padEnd(16)} held-out PSNR ${db.toFixed(2)} dB`);
      y.dispose();
    }
  }
  m.dispose();
  opt.dispose();
}
