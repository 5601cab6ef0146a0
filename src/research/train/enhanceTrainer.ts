/**
 * Training the enhancer (the paper's Fig. 6, src/research/model/unet.ts) on pairs
 * (Stratum render R → photo P) from the photo corpus:
 *
 *   pairs  each training image P (a `size`² crop) is decomposed by the reconstruction model, as
 *          `stratum decompose` does by default (its forward pass at the model's size, least-squares
 *          colours, shape swaps), and the document rendered at `size`²: R. So R holds what the layers
 *          hold, drawn at the crop's resolution, and P − R is what they lose.
 *          Half the training batches are mirrored left-right.
 *   loss   pix2pix's: ‖E(R) − P‖₁ + λ·(−D(E(R))) with D a patch critic trained by WGAN-GP (γ = 10,
 *          one critic update per step, on P against E(R)); λ = 0 is L1 alone.
 *
 * Checkpoints (kind 'enhance') hold the U-Net, its Adam, the critic and its Adam; a killed run
 * resumes. Every `evalEvery` steps the held-out PSNR of E(R) and of R is logged (both against P).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Adam } from '../../core/adam.js';
import { renderDocument } from '../../core/document.js';
import { psnrFromMse } from '../../core/psnr.js';
import { edgeSharpness } from '../eval/sharpness.js';
import { mulberry32 } from '../../core/random.js';
import * as tf from '../../core/tf.js';
import { batchTensor, type ImageSet } from '../../data/imageSet.js';
import { removeOrphanTempFiles } from '../../io/atomicFile.js';
import { Progress } from '../../io/progress.js';
import { OPTIMISER_PREFIX, readCheckpoint, restoreOptimiser, restoreStore, saveCheckpoint } from '../../model/checkpoint.js';
import type { Decomposer } from '../../model/decomposer.js';
import { decomposePipeline } from '../../pipeline/decompose.js';
import { ssim } from '../eval/ssim.js';
import { plotPanels } from '../eval/plot.js';
import { lockRunFolder } from '../io/runLock.js';
import { checkUNetConfig, UNet, type UNetConfig } from '../model/unet.js';
import { adversaryState, newAdversary, restoreAdversary, type Adversary } from './adversary.js';
import { batchIndices } from './batches.js';
import { MetricsLog, trainingLoop } from './loop.js';
import { optimiseStep } from './step.js';
import { criticLoss, generatorLoss } from './wgan.js';
import { ENHANCE_DEFAULTS, WGAN_DEFAULTS } from '../../config.js';

export const ENHANCER_FILE = 'enhancer.stratum';
export const ENHANCE_METRICS_FILE = 'enhance-metrics.jsonl';
/** the trained enhancer without its training state, to ship */
export const ENHANCER_WEIGHTS_FILE = 'enhancer-weights.stratum';

export interface EnhanceRun {
  out: string;
  data: string;
  net: UNetConfig;
  size: number;
  steps: number;
  batch: number;
  lr: number;
  /** weight of the adversarial term (0: L1 alone, no critic) */
  lambda: number;
  criticWidth: number;
  saveEvery: number;
  evalEvery: number;
  seed: number;
  resume: boolean;
  quiet?: boolean;
}

/** a render set beside its photo set: pairs i = (renders[i], photos[i]) */
export interface Pairs {
  renders: ImageSet;
  photos: ImageSet;
}

interface EnhanceRow {
  step: number;
  l1: number;
  critic?: number;
  /** held-out PSNR of E(R) and of R against P */
  enhanced?: number;
  render?: number;
}

function flipped(x: tf.Tensor4D, flip: boolean): tf.Tensor4D {
  if (!flip) return x;
  const y = tf.reverse(x, 2) as tf.Tensor4D;
  x.dispose();
  return y;
}

/** R for every image of the set: its default decomposition rendered at the set's size (uint8) */
export function renderPairs(model: Decomposer, photos: ImageSet, label = 'pairs', quiet = false): Pairs {
  const S = photos.size;
  const px = S * S * 3;
  const out = new Uint8Array(photos.n * px);
  const bar = quiet ? null : new Progress(photos.n, 0, label);
  for (let i = 0; i < photos.n; i++) {
    const rgb = photos.data.subarray(i * px, (i + 1) * px);
    const { doc } = decomposePipeline(model, { width: S, height: S, rgb });
    const r = renderDocument(doc, S, S).rgb;
    for (let j = 0; j < px; j++) out[i * px + j] = Math.round(Math.min(1, Math.max(0, r[j]!)) * 255);
    if (i % 16 === 15 || i === photos.n - 1) bar?.update(i + 1, '');
  }
  bar?.finish();
  return { renders: { n: photos.n, size: S, data: out }, photos };
}

