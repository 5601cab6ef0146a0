/**
 * The paper's tables: what each plans (the writer on a tiny run: test/experiments.e2e.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cacheKey, chosenRows, plan, type ExperimentOptions } from '../src/research/experiments/tables.js';
import { lateOrder, lateSpread, orderLastChanged } from '../src/research/eval/rowCurves.js';

test('table plans: 5 T×K settings; ours and 4 baselines at |z| 130 and 260 plus 20-colour quantisation', () => {
  assert.deepEqual(plan('table1').map((e) => [e.T, e.K]), [[5, 10], [10, 5], [10, 10], [10, 20], [20, 10]]);
  const t2 = plan('table2');
  assert.equal(t2.length, 11);
  assert.deepEqual([...new Set(t2.filter((e) => e.latent).map((e) => e.latent))], [130, 260]);
});

test('--rows picks rows by name (T=10:K=10 as "T=10 K=10"), refuses an unknown one naming the rows; --clip, --lr, --loss and --stop-canvas-grad key a row apart', () => {
  assert.deepEqual(chosenRows({ table: 'table1', rows: ['T=10:K=10'] }).map((e) => e.method), ['Ours T=10 K=10']);
  assert.deepEqual(chosenRows({ table: 'table1', rows: ['T=20 K=10', 'T=5:K=10'] }).map((e) => e.method), ['Ours T=5 K=10', 'Ours T=20 K=10']);
  assert.equal(chosenRows({ table: 'table2', rows: ['resup'] }).length, 2);
  assert.equal(chosenRows({ table: 'table1' }).length, 5);
  assert.throws(() => chosenRows({ table: 'table1', rows: ['T=10:K=7'] }), /^Error: --rows T=10 K=7: table1 has no such row \(its rows: Ours T=5 K=10; .*Ours T=20 K=10\)$/);
  // an unclipped row keeps the key it was cached under (the stored Table 1 run's rows.json), a clipped one has its own
  const o = { data: 'patches:/usr/share/backgrounds:96', steps: 3000, encoder: 'small', batch: 32, seed: 0, test: { n: 256 } } as unknown as ExperimentOptions;
  const e = plan('table1')[2]!;
  const stored = Object.keys(JSON.parse(readFileSync('data/table1-patches/rows.json', 'utf8')) as object);
  assert.ok(stored.includes(cacheKey(e, o)), `${cacheKey(e, o)} among ${stored.join(', ')}`);
  assert.ok(stored.includes(cacheKey(e, { ...o, clip: 0 })));
  assert.equal(cacheKey(e, { ...o, clip: 0.5 }), `${cacheKey(e, o)}|clip=0.5`);
  assert.equal(cacheKey(e, { ...o, lr: 1e-3 }), cacheKey(e, o), 'the default rate named is the default');
  assert.equal(cacheKey(e, { ...o, lr: 3e-4 }), `${cacheKey(e, o)}|lr=0.0003`);
  assert.equal(cacheKey(e, { ...o, stopCanvasGrad: false }), cacheKey(e, o));
  assert.equal(cacheKey(e, { ...o, lr: 3e-4, stopCanvasGrad: true }), `${cacheKey(e, o)}|lr=0.0003|stopgrad`);
  // --loss: L1 (named or not) keeps the stored keys; an MSE-trained row is its own, quantisation trains nothing
  assert.equal(cacheKey(e, { ...o, loss: 'l1' }), cacheKey(e, o));
  const mlpxy = plan('table2').find((r) => r.kind === 'mlpxy')!;
  assert.equal(cacheKey(mlpxy, { ...o, loss: 'mse' }), `${cacheKey(mlpxy, o)}|loss=mse`);
  const png = plan('table2').find((r) => r.quantize)!;
  assert.equal(cacheKey(png, { ...o, loss: 'mse' }), cacheKey(png, o));
});

test('rows stop crossing: the last step at which their order by value changed, and the order from there', () => {
  const rows = [
    { name: 'a', points: [[0, 5], [250, 10], [500, 12], [750, 13]] as [number, number][] },
    { name: 'b', points: [[0, 6], [250, 11], [500, 11.5], [750, 12]] as [number, number][] },
    { name: 'c', points: [[250, 1], [500, 2]] as [number, number][] },
  ];
  assert.deepEqual(orderLastChanged(rows), { at: 500, lastChange: 500, order: ['a', 'b', 'c'] }, 'only steps every row reached count');
  assert.deepEqual(orderLastChanged(rows.slice(0, 2)), { at: 750, lastChange: 500, order: ['a', 'b'] });
  assert.deepEqual(orderLastChanged([{ name: 'a', points: [] }]), { at: null, lastChange: 0, order: [] });
});

test("late spread: each row's mean ± sd from a step on, best first; neighbours told apart only beyond twice the standard error", () => {
  const rows = [
    { name: 'wobbly', points: [[250, 30], [500, 26], [750, 28], [1000, 26]] as [number, number][] },
    { name: 'steady', points: [[250, 10], [500, 27], [750, 27.2], [1000, 26.8]] as [number, number][] },
    { name: 'low', points: [[500, 20], [750, 20.5], [1000, 19.5]] as [number, number][] },
    { name: 'one point', points: [[1000, 40]] as [number, number][] },
  ];
  const s = lateSpread(rows, 500);
  assert.deepEqual(s.map((r) => r.name), ['steady', 'wobbly', 'low'], 'by mean from step 500; a single point has no spread and is left out');
  assert.equal(s[0]!.mean, 27);
  assert.ok(Math.abs(s[0]!.sd - 0.2) < 1e-12 && s[0]!.n === 3);
  assert.ok(Math.abs(s[1]!.mean - 80 / 3) < 1e-12 && Math.abs(s[1]!.sd - Math.sqrt(4 / 3)) < 1e-12, 'the step before `from` is not counted');
  assert.equal(lateOrder(s, 1), 'steady 27.0 ± 0.2 ≈ wobbly 26.7 ± 1.2 > low 20.0 ± 0.5');
});
