/**
 * The learning-rate schedules and the guard's scale (training runs under them: test/guard.e2e.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate } from '../src/research/train/schedule.js';

test('learning-rate schedules: warm-up, cosine to the floor, constant, and the guard\'s scale', () => {
  const c = { lr: 1e-3, schedule: 'cosine' as const, warmup: 10, minLrShare: 0.05, steps: 110 };
  assert.ok(Math.abs(learningRate(c, 1) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(c, 10) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(c, 60) - 1e-3 * (0.05 + 0.95 * 0.5)) < 1e-12, 'halfway down the cosine');
  assert.ok(Math.abs(learningRate(c, 110) - 5e-5) < 1e-12);
  for (let s = 11; s < 110; s++) assert.ok(learningRate(c, s + 1) <= learningRate(c, s));
  assert.equal(learningRate({ ...c, schedule: 'constant', warmup: 0 }, 77), 1e-3);
  assert.ok(Math.abs(learningRate(c, 10, 0.25) - 2.5e-4) < 1e-12);
});

