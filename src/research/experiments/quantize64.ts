/**
 * The paper's Fig. 8: a 64², 20-mask model against 20-colour quantisation (image-q's Wu palette,
 * nearest colour, no dithering: src/eval/quantize.ts) on the same held-out images. SPIRAL, the
 * paper's third column, is not available here.
 *
 * The model: a file given by the caller, or one trained here by `stratum train`'s own loop
 * (src/train/trainer.ts) in OUT/quantize64-model (checkpoint.stratum, metrics, curves), resumed from
 * its checkpoint when the folder holds one, so a killed run continues and a finished one is reused.
 * Each held-out image is decomposed as `stratum decompose` paints it at the model's size (forward
 * pass, least-squares colours for its masks). Results: OUT/quantize64.md, .json, .png (target |
 * quantised | model).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modelConfig, QUANTIZE64_DEFAULTS, TRAIN_DEFAULTS, type EncoderKind } from '../../config.js';
import { psnrOf } from '../../core/psnr.js';
import type { ImageSet } from '../../data/imageSet.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import { quantizeRgb } from '../eval/quantize.js';
import { ssim } from '../eval/ssim.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import { loadModel, readCheckpoint } from '../../model/checkpoint.js';
import type { Decomposer } from '../../model/decomposer.js';
import { decomposeImage } from '../../model/decomposeImage.js';
import { CHECKPOINT_FILE, train } from '../train/trainer.js';
import { edgeSharpness } from '../eval/sharpness.js';

export { QUANTIZE64_DEFAULTS };

export const QUANTIZE64_MODEL_DIR = 'quantize64-model';

export interface Quantize64Options {
  data: string;
  train: ImageSet;
  test: ImageSet;
  /** use this model file instead of training one */
  modelFile?: string;
  T: number;
  steps: number;
  batch: number;
  encoder: EncoderKind;
  colours: number;
  out: string;
  seed: number;
  show: number;
  log?: (msg: string) => void;
}

export interface Quantize64Row {
  method: string;
  psnr: number;
  ssim: number;
  /** mean edge sharpness (p99 luminance gradient, grey levels per pixel) */
  sharpness: number;
  msPerImage: number;
}

/** the model file, or the one trained (or resumed, or reused) in OUT/quantize64-model */
export async function quantize64Model(o: Quantize64Options): Promise<{ model: Decomposer; source: string; step: number }> {
  if (o.modelFile) {
    const { model, ckpt } = loadModel(o.modelFile);
    if (model.cfg.size !== o.test.size) throw new Error(`${o.modelFile}: a ${model.cfg.size}² model, the images are ${o.test.size}² (--size)`);
    return { model, source: o.modelFile, step: ckpt.header.step };
  }
  const dir = join(o.out, QUANTIZE64_MODEL_DIR);
  const resume = existsSync(join(dir, CHECKPOINT_FILE));
  o.log?.(`quantize64: ${resume ? 'resuming' : 'training'} a ${o.test.size}², T=${o.T} model in ${dir} (${o.steps} steps of batch ${o.batch})…`);
  const cfg = { ...TRAIN_DEFAULTS, steps: o.steps, batch: o.batch, seed: o.seed, clip: 1, evalEvery: o.steps, saveEvery: Math.min(50, o.steps), holdout: o.test.n };
  const { model } = await train({ out: dir, data: o.data, model: modelConfig({ T: o.T, size: o.test.size, encoder: o.encoder, stopCanvasGrad: true }), train: cfg, resume, quiet: !o.log }, { train: o.train, test: o.test });
  // a checkpoint already past --steps is used as it is (training never goes back)
  const step = readCheckpoint(join(dir, CHECKPOINT_FILE)).header.step;
  if (step > o.steps) o.log?.(`quantize64: the model in ${dir} is at step ${step}, past --steps ${o.steps}; used as it is`);
  return { model, source: join(dir, CHECKPOINT_FILE), step };
}

export async function runQuantize64(o: Quantize64Options): Promise<{ rows: Quantize64Row[]; markdown: string; picture: string; source: string }> {
  const { model, source, step } = await quantize64Model(o);
  const S = o.test.size;
  const px = S * S * 3;
  const shown: Tile[][] = [];
  const acc = { quant: { p: 0, s: 0, e: 0, ms: 0 }, model: { p: 0, s: 0, e: 0, ms: 0 }, target: { e: 0 } };
  try {
    for (let i = 0; i < o.test.n; i++) {
      const rgb = o.test.data.subarray(i * px, (i + 1) * px);
      const a = Float32Array.from(rgb, (v) => v / 255);
      let t = performance.now();
      const q = Float32Array.from(quantizeRgb(rgb, S, S, o.colours), (v) => v / 255);
      acc.quant.ms += performance.now() - t;
      t = performance.now();
      const { canvas } = decomposeImage(model, rgb, {});
      acc.model.ms += performance.now() - t;
      for (const [k, b] of [['quant', q], ['model', canvas]] as const) {
        acc[k].p += psnrOf(a, b);
        acc[k].s += ssim(a, b, S, S);
        acc[k].e += edgeSharpness(b, S, S);
      }
      acc.target.e += edgeSharpness(a, S, S);
      if (i < o.show) shown.push([a, q, canvas].map((pixels) => ({ pixels, width: S, height: S })));
    }
  } finally {
    model.dispose();
  }
  const n = o.test.n;
  const rows: Quantize64Row[] = [
    { method: `${o.colours}-colour quantisation`, psnr: acc.quant.p / n, ssim: acc.quant.s / n, sharpness: acc.quant.e / n, msPerImage: acc.quant.ms / n },
    { method: `Stratum T=${model.cfg.T} at ${S}² (${o.modelFile ? source : `${step} training steps`})`, psnr: acc.model.p / n, ssim: acc.model.s / n, sharpness: acc.model.e / n, msPerImage: acc.model.ms / n },
  ];
  const head = `Data: \`${o.data}\` held out, ${n} images at ${S}²; model: ${source}. Sharpness: p99 of the luminance gradient per pixel (grey levels), the targets' ${(acc.target.e / n).toFixed(1)}.\n\n| method | PSNR (dB) | SSIM | sharpness | ms per image |\n|---|---|---|---|---|\n`;
  const markdown = head + rows.map((r) => `| ${r.method} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(3)} | ${r.sharpness.toFixed(1)} | ${r.msPerImage.toFixed(1)} |`).join('\n') + '\n';
  writeFileAtomic(join(o.out, 'quantize64.md'), [new TextEncoder().encode(markdown)]);
  writeFileAtomic(join(o.out, 'quantize64.json'), [new TextEncoder().encode(JSON.stringify({ data: o.data, size: S, images: n, model: source, steps: step, targetSharpness: acc.target.e / n, rows }, null, 1) + '\n')]);
  const picture = join(o.out, 'quantize64.png');
  await writeGrid(picture, shown, { scale: 2, gap: 2, columnLabels: ['target', `${o.colours} colours`, `Stratum T=${model.cfg.T}`] });
  return { rows, markdown, picture, source };
}
