import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COVERAGE_FLOOR, modelConfig, TRAIN_DEFAULTS, type TrainConfig } from '../src/config.js';
import { maskWeightNames } from '../src/core/maskSpec.js';
import * as tf from '../src/core/tf.js';
import { split } from '../src/data/datasets.js';
import { deadLeaves } from '../src/data/deadLeaves.js';
import { evaluate } from '../src/eval/reconstruct.js';
import { Decomposer } from '../src/model/decomposer.js';
import { Adam } from '../src/core/adam.js';
import { loadModel, readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';
import { reconstructionLoss, trainStep } from '../src/train/step.js';
import { newCtx } from '../src/model/nn.js';
import { BEST_FILE, CHECKPOINT_FILE, train } from '../src/train/trainer.js';
import { onBackend, tmp } from './helpers.js';

const tinyModel = (over = {}) => modelConfig({ encoder: 'small', smallChannels: [16, 32, 32, 32], T: 3, size: 16, ...over });
const tinyTrain = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...TRAIN_DEFAULTS, batch: 16, steps: 60, evalEvery: 30, saveEvery: 30, holdout: 32, ...over });

test('a short training run on dead-leaves images improves held-out PSNR', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 400, size: 16, seed: 1 }), 32, 0);
  const out = tmp();
  const { model, final } = await train({ out, data: 'deadleaves:400', model: tinyModel(), train: tinyTrain(), resume: false, quiet: true }, data);
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; psnr?: number });
  const first = rows.find((r) => r.psnr !== undefined)!;
  assert.equal(first.step, 0);
  assert.ok(final.psnr! > first.psnr! + 2, `PSNR ${first.psnr} -> ${final.psnr}`);
  for (const f of [CHECKPOINT_FILE, 'curves.png', 'grid.png']) assert.ok(existsSync(join(out, f)), `${f} written`);
  // best.stratum holds the evaluation with the best held-out PSNR, and reproduces it
  const evals = rows.filter((r) => r.psnr !== undefined);
  const top = evals.reduce((a, b) => (b.psnr! > a.psnr! ? b : a));
  const bestCk = loadModel(join(out, BEST_FILE));
  assert.equal(bestCk.ckpt.header.step, top.step);
  assert.equal(bestCk.ckpt.header.info?.heldOutPsnr, top.psnr);
  assert.ok(Math.abs(evaluate(bestCk.model, data.test).psnr - top.psnr!) < 1e-3, 'the best model file evaluates to its recorded PSNR');
  bestCk.model.dispose();
  model.dispose();
});

test('more layers reconstruct better: T=1 < T=4 on the same trained model', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 300, size: 16, seed: 2, minLeaves: 2, maxLeaves: 3 }), 32, 0);
  const { model } = await train({ out: tmp(), data: 'deadleaves', model: tinyModel({ T: 4 }), train: tinyTrain({ steps: 80, evalEvery: 80, saveEvery: 80 }), resume: false, quiet: true }, data);
  const one = evaluate(model, data.test, 32, 1).psnr;
  const four = evaluate(model, data.test, 32, 4).psnr;
  assert.ok(four > one, `T=1 ${one} dB vs T=4 ${four} dB`);
  model.dispose();
});

test('--init starts a new run from a model file\'s weights; a different architecture is refused', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 200, size: 16, seed: 4 }), 32, 0);
  const file = join(tmp(), 'a.stratum');
  const a = await train({ out: tmp(), data: 'x', model: tinyModel(), train: tinyTrain({ steps: 40, evalEvery: 40, saveEvery: 40 }), resume: false, quiet: true, exportTo: file }, data);
  // a vanishing learning rate: after one step the weights are still the initial model's
  const out = tmp();
  const b = await train({ out, data: 'x', model: tinyModel(), train: tinyTrain({ steps: 1, lr: 1e-12, seed: 9 }), resume: false, quiet: true, initFrom: file }, data);
  for (const [name, e] of a.model.store.entries) {
    if (!e.trainable) continue; // BatchNorm statistics move with every step and evaluation
    const x = e.variable.dataSync();
    const y = b.model.store.get(name).dataSync();
    let d = 0;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
    assert.ok(d < 1e-6, `${name} differs by ${d}`);
  }
  const fresh = await train({ out: tmp(), data: 'x', model: tinyModel(), train: tinyTrain({ steps: 1, lr: 1e-12, seed: 9 }), resume: false, quiet: true }, data);
  const step0 = (dir: string) => (JSON.parse(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n')[0]!) as { psnr: number }).psnr;
  assert.ok(step0(out) > fresh.final.psnr! + 1, `initialised ${step0(out)} dB vs fresh ${fresh.final.psnr} dB at step 0`);
  await assert.rejects(
    train({ out: tmp(), data: 'x', model: tinyModel({ T: 4 }), train: tinyTrain({ steps: 1 }), resume: false, quiet: true, initFrom: file }, data),
    /cannot initialise from this model: T 3 \(model file\) vs 4 \(this run\)/,
  );
  for (const m of [a.model, b.model, fresh.model]) m.dispose();
});

