/**
 * A sample-quality number for the GAN, computed the same way for every model: KID (src/research/eval/kid.ts,
 * features of the bundled photo model's encoder) of each GAN's n samples against a held-out reference
 * set, beside calibration rows measured against the same reference in the same way:
 *
 *   real (training side)   n images of the training side (photos:n or fashion-mnist) — the floor
 *   blurred                those images, box-blurred 3×3 at 32²
 *   quantised              the first QUANTISED of those images, each reduced to 20 colours
 *                          (src/research/eval/quantize.ts: about a second per image here)
 *   greyscale              those images in grey (a change these features do see; blur and
 *                          quantisation they barely see: src/research/eval/kid.ts)
 *   noise                  n images of uniform noise — the ceiling
 *
 * The calibration rows transform the training-side images, not the reference itself, so that every
 * row (GAN or calibration) is n images none of which is in the reference, and each calibration row
 * differs from the floor only by its transform.
 *
 * GAN samples are drawn as `stratum sample` draws them (BatchNorm on the batch's statistics) in
 * batches of SAMPLE_BATCH, at the GAN's training size, then resized to the feature size.
 * Results: OUT/kid.md, kid.json, kid-samples.png (a column of samples per set).
 */
import { join } from 'node:path';
import * as tf from '../../core/tf.js';
import { subset, type ImageSet } from '../../data/imageSet.js';
import { writeGrid, type Tile } from '../../eval/grid.js';
import { writeFileAtomic } from '../../io/atomicFile.js';
import type { Decomposer } from '../../model/decomposer.js';
import { discardBnUpdates, newCtx } from '../../model/nn.js';
import { loadDataset } from '../data/datasets.js';
import { boxBlur3, greyscale, kid, KID_DEFAULTS, KID_FEATURE_SIZE, kidFeatures, mmd2Unbiased, uniformNoise, type Kid } from '../eval/kid.js';
import { quantizeRgb } from '../eval/quantize.js';
import { loadGan } from '../train/ganTrainer.js';

/** GAN samples drawn at once */
export const SAMPLE_BATCH = 50;
/** most samples per GAN */
export const MAX_KID_SAMPLES = 10000;
/** images of the quantised calibration row (image-q's Wu palette takes about a second per 32² image on this machine) */
export const QUANTISED = 100;
/** samples of each set shown in kid-samples.png */
const SHOWN = 12;

export interface KidRow {
  name: string;
  kind: 'gan' | 'calibration';
  /** GAN rows: the checkpoint and its generator step */
  file?: string;
  step?: number;
  n: number;
  /** KID ×10³: mean and standard deviation over the subsets */
  kid: number;
  std: number;
  /** MMD²_u ×10³ on all n images against the whole reference (one estimate, less noisy) */
  all: number;
}

export interface KidExperiment {
  gans: string[];
  real: string;
  n: number;
  /** the feature network (a reconstruction model) and its file */
  features: Decomposer;
  featuresFile: string;
  out: string;
  seed: number;
  subsets?: number;
  subsetSize?: number;
  log?: (msg: string) => void;
}

/** images of a reference with no count of its own (fashion-mnist-test: its first ones) */
export const REFERENCE_IMAGES = 512;

/**
 * the reference spec's training side: photos-test[:N[:…]] → photos:n[:…], fashion-mnist-test[:DIR]
 * → the first n of fashion-mnist[:DIR]; and how many reference images to keep
 */
export function trainingSideOf(real: string, n: number): { spec: string; limit?: number; refLimit?: number } {
  const [kind, ...rest] = real.split(':');
  if (kind === 'photos-test') return { spec: ['photos', String(n), ...rest.slice(1)].join(':') };
  if (kind === 'fashion-mnist-test') return { spec: ['fashion-mnist', ...rest].join(':'), limit: n, refLimit: REFERENCE_IMAGES };
  throw new Error(`--real ${real}: the reference must be photos-test[:N[:WHOLE[:OBJECTS]]] or fashion-mnist-test[:DIR]`);
}

/** a set with every image reduced to `colours` colours */
function quantised(set: ImageSet, colours = 20): ImageSet {
  const px = set.size * set.size * 3;
  const out = new Uint8Array(set.data.length);
  for (let i = 0; i < set.n; i++) out.set(quantizeRgb(set.data.subarray(i * px, (i + 1) * px), set.size, set.size, colours), i * px);
  return { n: set.n, size: set.size, data: out };
}

/** n samples of a GAN checkpoint as a uint8 set at its training size */
export function ganSamples(file: string, n: number, seed: number): { set: ImageSet; step: number } {
  const { g, critic, step } = loadGan(file);
  try {
    const S = g.cfg.size;
    const data = new Uint8Array(n * S * S * 3);
    for (let b0 = 0, k = 0; b0 < n; b0 += SAMPLE_BATCH, k++) {
      const B = Math.min(SAMPLE_BATCH, n - b0);
      const ctx = newCtx(true);
      const px = tf.tidy(() => g.generate(B, ctx, seed * 7919 + k).canvas.dataSync() as Float32Array);
      discardBnUpdates(ctx);
      for (let j = 0; j < px.length; j++) data[b0 * S * S * 3 + j] = Math.round(255 * Math.min(1, Math.max(0, px[j]!)));
    }
    return { set: { n, size: S, data }, step };
  } finally {
    g.dispose();
    critic.store.dispose();
  }
}

