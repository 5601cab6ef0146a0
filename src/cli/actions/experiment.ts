/** stratum experiment: what the command does (its flags and help: src/cli/commands/experiment.ts, which imports this file only when the command runs) */
import { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { transferTable } from '../../research/experiments/transfer.js';
import { readImageFrame } from '../../data/images.js';
import { jitterFigure, vectorizeFigure } from '../../research/experiments/figures.js';
import { loadModel, readCheckpoint } from '../../model/checkpoint.js';
import { decomposeFrame } from '../../model/decomposeFrame.js';
import { modelConfig, type EncoderKind } from '../../config.js';
import { useBackend, type BackendName } from '../../backend/index.js';
import { loadSplit } from '../../research/data/datasets.js';
import { adversarialMarkdown, checkAdversarialSize, parseLambdas, parseTs, runAdversarial } from '../../research/experiments/adversarial.js';
import { ADVERSARIAL_DEFAULTS, QUANTIZE64_DEFAULTS } from '../../config.js';
import { runQuantize64 } from '../../research/experiments/quantize64.js';
import { MAX_KID_SAMPLES, runKid, trainingSideOf } from '../../research/experiments/kid.js';
import { KID_FEATURE_SIZE } from '../../research/eval/kid.js';
import { checkTableSize, chosenRows, markdownTable, runExperiment } from '../../research/experiments/tables.js';
import { checkOutputFolder } from '../../io/paths.js';
import { checkTraining } from '../limits.js';
import { outputOf } from '../options.js';
import { say, shown } from '../say.js';
import type { OptionValues } from 'commander';

export async function runExperiments(table: string, o: OptionValues, c: Command): Promise<void> {
  o.out = outputOf(c);
  checkOutputFolder(o.out);
  if (table === 'jitter' || table === 'vectorize') {
    const images = String(o.images).split(',').filter(Boolean);
    for (const img of images) if (!existsSync(img)) throw new Error(`${img}: no such file (--images)`);
    await useBackend(o.backend as BackendName);
    const { model } = loadModel(o.model);
    mkdirSync(o.out, { recursive: true });
    if (table === 'jitter') {
      const frame = await readImageFrame(images[0]!, 2048);
      const doc = decomposeFrame(model, frame, {}).doc;
      const r = await jitterFigure(doc, o.out, { layer: o.layer, directions: 4, values: 10, range: 2, side: 96, seed: o.seed });
      say(`layer ${r.layer} of ${shown(images[0]!)} moved along 4 random unit directions, k = ${r.ks.map((k) => k.toFixed(2)).join(', ')}; wrote ${shown(r.path)}`);
    } else {
      const r = await vectorizeFigure(model, images, o.out);
      for (const row of r.rows) say(`${row.image}: edge sharpness at 1024 (p99 |∇L|, grey levels per pixel): mask network ${row.vector.toFixed(1)}, bilinear ${row.bilinear.toFixed(1)}, bicubic ${row.bicubic.toFixed(1)}, crisp layers ${row.crisp.toFixed(1)}`);
      say(`wrote ${shown(r.path)} and ${shown(join(o.out, 'vectorize.md'))}`);
    }
    return;
  }
  if (table === 'transfer') {
    const files = String(o.models).split(',').filter(Boolean);
    for (const f of files) if (!existsSync(f)) throw new Error(`${f}: no such model file (--models)`);
    await useBackend(o.backend as BackendName);
    const models = files.map((f) => ({ name: basename(f, '.stratum'), model: loadModel(f).model }));
    const size = models[0]!.model.cfg.size;
    const sets = [];
    for (const spec of String(o.sets).split(',').filter(Boolean)) sets.push({ name: spec.split(':')[0]!, set: (await loadSplit(spec, o.holdout, { size, limit: o.limit, seed: o.seed })).test });
    mkdirSync(o.out, { recursive: true });
    const r = await transferTable(models, sets, o.out, o.show);
    say(...r.markdown.trim().split('\n'));
    say(`wrote ${shown(join(o.out, 'transfer.md'))} and ${shown(r.picture)}`);
    return;
  }
  if (table === 'adversarial' || table === 'quantize64') return issue24Experiment(table, o, c);
  if (table === 'kid') return kidExperiment(o);
  if (table !== 'table1' && table !== 'table2') throw new Error(`unknown experiment '${table}' (table1, table2, jitter, vectorize, transfer, adversarial, quantize64, kid)`);
  checkTableSize(table, o.size);
  chosenRows({ table, rows: o.rows?.split(',') });
  await useBackend(o.backend as BackendName);
  const { train: tr, test } = await loadSplit(o.data, o.holdout, { size: o.size, limit: o.limit, seed: o.seed });
  // the largest row: T=20, K=20 (table1) or T=20 (table2)
  checkTraining(modelConfig({ T: 20, size: o.size, encoder: o.encoder as EncoderKind, mask: { K: 20 } }), o.batch, tr.data.byteLength + test.data.byteLength, `experiment ${table}`);
  const rows = await runExperiment({ table, data: o.data, train: tr, test, steps: o.steps, batch: o.batch, encoder: o.encoder as EncoderKind, out: o.out, seed: o.seed, show: o.show, saveEvery: o.saveEvery, evalEvery: o.evalEvery, evalImages: o.evalImages, clip: o.clip, lr: o.lr, loss: o.loss, stopCanvasGrad: o.stopCanvasGrad ?? false, finishedOnly: o.finishedOnly ?? false, rows: o.rows?.split(','), log: (m) => process.stderr.write(`${m}\n`) });
  say(...markdownTable(rows, { data: o.data, steps: o.steps, encoder: o.encoder, testN: test.n, loss: o.loss }).replace(/\n$/, '').split('\n'));
  say(`wrote ${shown(join(o.out, `${table}.md`))}, ${table}.csv, ${table}.png, ${table}-curves.png`);
}

/** KID of GAN checkpoints against held-out images: every file and flag checked before any data is loaded */
async function kidExperiment(o: OptionValues): Promise<void> {
  const gans = String(o.gans ?? '').split(',').filter(Boolean);
  if (!gans.length) throw new Error('experiment kid needs --gans a.stratum[,b.stratum…] (GAN checkpoints)');
  for (const f of gans) {
    if (!existsSync(f)) throw new Error(`${f}: no such file (--gans)`);
    if (readCheckpoint(f).header.kind !== 'gan') throw new Error(`${f}: not a GAN checkpoint (--gans; stratum gan writes gan.stratum)`);
  }
  if (o.n > MAX_KID_SAMPLES) throw new Error(`--n ${o.n}: at most ${MAX_KID_SAMPLES} samples per GAN`);
  trainingSideOf(String(o.real), o.n);
  if (!existsSync(o.model)) throw new Error(`${o.model}: no such model file (--model, the feature network)`);
  await useBackend(o.backend as BackendName);
  const { model } = loadModel(o.model);
  if (model.cfg.size !== KID_FEATURE_SIZE) throw new Error(`${o.model}: a ${model.cfg.size}² model; the KID features are taken at ${KID_FEATURE_SIZE}²`);
  mkdirSync(o.out, { recursive: true });
  const r = await runKid({ gans, real: String(o.real), n: o.n, features: model, featuresFile: o.model, out: o.out, seed: o.seed, log: (m) => process.stderr.write(`${m}\n`) });
  say(...r.markdown.trim().split('\n'));
  say(`wrote ${shown(join(o.out, 'kid.md'))}, kid.json, ${shown(r.picture)}`);
}

/** Fig. 9 (adversarial) and Fig. 8 (quantize64): their own defaults where a flag is not given; every flag checked before any folder is made */
async function issue24Experiment(table: 'adversarial' | 'quantize64', o: OptionValues, c: Command): Promise<void> {
  const given = (k: string) => (c.getOptionValueSource(k) ?? 'default') !== 'default';
  const log = (m: string) => process.stderr.write(`${m}\n`);
  if (table === 'adversarial') {
    const d = ADVERSARIAL_DEFAULTS;
    const lambdas = parseLambdas(o.lambdas ?? d.lambdas.join(','));
    const Ts = parseTs(o.T ?? d.Ts.join(','));
    checkAdversarialSize(o.size);
    const [data, steps, batch, holdout] = [given('data') ? o.data : d.data, given('steps') ? o.steps : d.steps, given('batch') ? o.batch : d.batch, given('holdout') ? o.holdout : d.holdout];
    const criticWidth: number = o.criticWidth ?? d.criticWidth;
    await useBackend(o.backend as BackendName);
    const { train: tr, test } = await loadSplit(data, holdout, { size: o.size, limit: o.limit, seed: o.seed });
    checkTraining(modelConfig({ T: Math.max(...Ts), size: o.size, encoder: o.encoder as EncoderKind }), batch, tr.data.byteLength + test.data.byteLength, 'experiment adversarial');
    const rows = await runAdversarial({ data, train: tr, test, steps, batch, lambdas, Ts, encoder: o.encoder as EncoderKind, criticWidth, out: o.out, seed: o.seed, show: o.show, log });
    say(...adversarialMarkdown(rows, { data, steps, batch, encoder: o.encoder, testN: test.n, size: o.size }).trim().split('\n'));
    say(`wrote ${shown(join(o.out, 'adversarial.md'))}, adversarial.json, adversarial.png`);
    return;
  }
  const d = QUANTIZE64_DEFAULTS;
  const size: number = given('size') ? o.size : d.size;
  const modelFile = given('model') ? String(o.model) : undefined;
  if (modelFile && !existsSync(modelFile)) throw new Error(`${modelFile}: no such model file (--model)`);
  const [data, steps, batch, holdout] = [given('data') ? o.data : d.data, given('steps') ? o.steps : d.steps, given('batch') ? o.batch : d.batch, given('holdout') ? o.holdout : d.holdout];
  if (size % 16 !== 0) throw new Error(`--size ${size}: the small encoder halves the image 4 times, so the size must be a multiple of 16`);
  await useBackend(o.backend as BackendName);
  const { train: tr, test } = await loadSplit(data, holdout, { size, limit: o.limit, seed: o.seed });
  if (!modelFile) checkTraining(modelConfig({ T: d.T, size, encoder: o.encoder as EncoderKind }), batch, tr.data.byteLength + test.data.byteLength, 'experiment quantize64');
  mkdirSync(o.out, { recursive: true });
  const r = await runQuantize64({ data, train: tr, test, modelFile, T: d.T, steps, batch, encoder: o.encoder as EncoderKind, colours: d.colours, out: o.out, seed: o.seed, show: o.show, log });
  say(...r.markdown.trim().split('\n'));
  say(`wrote ${shown(join(o.out, 'quantize64.md'))}, quantize64.json, ${shown(r.picture)}`);
}