test('training killed and resumed gives the same weights as an uninterrupted run', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 120, size: 16, seed: 3 }), 16, 0);
  const straight = tmp();
  const resumed = tmp();
  const cfg = tinyTrain({ steps: 6, evalEvery: 100, saveEvery: 3 });
  const a = await train({ out: straight, data: 'x', model: tinyModel(), train: cfg, resume: false, quiet: true }, data);
  // "kill" after step 3: run to 3, then resume to 6
  const b1 = await train({ out: resumed, data: 'x', model: tinyModel(), train: { ...cfg, steps: 3 }, resume: false, quiet: true }, data);
  b1.model.dispose();
  await assert.rejects(train({ out: resumed, data: 'x', model: tinyModel(), train: cfg, resume: false, quiet: true }, data), /exists: pass --resume/);
  const b = await train({ out: resumed, data: 'x', model: tinyModel(), train: cfg, resume: true, quiet: true }, data);
  for (const [name, e] of a.model.store.entries) {
    const x = e.variable.dataSync();
    const y = b.model.store.get(name).dataSync();
    let d = 0;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
    assert.ok(d < 1e-5, `${name} differs by ${d}`);
  }
  a.model.dispose();
  b.model.dispose();
});

test('checkpoints round-trip; truncated or corrupt checkpoints are one-line errors', async () => {
  await onBackend('fast');
  const dir = tmp();
  const model = new Decomposer(tinyModel(), 5);
  const opt = new Adam(TRAIN_DEFAULTS);
  const x = tf.randomUniform([4, 16, 16, 3]) as tf.Tensor4D;
  trainStep(model, opt, x);
  const path = join(dir, 'm.stratum');
  saveCheckpoint(path, model, { opt, step: 1 });
  const opt2 = new Adam(TRAIN_DEFAULTS);
  const { model: back, ckpt } = loadModel(path, opt2);
  assert.equal(ckpt.header.step, 1);
  assert.equal(opt2.step, 1);
  for (const [name, e] of model.store.entries) assert.deepEqual(back.store.get(name).dataSync(), e.variable.dataSync(), name);
  const bytes = readFileSync(path);
  writeFileSync(join(dir, 'cut.stratum'), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => readCheckpoint(join(dir, 'cut.stratum')), /cut\.stratum: truncated or padded checkpoint/);
  writeFileSync(join(dir, 'junk.stratum'), 'hello world, not a checkpoint');
  assert.throws(() => readCheckpoint(join(dir, 'junk.stratum')), /not a Stratum checkpoint/);
  assert.throws(() => readCheckpoint(join(dir, 'none.stratum')), /no such checkpoint/);
  x.dispose();
  model.dispose();
  back.dispose();
});

test('a NaN loss stops training with a clear error instead of corrupting the weights', async () => {
  await onBackend('fast');
  const model = new Decomposer(tinyModel(), 1);
  const opt = new Adam(TRAIN_DEFAULTS);
  const before = model.store.get('head.p.w').dataSync().slice();
  const bad = tf.fill([2, 16, 16, 3], NaN) as tf.Tensor4D;
  assert.throws(() => trainStep(model, opt, bad), /loss is NaN \(not finite\)/);
  assert.deepEqual(model.store.get('head.p.w').dataSync(), before);
  bad.dispose();
  model.dispose();
});

