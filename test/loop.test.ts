import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsLog, trainingLoop } from '../src/research/train/loop.js';
import { tmp } from './support/helpers.js';

test('training loop: every step once, saves every saveEvery steps and at the last; a resumed run starts after its checkpoint', async () => {
  const calls: string[] = [];
  const run = (start: number, steps: number) =>
    trainingLoop({ steps, start, label: '', quiet: true, saveEvery: 4, step: (n) => (calls.push(`step ${n}`), ''), save: async (n) => void calls.push(`save ${n}`) });
  await run(0, 6);
  assert.deepEqual(calls, ['step 1', 'step 2', 'step 3', 'step 4', 'save 4', 'step 5', 'step 6', 'save 6']);
  calls.length = 0;
  await run(6, 9);
  assert.deepEqual(calls, ['step 7', 'step 8', 'save 8', 'step 9', 'save 9']);
  calls.length = 0;
  await run(9, 9);
  assert.deepEqual(calls, ['save 9'], 'a finished run only refreshes its outputs');
});

test('metrics log: resuming keeps the rows up to the checkpoint, drops a line cut off by a kill, rejects a corrupt one', () => {
  const path = join(tmp(), 'metrics.jsonl');
  const log = new MetricsLog<{ step: number; loss?: number; psnr?: number }>(path, 0);
  for (let step = 0; step <= 5; step++) log.add(step % 2 ? { step, loss: step / 10 } : { step, psnr: 20 + step });
  assert.equal(log.last('psnr')?.step, 4);
  assert.deepEqual(log.series('loss'), [[1, 0.1], [3, 0.3], [5, 0.5]]);
  // rows reach the file when the run flushes (at each checkpoint, and every METRICS_FLUSH_MS)
  log.flush();
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 6);
  writeFileSync(path, readFileSync(path, 'utf8') + '{"step": 6, "lo');
  const back = new MetricsLog<{ step: number; loss?: number }>(path, 3);
  assert.deepEqual(back.rows.map((r) => r.step), [0, 1, 2, 3]);
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 4, 'the file holds what the log holds');
  assert.equal(new MetricsLog(path, 0).rows.length, 0, 'a fresh run starts an empty log');
  writeFileSync(path, '{"step": 1}\nnot json\n{"step": 2}\n');
  assert.throws(() => new MetricsLog(path, 5), /metrics\.jsonl: line 2 is not valid JSON/);
});