/** one side's numbers against the photos (see scoreEnhancer) */
export interface SideScore {
  /** PSNR of the mean squared error over every pixel of the set (per-image PSNR is unbounded on flat crops) */
  psnr: number;
  /** median over the images of their PSNR */
  medianPsnr: number;
  ssim: number;
  /** mean edge sharpness (src/research/eval/sharpness.ts), grey levels per pixel */
  sharpness: number;
}

export interface EnhanceScore {
  render: SideScore;
  enhanced: SideScore;
  /** the photos' own edge sharpness */
  photoSharpness: number;
  /** images where E(R) is closer to the photo than R (squared error) */
  better: number;
  n: number;
}

/**
 * Held-out numbers of an enhancer on pairs (the first `limit`): the plain render R and E(R), each
 * against the photo. The PSNR is pooled over the set: about a tenth of the corpus's 64² crops are
 * flat enough that R is exact (per-image PSNR of 60 to 160 dB), and a mean of per-image PSNR would be
 * ruled by how exactly those stay flat; the median per image is given beside it.
 */
export function scoreEnhancer(net: UNet, pairs: Pairs, limit = pairs.photos.n, full = true): EnhanceScore {
  const n = Math.min(limit, pairs.photos.n);
  const S = pairs.photos.size;
  const px = S * S * 3;
  const side = () => ({ se: 0, each: [] as number[], ssim: 0, sharp: 0 });
  const acc = { r: side(), e: side(), photoSharp: 0, better: 0 };
  for (let a = 0; a < n; a += 32) {
    const idx = Array.from({ length: Math.min(32, n - a) }, (_, i) => a + i);
    const r = batchTensor(pairs.renders, idx);
    const e = tf.tidy(() => net.enhance(r).dataSync() as Float32Array);
    const rv = r.dataSync() as Float32Array;
    r.dispose();
    const p = batchTensor(pairs.photos, idx);
    const pv = p.dataSync() as Float32Array;
    p.dispose();
    idx.forEach((_, k) => {
      const sl = (v: Float32Array) => v.subarray(k * px, (k + 1) * px);
      const photo = sl(pv);
      const errs = ([[acc.r, sl(rv)], [acc.e, sl(e)]] as const).map(([s, img]) => {
        let se = 0;
        for (let j = 0; j < px; j++) se += (img[j]! - photo[j]!) ** 2;
        s.se += se;
        s.each.push(psnrFromMse(se / px));
        if (full) {
          s.ssim += ssim(img, photo, S, S);
          s.sharp += edgeSharpness(img, S, S);
        }
        return se;
      });
      if (errs[1]! < errs[0]!) acc.better++;
      if (full) acc.photoSharp += edgeSharpness(photo, S, S);
    });
  }
  const done = (s: ReturnType<typeof side>): SideScore => ({ psnr: psnrFromMse(s.se / (n * px)), medianPsnr: [...s.each].sort((x, y) => x - y)[n >> 1]!, ssim: s.ssim / n, sharpness: s.sharp / n });
  return { render: done(acc.r), enhanced: done(acc.e), photoSharpness: acc.photoSharp / n, better: acc.better, n };
}

export function saveEnhancer(path: string, net: UNet, opt: Adam, adv: Adversary | null, step: number, data: string, info: Record<string, unknown> = {}): void {
  const a = adv ? adversaryState(adv) : { extra: [], info: {} };
  saveCheckpoint(path, net, { kind: 'enhance', step, opt, data, info: { ...info, ...a.info }, extra: a.extra });
}

/** the enhancer alone, no optimiser or critic: the file `stratum enhance` needs (models/enhancer.stratum) */
export function saveEnhancerWeights(path: string, net: UNet, step: number, data: string, info: Record<string, unknown>): void {
  saveCheckpoint(path, net, { kind: 'enhance', step, data, info, weightsOnly: true });
}

/** an enhancer (and, for training, its optimiser state and critic) from a checkpoint of kind 'enhance' */
export function loadEnhancer(path: string, opt?: Adam, trainingSize?: number, lr?: number): { net: UNet; adv: Adversary | null; step: number; info: Record<string, unknown> } {
  const ck = readCheckpoint(path);
  if (ck.header.kind !== 'enhance') throw new Error(`${path}: not an enhancer (a ${ck.header.kind ?? 'reconstruction model'} checkpoint)`);
  const net = new UNet(checkUNetConfig(ck.header.model, path));
  restoreStore(net.store, ck.tensors, path);
  if (opt) restoreOptimiser(opt, ck.tensors, OPTIMISER_PREFIX, ck.header.adamStep);
  const adv = trainingSize ? restoreAdversary(ck, path, 0, ENHANCE_DEFAULTS.criticWidth, lr, trainingSize) : null;
  return { net, adv, step: ck.header.step, info: ck.header.info ?? {} };
}