test('stop-gradient on the canvas input changes the gradient but not the forward pass', async () => {
  await onBackend('fast');
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const results = [false, true].map((stop) => {
    const m = new Decomposer(tinyModel({ stopCanvasGrad: stop }), 9);
    const { newCtx } = { newCtx: (t: boolean) => ({ training: t, bnMomentum: 0.1, bnUpdates: [] as never[] }) };
    const vars = [...m.store.trainable().values()];
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(m.forward(x, newCtx(false)).canvas, x))) as tf.Scalar, vars);
    const g = grads[m.store.get('enc.conv0.w').name]!.dataSync().slice();
    const v = value.dataSync()[0]!;
    tf.dispose(grads);
    m.dispose();
    return { v, g };
  });
  assert.ok(Math.abs(results[0]!.v - results[1]!.v) < 1e-6);
  let d = 0;
  for (let i = 0; i < results[0]!.g.length; i++) d = Math.max(d, Math.abs(results[0]!.g[i]! - results[1]!.g[i]!));
  assert.ok(d > 1e-7, 'stopping the canvas gradient must change encoder gradients');
  x.dispose();
});

test('per-step BatchNorm calibration: one set of statistics per step, saved and restored, and used at inference', async () => {
  await onBackend('fast');
  const { calibrateBatchNorm } = await import('../src/train/calibrate.js');
  const data = split(deadLeaves({ n: 200, size: 16, seed: 6 }), 32, 0);
  const { model } = await train({ out: tmp(), data: 'x', model: tinyModel(), train: tinyTrain({ steps: 30, evalEvery: 1000, saveEvery: 1000 }), resume: false, quiet: true }, data);
  const plain = evaluate(model, data.test);
  calibrateBatchNorm(model, data.train, 4, 16);
  assert.deepEqual(model.store.get('enc.bn0.stepMean').shape, [3, 16]);
  const calibrated = evaluate(model, data.test);
  assert.notEqual(calibrated.psnr, plain.psnr, 'inference must use the per-step statistics');
  const path = join(tmp(), 'c.stratum');
  saveCheckpoint(path, model);
  const back = loadModel(path).model;
  assert.deepEqual(back.store.get('enc.bn2.stepVar').dataSync(), model.store.get('enc.bn2.stepVar').dataSync());
  assert.equal(evaluate(back, data.test).psnr, calibrated.psnr);
  model.dispose();
  back.dispose();
});

test('adversarial reconstruction (L1 + λ·WGAN-GP): trains, keeps improving L1, and resumes with its critic', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 200, size: 16, seed: 8 }), 32, 0);
  const out = tmp();
  const cfg = tinyTrain({ steps: 30, evalEvery: 30, saveEvery: 15, advLambda: 0.05, criticWidth: 8 });
  const { model, final } = await train({ out, data: 'x', model: tinyModel(), train: cfg, resume: false, quiet: true }, data);
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; psnr?: number });
  assert.ok(final.psnr! > rows[0]!.psnr! + 1, `PSNR ${rows[0]!.psnr} -> ${final.psnr}`);
  const ck = readCheckpoint(join(out, CHECKPOINT_FILE));
  assert.ok(ck.tensors.has('critic.c0.w') && ck.tensors.has('adamD.m.critic.c0.w'), 'critic and its optimiser are checkpointed');
  const more = await train({ out, data: 'x', model: tinyModel(), train: { ...cfg, steps: 32 }, resume: true, quiet: true }, data);
  assert.equal(readCheckpoint(join(out, CHECKPOINT_FILE)).header.step, 32);
  model.dispose();
  more.model.dispose();
});

