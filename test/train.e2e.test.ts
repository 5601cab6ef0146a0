/**
 * Training runs (src/research/train/trainer.ts train(), a few dozen steps on 16² dead leaves): they learn,
 * resume as if never stopped, start from a model file, calibrate BatchNorm per step, train with a
 * critic and with least-squares colours. The training step's parts are in test/train.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelConfig, TRAIN_DEFAULTS, type TrainConfig } from '../src/config.js';
import { split } from '../src/research/data/datasets.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { evaluate } from '../src/research/eval/reconstruct.js';
import { loadModel, readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';
import { BEST_FILE, CHECKPOINT_FILE, train } from '../src/research/train/trainer.js';
import { onBackend, tmp } from './support/helpers.js';

const tinyModel = (over = {}) => modelConfig({ encoder: 'small', smallChannels: [16, 32, 32, 32], T: 3, size: 16, ...over });
const tinyTrain = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...TRAIN_DEFAULTS, batch: 16, steps: 60, evalEvery: 30, saveEvery: 30, holdout: 32, ...over });

/**
 * One short run on dead-leaves images, shared: its improvement is checked first, its model paints
 * better with all its layers than with one, its model file starts a run on other images (--init),
 * and a copy of its model is calibrated per step.
 */
let run: ReturnType<typeof startShortRun> | undefined;
async function startShortRun() {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 400, size: 16, seed: 1 }), 32, 0);
  const out = tmp();
  const file = join(out, 'exported.stratum');
  const r = await train({ out, data: 'deadleaves:400', model: tinyModel(), train: tinyTrain(), resume: false, quiet: true, exportTo: file }, data);
  return { out, data, file, ...r };
}
const shortRun = () => (run ??= startShortRun());
after(async () => {
  if (run) (await run).model.dispose();
});

test('a short training run on dead-leaves images improves held-out PSNR', async () => {
  const { out, data, final } = await shortRun();
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
});

test('more layers reconstruct better: T=1 < T=3 on the same trained model', async () => {
  // the short run's model (measured: 12.9 dB with its first layer, 14.3 dB with all three)
  const { model, data } = await shortRun();
  const one = evaluate(model, data.test, 32, 1).psnr;
  const three = evaluate(model, data.test, 32, 3).psnr;
  assert.ok(three > one, `T=1 ${one} dB vs T=3 ${three} dB`);
});

test('--init starts a new run from a model file\'s weights; a different architecture is refused', async () => {
  // the model file of the short run above, continued on other images
  const { file, model: trained } = await shortRun();
  const data = split(deadLeaves({ n: 200, size: 16, seed: 4 }), 32, 0);
  const a = { model: trained };
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
  for (const m of [b.model, fresh.model]) m.dispose();
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

test('per-step BatchNorm calibration: one set of statistics per step, saved and restored, and used at inference', async () => {
  const { calibrateBatchNorm } = await import('../src/research/train/calibrate.js');
  // a copy of the short run's model (calibration changes it)
  const { file, data } = await shortRun();
  const model = loadModel(file).model;
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

