/**
 * Why ours with the paper's ResNet-18 encoder spends its first ~300 steps on Fashion-MNIST drawing
 * nothing (held-out 9.36 dB at step 250, training L1 ≈ 0.22 = an all-black canvas), where the small
 * encoder is at 16.6 dB by then. Every mask starts as a soft wash over the whole image, and how
 * flat depends on the encoder: the mask network's per-image GroupNorm divides the (x, y) part of its
 * first layer by the spread of p across channels, and ResNet-18's features give p 3.7× the spread of
 * the small encoder's (rms 0.87 against 0.24; masks' spatial sd 0.047 against 0.087). L1's best
 * uniform wash on a black-background set is none at all, so within 5 steps ResNet-18's masks are
 * switched off (mean 0.035) and the colours go dark; the masks' gradient,
 * (c_t − I_{t−1})·sign(I_T − target), goes with them. The small encoder's masks keep their shapes
 * (spatial sd 0.3–0.4) and learn. (The numbers: docs/results.md, Fashion-MNIST on ResNet-18.)
 *
 * Trains Decomposer T=10 K=10 (canvas detached, as the tables) with each encoder from the same seed
 * and prints every 5 steps the training L1, the mean colour of the T layers, the mean mask value,
 * the masks' spatial sd (0: a uniform wash), the root mean square of p and the gradient norm.
 *
 *   node --import tsx scripts/black-trap.ts [STEPS=60] [ENCODERS=small,resnet18] [LR=0.001]
 *
 * (an encoder named ENC:group has GroupNorm in place of BatchNorm, as in the authors' code)
 */
import { modelConfig, TRAIN_DEFAULTS, type EncoderKind, type EncoderNorm } from '../src/config.js';
import { Adam } from '../src/core/adam.js';
import * as tf from '../src/core/tf.js';
import { useBackend } from '../src/backend/index.js';
import { batchTensor } from '../src/data/imageSet.js';
import { Decomposer } from '../src/model/decomposer.js';
import { newCtx } from '../src/model/nn.js';
import { loadDataset } from '../src/research/data/datasets.js';
import { batchIndices } from '../src/research/train/batches.js';
import { l1, optimiseStep } from '../src/research/train/step.js';

const steps = Number(process.argv[2] ?? 60);
const encoders = (process.argv[3] ?? 'small,resnet18').split(',');
const lr = Number(process.argv[4] ?? TRAIN_DEFAULTS.lr);
if (!(Number.isInteger(steps) && steps > 0 && steps <= 5000) || !encoders.every((e) => /^(small|resnet18)(:group)?$/.test(e)) || !(lr > 0 && lr < 1)) {
  console.error('usage: black-trap.ts [STEPS (1..5000)] [ENCODERS: small,resnet18,resnet18:group] [LR (0..1)]');
  process.exit(2);
}
await useBackend();
const set = await loadDataset('fashion-mnist', { size: 32, limit: 4000, seed: 0 });
const probe = batchTensor(set, batchIndices(set.n, 32, 1, 999));

for (const encoder of encoders) {
  const [kind, norm] = encoder.split(':') as [EncoderKind, EncoderNorm | undefined];
  const model = new Decomposer(modelConfig({ T: 10, size: 32, encoder: kind, encoderNorm: norm ?? 'batch', stopCanvasGrad: true, mask: { K: 10 } }), 0);
  const opt = new Adam({ ...TRAIN_DEFAULTS, lr });
  const stats = (): number[] =>
    tf.tidy(() => {
      const { canvas, steps: layers } = model.forward(probe, newCtx(true), true);
      const c = tf.stack(layers.map((s) => s.c)), m = tf.stack(layers.map((s) => s.mask)), p = tf.stack(layers.map((s) => s.p));
      const spatial = tf.moments(m, [2, 3]).variance.sqrt().mean();
      return [l1(canvas, probe), c.mean(), m.mean(), spatial, p.square().mean().sqrt()].map((t) => t.dataSync()[0]!);
    });
  console.log(`${encoder} encoder, lr ${lr} (step: training-mode L1 on a fixed batch / mean colour / mean mask / mask spatial sd / rms of p / |g|)`);
  const show = (step: number, g: number) => console.log(`  ${String(step).padStart(4)}  ${stats().map((v) => v.toFixed(4)).join(' / ')} / ${g.toFixed(3)}`);
  show(0, 0);
  for (let step = 1; step <= steps; step++) {
    const x = batchTensor(set, batchIndices(set.n, 32, 0, step));
    const { gradNorm } = optimiseStep(model.store, opt, (ctx) => l1(model.forward(x, ctx).canvas, x), TRAIN_DEFAULTS.bnMomentum);
    x.dispose();
    if (step % 5 === 0 || step === steps) show(step, gradNorm);
  }
  model.dispose();
  opt.dispose();
}