function tilesOf(set: ImageSet, k: number): Tile[] {
  const px = set.size * set.size * 3;
  return Array.from({ length: Math.min(k, set.n) }, (_, i) => ({ pixels: Float32Array.from(set.data.subarray(i * px, (i + 1) * px), (v) => v / 255), width: set.size, height: set.size }));
}

export async function runKid(o: KidExperiment): Promise<{ rows: KidRow[]; markdown: string; picture: string }> {
  const log = o.log ?? (() => {});
  const F = KID_FEATURE_SIZE;
  const opts = { subsets: o.subsets ?? KID_DEFAULTS.subsets, subsetSize: o.subsetSize ?? KID_DEFAULTS.subsetSize, seed: o.seed };
  log(`kid: loading the reference ${o.real} and the training side…`);
  const side = trainingSideOf(o.real, o.n);
  const ref = await loadDataset(o.real, { size: F, seed: o.seed, limit: side.refLimit });
  const train = await loadDataset(side.spec, { size: F, limit: side.limit, seed: o.seed });
  const refF = kidFeatures(o.features, ref);
  const rows: KidRow[] = [];
  const shown: { label: string; set: ImageSet }[] = [{ label: 'held-out', set: ref }];
  const add = (name: string, kind: KidRow['kind'], set: ImageSet, extra: Partial<KidRow> = {}) => {
    const f = kidFeatures(o.features, set);
    const k: Kid = kid(f, refF, opts);
    rows.push({ name, kind, n: set.n, kid: 1e3 * k.mean, std: 1e3 * k.std, all: 1e3 * mmd2Unbiased(f, refF), ...extra });
    log(`kid: ${name}: ${(1e3 * k.mean).toFixed(2)} ± ${(1e3 * k.std).toFixed(2)} (×10³)`);
  };
  for (const file of o.gans) {
    log(`kid: ${o.n} samples of ${file}…`);
    const { set, step } = ganSamples(file, o.n, o.seed);
    const name = `GAN ${file} (step ${step})`;
    add(name, 'gan', set, { file, step });
    shown.push({ label: `step ${step}`, set });
  }
  add(`real: ${side.spec}${side.limit ? ` (first ${side.limit})` : ''} — floor`, 'calibration', train);
  const blurred = boxBlur3(train);
  add('real, box-blurred 3×3', 'calibration', blurred);
  const few = train.n > QUANTISED ? subset(train, Array.from({ length: QUANTISED }, (_, i) => i)) : train;
  const q = quantised(few);
  if (few !== train) add(`real: the first ${few.n} of them — the quantised row's floor`, 'calibration', few);
  add('real, quantised to 20 colours', 'calibration', q);
  add('real, greyscale', 'calibration', greyscale(train));
  add('uniform noise — ceiling', 'calibration', uniformNoise(o.n, F, o.seed));
  shown.push({ label: 'real (training)', set: train }, { label: 'blurred', set: blurred }, { label: '20 colours', set: q });

  const meta = { reference: o.real, referenceN: ref.n, n: o.n, features: `${o.featuresFile} encoder at ${F}² (${o.features.featureDim} features)`, subsets: opts.subsets, subsetSize: Math.min(opts.subsetSize, o.n, ref.n), seed: o.seed };
  const markdown = kidMarkdown(rows, meta);
  writeFileAtomic(join(o.out, 'kid.md'), [new TextEncoder().encode(markdown)]);
  writeFileAtomic(join(o.out, 'kid.json'), [new TextEncoder().encode(JSON.stringify({ ...meta, rows }, null, 1) + '\n')]);
  const cols = shown.map((s) => tilesOf(s.set, SHOWN));
  const picture = join(o.out, 'kid-samples.png');
  await writeGrid(picture, Array.from({ length: SHOWN }, (_, r) => cols.map((c) => c[r] ?? null)), { scale: 3, columnLabels: shown.map((s) => s.label) });
  return { rows, markdown, picture };
}

export function kidMarkdown(rows: KidRow[], m: { reference: string; referenceN: number; n: number; features: string; subsets: number; subsetSize: number }): string {
  const lines = [
    `KID ×10³ against ${m.reference} (${m.referenceN} images); features: ${m.features}; ${m.subsets} subsets of ${m.subsetSize} per side, mean ± standard deviation over the subsets (the same subsets of the reference for every row, so rows compare pairwise); "all": MMD²_u ×10³ of all the set's images against the whole reference. Lower is closer; the unbiased estimator scatters around 0 for one distribution.`,
    '',
    '| set | images | KID ×10³ | all ×10³ |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.n} | ${r.kid.toFixed(2)} ± ${r.std.toFixed(2)} | ${r.all.toFixed(2)} |`),
    '',
  ];
  return lines.join('\n');
}
