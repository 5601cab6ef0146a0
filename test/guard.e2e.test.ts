/**
 * Training runs under the collapse guard and the learning-rate schedule (the schedule itself: test/guard.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelConfig, TRAIN_DEFAULTS, type TrainConfig } from '../src/config.js';
import { split } from '../src/research/data/datasets.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { readCheckpoint } from '../src/model/checkpoint.js';
import { learningRate } from '../src/research/train/schedule.js';
import { CHECKPOINT_FILE, train, type MetricRow } from '../src/research/train/trainer.js';
import { onBackend, tmp } from './support/helpers.js';

const tinyModel = () => modelConfig({ encoder: 'small', smallChannels: [16, 32, 32, 32], T: 3, size: 16 });
const tinyTrain = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...TRAIN_DEFAULTS, batch: 16, steps: 60, evalEvery: 10, saveEvery: 30, holdout: 32, ...over });
const rowsOf = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricRow);

test('the collapse guard rolls a run forced to diverge back to its best state, with a lower learning rate, and resume keeps it', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 300, size: 16, seed: 5 }), 32, 0);
  // a sane run first (guard on): nothing to roll back
  const calm = tmp();
  await train({ out: calm, data: 'x', model: tinyModel(), train: tinyTrain({ steps: 30 }), resume: false, quiet: true }, data);
  assert.ok(!rowsOf(calm).some((r) => r.rolledBackTo !== undefined), 'no rollback in a healthy run');
  // a huge learning rate wrecks the weights within a few steps
  const out = tmp();
  const { final } = await train({ out, data: 'x', model: tinyModel(), train: tinyTrain({ lr: 3, steps: 40, guardDrop: 1 }), resume: false, quiet: true }, data);
  const rows = rowsOf(out);
  const backs = rows.filter((r) => r.rolledBackTo !== undefined);
  assert.ok(backs.length >= 1, 'rolled back at least once');
  // every step's rate is the schedule's, times ½ per rollback so far (constant schedule: exactly 3·½^k)
  const lrs = rows.filter((r) => r.lr !== undefined);
  for (const r of lrs) {
    const k = backs.filter((b) => b.step < r.step).length;
    assert.ok(Math.abs(r.lr! - 3 * 0.5 ** k) < 1e-12, `step ${r.step}: lr ${r.lr}, expected ${3 * 0.5 ** k}`);
  }
  // each rollback returns to an evaluated state no worse than every evaluation before it
  for (const b of backs) {
    const before = rows.filter((r) => r.psnr !== undefined && r.step <= b.step);
    const target = before.find((r) => r.step === b.rolledBackTo);
    assert.ok(target, `rolled back to an evaluated step (${b.rolledBackTo})`);
  }
  assert.ok(Number.isFinite(final.psnr!), 'training ended with finite weights');
  const info = readCheckpoint(join(out, CHECKPOINT_FILE)).header.info!;
  assert.equal(info.rollbacks, backs.length);
  assert.equal(info.lrScale, 0.5 ** backs.length);
  // a resumed run keeps the lowered rate
  await train({ out, data: 'x', model: tinyModel(), train: tinyTrain({ lr: 3, steps: 41, guardDrop: 1 }), resume: true, quiet: true }, data);
  const r41 = rowsOf(out).find((r) => r.step === 41 && r.lr !== undefined)!;
  assert.ok(r41.lr! <= 3 * 0.5 ** backs.length + 1e-12, `resumed at lr ${r41.lr}`);
});

test('a run logs the schedule\'s learning rate at every step (warm-up, then cosine), not a compounding one', async () => {
  await onBackend('fast');
  const data = split(deadLeaves({ n: 200, size: 16, seed: 6 }), 32, 0);
  const out = tmp();
  const cfg = tinyTrain({ steps: 24, evalEvery: 24, schedule: 'cosine', warmup: 5, lr: 1e-3 });
  await train({ out, data: 'x', model: tinyModel(), train: cfg, resume: false, quiet: true }, data);
  const lrs = rowsOf(out).filter((r) => r.lr !== undefined);
  assert.equal(lrs.length, 24);
  for (const r of lrs) assert.ok(Math.abs(r.lr! - learningRate(cfg, r.step)) < 1e-15, `step ${r.step}: ${r.lr} vs ${learningRate(cfg, r.step)}`);
  assert.equal(cfg.lr, 1e-3, 'the run config is not changed');
});
