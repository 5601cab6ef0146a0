/**
 * The paper's tables: what each plans (the writer on a tiny run: test/experiments.e2e.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from '../src/research/experiments/tables.js';

test('table plans: 5 T×K settings; ours and 4 baselines at |z| 130 and 260 plus 20-colour quantisation', () => {
  assert.deepEqual(plan('table1').map((e) => [e.T, e.K]), [[5, 10], [10, 5], [10, 10], [10, 20], [20, 10]]);
  const t2 = plan('table2');
  assert.equal(t2.length, 11);
  assert.deepEqual([...new Set(t2.filter((e) => e.latent).map((e) => e.latent))], [130, 260]);
});