test('--ls-loss: trains on the least-squares-colour image too, keeps the best model by that PSNR, which is above the encoder colours\' PSNR', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 400, size: 16, seed: 1 }), 32, 0);
  const out = tmp();
  const { model } = await train({ out, data: 'deadleaves:400', model: tinyModel(), train: tinyTrain({ lsLoss: 0.5, steps: 90 }), resume: false, quiet: true }, data);
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; psnr?: number; psnrLs?: number });
  const evals = rows.filter((r) => r.psnrLs !== undefined);
  assert.ok(evals.at(-1)!.psnrLs! > evals[0]!.psnrLs! + 0.3, `LS PSNR ${evals[0]!.psnrLs} -> ${evals.at(-1)!.psnrLs}`);
  const top = evals.reduce((a, b) => (b.psnrLs! > a.psnrLs! ? b : a));
  const bestCk = loadModel(join(out, BEST_FILE));
  assert.equal(bestCk.ckpt.header.step, top.step);
  assert.equal(bestCk.ckpt.header.info?.heldOutPsnr, top.psnrLs);
  const r = evaluate(bestCk.model, data.test);
  assert.ok(Math.abs(r.psnrLs - top.psnrLs!) < 1e-3, 'the best model file evaluates to its recorded LS PSNR');
  // the least-squares colours are the best colours for the masks: never below the encoder's
  assert.ok(r.psnrLs >= r.psnr, `LS ${r.psnrLs} vs encoder colours ${r.psnr}`);
  bestCk.model.dispose();
  model.dispose();
});

test('--step-loss: the loss adds w × the mean L1 of every step\'s canvas (computed here by hand from the forward pass), and 0 leaves the loss as it was', async () => {
  await onBackend('fast');
  const model = new Decomposer(tinyModel({ T: 3 }), 4);
  const x = tf.tensor4d(deadLeaves({ n: 4, size: 16, seed: 2 }).data, [4, 16, 16, 3]).div(255) as tf.Tensor4D;
  // inference statistics, so the three calls see the same network
  const ctx = () => newCtx(false);
  const { canvas, steps } = model.forward(x, ctx(), true);
  const err = (a: tf.Tensor) => tf.mean(tf.abs(tf.sub(a, x))).dataSync()[0]!;
  const final = err(canvas);
  const perStep = steps.map((s) => err(s.canvas));
  assert.ok(Math.abs(perStep[2]! - final) < 1e-6, 'the last step\'s canvas is the final image');
  assert.ok(perStep[0]! !== perStep[2]!, 'steps differ, so the test can tell a mean from the last step');
  const base = reconstructionLoss(model, x, ctx()).dataSync()[0]!;
  assert.ok(Math.abs(base - final) < 1e-6);
  const w = 0.7;
  const withSteps = reconstructionLoss(model, x, ctx(), { stepLoss: w }).dataSync()[0]!;
  const expected = final + (w * perStep.reduce((a, b) => a + b, 0)) / 3;
  assert.ok(Math.abs(withSteps - expected) < 1e-5, `${withSteps} vs ${expected}`);
  assert.equal(reconstructionLoss(model, x, ctx(), { stepLoss: 0 }).dataSync()[0]!, base);
  model.dispose();
});

test('--coverage-loss: the loss adds w × the mean hinge max(0, floor − coverage) over images and layers (by hand), which is 0 for masks above the floor', async () => {
  await onBackend('fast');
  const model = new Decomposer(tinyModel({ T: 3 }), 4);
  const x = tf.tensor4d(deadLeaves({ n: 4, size: 16, seed: 2 }).data, [4, 16, 16, 3]).div(255) as tf.Tensor4D;
  const ctx = () => newCtx(false);
  const names = maskWeightNames(model.cfg.mask);
  const bias = model.store.get(names[names.length - 1]!);
  const base = reconstructionLoss(model, x, ctx()).dataSync()[0]!;
  assert.equal(reconstructionLoss(model, x, ctx(), { coverageLoss: 5 }).dataSync()[0]!, base, 'masks of a fresh model cover far more than 2 %');
  // the output bias pushed down until the masks cover (almost) nothing: the hinge is active
  bias.assign(tf.fill(bias.shape, -6));
  const { canvas, steps } = model.forward(x, ctx(), true);
  const final = tf.mean(tf.abs(tf.sub(canvas, x))).dataSync()[0]!;
  const cover = steps.flatMap((st) => Array.from(tf.mean(st.mask, [1, 2, 3]).dataSync()));
  assert.ok(cover.every((c) => c < COVERAGE_FLOOR), `coverage ${cover}`);
  const hinge = cover.reduce((a, c) => a + Math.max(0, COVERAGE_FLOOR - c), 0) / cover.length;
  const got = reconstructionLoss(model, x, ctx(), { coverageLoss: 5 }).dataSync()[0]!;
  assert.ok(Math.abs(got - (final + 5 * hinge)) < 1e-6, `${got} vs ${final + 5 * hinge}`);
  model.dispose();
});

