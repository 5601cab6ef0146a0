/**
 * The tables' writer on a tiny run (its plans: test/experiments.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { split } from '../src/research/data/datasets.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { runExperiment } from '../src/research/experiments/tables.js';
import { onBackend, tmp } from './support/helpers.js';

test('table writer on a tiny run: Markdown, CSV and side-by-side images; finished rows are cached', { timeout: 600_000 }, async () => {
  await onBackend('fast');
  // 32²: the ResNet decoder of Table 7 starts at S/32
  const { train, test } = split(deadLeaves({ n: 48, size: 32, seed: 2 }), 8, 0);
  const out = tmp();
  const logs: string[] = [];
  const o = { table: 'table2' as const, data: 'deadleaves:80', train, test, steps: 2, batch: 4, encoder: 'small' as const, out, seed: 0, show: 3, log: (m: string) => logs.push(m) };
  const rows = await runExperiment(o);
  assert.equal(rows.length, 11);
  for (const r of rows) assert.ok(Number.isFinite(r.psnr) && r.ssim > -1 && r.ssim <= 1, JSON.stringify(r));
  const csv = readFileSync(join(out, 'table2.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'method,T,K,latent,steps,psnr,ssim,sec_per_step');
  assert.equal(csv.length, 12);
  const md = readFileSync(join(out, 'table2.md'), 'utf8');
  assert.match(md, /\| PNG quantisation, 20 colours \|/);
  assert.match(md, /\| mlpxy \\\|z\\\|=260 \|/);
  for (const line of md.split('\n').filter((l) => l.startsWith('| '))) assert.equal(line.replace(/\\\|/g, '').split('|').length, 10, `8 columns: ${line}`);
  const meta = await sharp(join(out, 'table2.png')).metadata();
  assert.ok(meta.width! > 12 * 16 && meta.height! >= 3 * 16);
  // held-out curves: every trained row at step 0 and its last step; finished rows leave no training state
  assert.match(md, /held-out PSNR, first 8 held-out images every 250 steps: table2-curves\.png .*The rows' order by it last changed at step \d+ \(of 2\)/);
  const curves = await sharp(join(out, 'table2-curves.png')).metadata();
  assert.ok(curves.width! >= 640 && curves.height! > 300);
  assert.deepEqual(readdirSync(join(out, 'rows')), []);
  // the 20-colour quantisation of 32×32 dead-leaves images (few colours) is near-lossless
  assert.ok(rows.at(-1)!.psnr > 30);
  const trained = logs.filter((l) => l.endsWith('…')).length;
  await runExperiment(o);
  assert.equal(logs.filter((l) => l.endsWith('…')).length, trained, 'second run reuses the cached rows');
  // --finished-only trains nothing: table 1 from the two rows table 2 finished; a row killed in training shows its curve, not a row
  const killed = runExperiment({ ...o, table: 'table1', evalEvery: 1, afterStep: (_, step) => { if (step === 1) throw new Error('killed at step 1'); } });
  await assert.rejects(killed, /killed at step 1/);
  const before = logs.filter((l) => l.endsWith('…')).length;
  const done = await runExperiment({ ...o, table: 'table1', finishedOnly: true });
  assert.deepEqual(done.map((r) => r.method), ['Ours T=10 K=10', 'Ours T=20 K=10']);
  assert.equal(logs.filter((l) => l.endsWith('…')).length, before, '--finished-only trained nothing');
  const md1 = readFileSync(join(out, 'table1.md'), 'utf8');
  assert.match(md1, /In training, their curves so far drawn, not in the table: Ours T=5 K=10 at step 1\./);
  assert.doesNotMatch(md1, /\| Ours T=5 K=10 \|/);
  await assert.rejects(runExperiment({ ...o, table: 'table1', finishedOnly: true, rows: ['T=10:K=5'] }), (e: Error) => /rows\.json: none of table1's rows asked for is finished/.test(e.message) && !e.message.includes('\n'));
  // table 1 in the same folder trains only the three (T, K) settings table 2 does not hold
  const t1 = await runExperiment({ ...o, table: 'table1' });
  const again = logs.filter((l) => l.endsWith('…')).slice(before);
  assert.deepEqual(again, ['table1: Ours T=5 K=10 (2 steps)…', 'table1: Ours T=10 K=5 (2 steps)…', 'table1: Ours T=10 K=20 (2 steps)…']);
  assert.equal(t1[2]!.method, 'Ours T=10 K=10');
  assert.equal(t1[2]!.psnr, rows[0]!.psnr, 'T=10, K=10 is the same trained row in both tables');
});