export async function trainEnhancer(run: EnhanceRun, train: Pairs, test: Pairs): Promise<UNet> {
  mkdirSync(run.out, { recursive: true });
  const unlock = lockRunFolder(run.out);
  try {
    removeOrphanTempFiles(run.out);
    return await trainLocked(run, train, test);
  } finally {
    unlock();
  }
}

async function trainLocked(run: EnhanceRun, train: Pairs, test: Pairs): Promise<UNet> {
  const path = join(run.out, ENHANCER_FILE);
  const opt = new Adam({ lr: run.lr, beta1: ENHANCE_DEFAULTS.beta1, beta2: 0.999, eps: 1e-8 });
  let net: UNet;
  let adv: Adversary | null = null;
  let start = 0;
  if (run.resume && existsSync(path)) {
    ({ net, adv, step: start } = loadEnhancer(path, opt, run.size, run.lr));
    if (run.lambda > 0 && !adv) adv = newAdversary(run.size, run.criticWidth, run.seed + 1, run.lr);
  } else {
    if (existsSync(path)) throw new Error(`${path} exists: pass --resume to continue it or choose another -o/--output folder`);
    net = new UNet(run.net, run.seed);
    if (run.lambda > 0) adv = newAdversary(run.size, run.criticWidth, run.seed + 1, run.lr);
  }
  const metrics = new MetricsLog<EnhanceRow>(join(run.out, ENHANCE_METRICS_FILE), start);
  const evalN = Math.min(ENHANCE_DEFAULTS.evalImages, test.photos.n);
  let last = '';
  await trainingLoop({
    steps: run.steps,
    start,
    label: 'enhance ',
    quiet: run.quiet,
    saveEvery: run.saveEvery,
    step: (step) => {
      const idx = batchIndices(train.photos.n, run.batch, run.seed, step);
      // half the batches mirrored left-right, render and photo alike (decided by seed and step, so a resumed run sees the same)
      const flip = mulberry32(run.seed * 1_000_003 + step)() < 0.5;
      const r = flipped(batchTensor(train.renders, idx), flip);
      const p = flipped(batchTensor(train.photos, idx), flip);
      let dLoss: number | undefined;
      if (adv) {
        const fake = tf.tidy(() => net.enhance(r));
        dLoss = optimiseStep(adv.critic.store, adv.opt, () => criticLoss(adv!.critic, p, fake, WGAN_DEFAULTS.gamma, run.seed * 100_003 + step)).loss;
        fake.dispose();
      }
      let l1 = 0;
      optimiseStep(net.store, opt, () => {
        const e = net.enhance(r);
        const rec = tf.mean(tf.abs(e.sub(p))) as tf.Scalar;
        l1 = (rec.dataSync() as Float32Array)[0]!;
        return adv && run.lambda > 0 ? rec.add(generatorLoss(adv.critic, e).mul(run.lambda)) : rec;
      });
      tf.dispose([r, p]);
      const row: EnhanceRow = { step, l1, critic: dLoss };
      if (step % run.evalEvery === 0 || step === run.steps) {
        const s = scoreEnhancer(net, test, evalN, false);
        row.enhanced = s.enhanced.psnr;
        row.render = s.render.psnr;
        last = ` held-out ${s.enhanced.psnr.toFixed(2)} dB (render ${s.render.psnr.toFixed(2)})`;
      }
      metrics.add(row);
      return `L1 ${l1.toFixed(4)}${dLoss !== undefined ? ` critic ${dLoss.toFixed(3)}` : ''}${last}`;
    },
    save: async (step) => {
      metrics.flush();
      saveEnhancer(path, net, opt, adv, step, run.data, { size: run.size, lambda: run.lambda });
      await plotPanels(join(run.out, 'enhance-curves.png'), [
        { title: 'training L1', yLabel: 'L1', series: [{ name: 'L1', points: metrics.series('l1'), colour: '#1f77b4' }] },
        {
          title: `held-out PSNR (first ${evalN} pairs)`,
          yLabel: 'dB',
          series: [
            { name: 'enhanced E(R)', points: metrics.series('enhanced'), colour: '#d62728' },
            { name: 'render R', points: metrics.series('render'), colour: '#7f7f7f' },
          ],
        },
      ]);
    },
  });
  opt.dispose();
  adv?.opt.dispose();
  adv?.critic.dispose();
  return net;
}
