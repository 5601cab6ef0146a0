/**
 * The paper's Fig. 9: reconstruction trained with L1 + λ·WGAN-GP (a patch critic, γ = 10, one critic
 * update per model update: src/train/trainer.ts adversarialStep, what `stratum train --adv-lambda`
 * runs) for increasing λ, at T = 10 and T = 20 masks. Every (T, λ) row trains a fresh model from the
 * same seed for the same steps on the same batches; λ = 0 is the plain L1 step of `stratum train`.
 *
 * Measured on the held-out images with the encoder's colours (BatchNorm calibrated as in the tables):
 *   PSNR, SSIM, and sharpness = the mean over images of the edge sharpness of the reconstruction
 *   (src/research/eval/sharpness.ts edgeSharpness: 99th percentile of the luminance gradient per pixel, in
 *   grey levels, the number `experiment vectorize` reports), also given relative to the targets' own.
 *
 * Scale of λ: the critic is held to gradients of norm ≈ 1 per image by the penalty, while the L1 term's
 * gradient per image has norm 1/√(3·S²) (55× smaller at 32²). So λ ≈ 0.02 makes the two terms pull
 * about equally at 32², λ = 0.1 lets the critic dominate and λ = 1 leaves L1 a small correction.
 *
 * Finished rows are cached in OUT/adversarial-rows.json (a rerun resumes); results in
 * OUT/adversarial.md, OUT/adversarial.json and OUT/adversarial.png (targets, then every row's
 * reconstruction of the same held-out images).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADVERSARIAL_DEFAULTS, CALIBRATION_BATCHES, modelConfig, TRAIN_DEFAULTS, type EncoderKind, type TrainConfig } from '../../config.js';
import { Adam } from '../../core/adam.js';
import { batchTensor, range, type ImageSet } from '../../data/imageSet.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { Decomposer } from '../../model/decomposer.js';
import { newCtx } from '../../model/nn.js';
import { disposeAdversary, newAdversary } from '../train/adversary.js';
import { batchIndices } from '../train/batches.js';
import { calibrateBatchNorm } from '../train/calibrate.js';
import { trainingLoop } from '../train/loop.js';
import { trainStep } from '../train/step.js';
import { adversarialStep } from '../train/trainer.js';
import { edgeSharpness } from '../eval/sharpness.js';
import { reconstructAll, scores } from './tables.js';

export { ADVERSARIAL_DEFAULTS };

export interface AdversarialOptions {
  data: string;
  train: ImageSet;
  test: ImageSet;
  steps: number;
  batch: number;
  lambdas: number[];
  Ts: number[];
  encoder: EncoderKind;
  criticWidth: number;
  out: string;
  seed: number;
  show: number;
  log?: (msg: string) => void;
}

export interface AdversarialRow {
  T: number;
  lambda: number;
  steps: number;
  psnr: number;
  ssim: number;
  /** mean edge sharpness of the reconstructions (grey levels per pixel) */
  sharpness: number;
  /** the same of the targets */
  targetSharpness: number;
  /** sharpness / targetSharpness */
  sharpnessRatio: number;
  /** last training step's L1 (with the encoder's colours) */
  l1: number;
  secPerStep: number;
}

/** the refusals of `experiment adversarial`'s flags, one line naming the flag (before any folder is made) */
export function parseLambdas(v: string): number[] {
  const parts = String(v).split(',').map((s) => s.trim());
  const out = parts.map((s) => (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : NaN));
  if (!parts.length || out.some((x) => !Number.isFinite(x) || x < 0 || x > 1000)) throw new Error(`--lambdas must be comma-separated numbers in [0, 1000], got '${v}'`);
  if (new Set(out).size !== out.length) throw new Error(`--lambdas lists a value twice: '${v}'`);
  return out;
}

export function parseTs(v: string): number[] {
  const parts = String(v).split(',').map((s) => s.trim());
  const out = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (!parts.length || out.some((x) => !Number.isInteger(x) || x < 1 || x > 64)) throw new Error(`--T must be comma-separated integers in [1, 64], got '${v}'`);
  if (new Set(out).size !== out.length) throw new Error(`--T lists a value twice: '${v}'`);
  return out;
}

/** the critic is a patch critic of log2(S) − 2 ≥ 2 convolutions: power-of-two sizes ≥ 16 */
export function checkAdversarialSize(size: number): void {
  if (size < 16 || 2 ** Math.round(Math.log2(size)) !== size) throw new Error(`--size ${size}: the patch critic needs a power of two ≥ 16`);
}

function cacheKey(T: number, lambda: number, o: AdversarialOptions): string {
  return `T=${T}|lambda=${lambda}|${o.data}|${o.train.size}|${o.steps}|${o.encoder}|${o.batch}|${o.seed}|${o.test.n}|critic=${lambda > 0 ? o.criticWidth : '-'}`;
}

function meanSharpness(rgb: Float32Array, n: number, S: number): number {
  const px = S * S * 3;
  let s = 0;
  for (let i = 0; i < n; i++) s += edgeSharpness(rgb.subarray(i * px, (i + 1) * px), S, S);
  return s / Math.max(1, n);
}

/** train one (T, λ) row and measure it on the held-out images */
export async function trainRow(T: number, lambda: number, o: AdversarialOptions): Promise<{ row: AdversarialRow; rec: Float32Array }> {
  const S = o.train.size;
  const cfg: TrainConfig = { ...TRAIN_DEFAULTS, batch: o.batch, steps: o.steps, seed: o.seed, advLambda: lambda, criticWidth: o.criticWidth };
  const model = new Decomposer(modelConfig({ T, size: S, encoder: o.encoder }), o.seed);
  const opt = new Adam({ ...cfg });
  const adv = lambda > 0 ? newAdversary(S, o.criticWidth, o.seed + 7) : null;
  let last = NaN;
  const t0 = Date.now();
  try {
    await trainingLoop({
      steps: o.steps,
      label: `T=${T} λ=${lambda} `,
      quiet: !o.log,
      step: (step) => {
        const x = batchTensor(o.train, batchIndices(o.train.n, o.batch, o.seed, step));
        try {
          last = (adv ? adversarialStep(model, opt, adv, x, cfg) : trainStep(model, opt, x, cfg.bnMomentum)).loss;
        } finally {
          x.dispose();
        }
        return `L1 ${last.toFixed(4)}`;
      },
    });
    const secPerStep = (Date.now() - t0) / 1000 / Math.max(1, o.steps);
    calibrateBatchNorm(model, o.train, CALIBRATION_BATCHES, o.batch);
    const rec = reconstructAll((x) => model.forward(x, newCtx(false)).canvas, o.test);
    const sc = scores(rec, o.test);
    const sharpness = meanSharpness(rec, o.test.n, S);
    const targetSharpness = meanSharpness(Float32Array.from(o.test.data, (v) => v / 255), o.test.n, S);
    return { row: { T, lambda, steps: o.steps, psnr: sc.psnr, ssim: sc.ssim, sharpness, targetSharpness, sharpnessRatio: sharpness / Math.max(1e-9, targetSharpness), l1: last, secPerStep }, rec };
  } finally {
    opt.dispose();
    disposeAdversary(adv);
    model.dispose();
  }
}

export function adversarialMarkdown(rows: AdversarialRow[], o: { data: string; steps: number; batch: number; encoder: string; testN: number; size: number }): string {
  const head = `Data: \`${o.data}\` at ${o.size}², ${o.testN} held-out images, ${o.encoder} encoder, ${o.steps} training steps of batch ${o.batch} per row, L1 + λ·WGAN-GP (patch critic, γ = 10).\n\n| T | λ | PSNR (dB) | SSIM | sharpness (p99 \\|∇L\\|) | sharpness / target's | last L1 | s/step |\n|---|---|---|---|---|---|---|---|\n`;
  return head + rows.map((r) => `| ${r.T} | ${r.lambda} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(3)} | ${r.sharpness.toFixed(1)} | ${r.sharpnessRatio.toFixed(2)} | ${r.l1.toFixed(4)} | ${r.secPerStep.toFixed(2)} |`).join('\n') + '\n';
}

export async function runAdversarial(o: AdversarialOptions): Promise<AdversarialRow[]> {
  checkAdversarialSize(o.train.size);
  mkdirSync(o.out, { recursive: true });
  const cachePath = join(o.out, 'adversarial-rows.json');
  const cache: Record<string, { row: AdversarialRow; rec: number[] }> = existsSync(cachePath) ? JSON.parse(readFileSync(cachePath, 'utf8')) : {};
  const S = o.test.size;
  const shown = Math.min(o.show, o.test.n);
  const px = S * S * 3;
  const rows: AdversarialRow[] = [];
  const columns: Float32Array[] = [];
  for (const T of o.Ts) {
    for (const lambda of o.lambdas) {
      const key = cacheKey(T, lambda, o);
      let hit = cache[key];
      if (!hit) {
        o.log?.(`adversarial: T=${T}, λ=${lambda} (${o.steps} steps)…`);
        const { row, rec } = await trainRow(T, lambda, o);
        hit = { row, rec: Array.from(rec.subarray(0, shown * px)) };
        cache[key] = hit;
        writeFileAtomic(cachePath, [new TextEncoder().encode(JSON.stringify(cache))]);
        o.log?.(`adversarial: T=${T}, λ=${lambda}: PSNR ${row.psnr.toFixed(2)} dB, sharpness ${row.sharpness.toFixed(1)} (${row.sharpnessRatio.toFixed(2)} of the targets')`);
      }
      rows.push(hit.row);
      columns.push(Float32Array.from(hit.rec));
    }
  }
  const meta = { data: o.data, steps: o.steps, batch: o.batch, encoder: o.encoder, testN: o.test.n, size: S };
  writeFileAtomic(join(o.out, 'adversarial.md'), [new TextEncoder().encode(adversarialMarkdown(rows, meta))]);
  writeFileAtomic(join(o.out, 'adversarial.json'), [new TextEncoder().encode(JSON.stringify({ ...meta, rows }, null, 1) + '\n')]);
  const grid: Tile[][] = range(0, shown).map((i) => [
    { pixels: Float32Array.from(o.test.data.subarray(i * px, (i + 1) * px), (v) => v / 255), width: S, height: S },
    ...columns.map((c) => ({ pixels: c.slice(i * px, (i + 1) * px), width: S, height: S })),
  ]);
  await writeGrid(join(o.out, 'adversarial.png'), grid, { scale: S <= 32 ? 3 : 1, gap: 2, columnLabels: ['target', ...rows.map((r) => `T${r.T} λ=${r.lambda}`)] });
  return rows;
}
