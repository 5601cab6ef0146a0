/**
 * A table row killed mid-training resumes from its saved state (src/research/experiments/rowState.ts)
 * and ends where an unbroken run ends: same weights and Adam moments, same held-out PSNR and curve;
 * a damaged state file is a one-line error naming it. A compact copy (bf16 weights, no Adam moments)
 * resumes with Adam restarted and the row says so. (The tables' writer: test/experiments.e2e.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { split } from '../src/research/data/datasets.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { cacheKey, CURVES_FILE, markdownTable, plan, trainRow, type CurvePoint, type ExperimentOptions } from '../src/research/experiments/tables.js';
import { compactRowState, rowStatePath } from '../src/research/experiments/rowState.js';
import { decodeSafetensors, encodeSafetensors } from '../src/research/io/safetensors.js';
import { readRows } from '../src/research/train/loop.js';
import { onBackend, tmp } from './support/helpers.js';

const { train, test: held } = split(deadLeaves({ n: 24, size: 32, seed: 2 }), 8, 0);
const entry = plan('table1')[0]!; // T=5, K=10
const options = (out: string, afterStep?: ExperimentOptions['afterStep']): ExperimentOptions => ({ table: 'table1', data: 'deadleaves:24', train, test: held, steps: 4, batch: 2, encoder: 'small', out, seed: 0, show: 2, saveEvery: 2, evalEvery: 3, evalImages: 2, afterStep });
const key = cacheKey(entry, options(''));
const killAt = (k: number) => (_: string, step: number) => {
  if (step === k) throw new Error(`killed after step ${k}`);
};
const curve = (out: string) => readRows<CurvePoint>(join(out, CURVES_FILE)).filter((p) => p.row === key);
const noop = async () => {};
/** the largest |a[i] − b[i]| */
const largestDifference = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('a row killed after step 3 (state saved at 2) resumes to the weights, Adam moments, PSNR and curve of an unbroken run', async () => {
  await onBackend('fast');
  const whole = tmp();
  const unbroken = await trainRow(entry, options(whole), key, noop);

  const broken = tmp();
  await assert.rejects(trainRow(entry, options(broken, killAt(3)), key, noop), /killed after step 3/);
  const saved = decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(broken, key))), 'state');
  assert.equal(saved.metadata.step, '2');
  assert.deepEqual(curve(broken).map((p) => p.step), [3], 'the evaluation at step 3 was written before the kill');
  // another row's line in the shared curves file stays
  appendFileSync(join(broken, CURVES_FILE), JSON.stringify({ row: 'other', method: 'other', step: 9, psnr: 1, seconds: 0 }) + '\n');
  const logs: string[] = [];
  const resumed = await trainRow(entry, { ...options(broken), log: (m) => logs.push(m) }, key, noop);
  assert.ok(logs.some((l) => l.includes(`resumed from ${rowStatePath(broken, key)} at step 2`)), logs.join('\n'));

  const a = decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(whole, key))), 'a');
  const b = decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(broken, key))), 'b');
  assert.equal(b.metadata.step, '4');
  assert.equal(b.metadata.adamStep, '4');
  assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
  assert.ok([...a.tensors.keys()].some((n) => n.startsWith('adam.m.')), 'Adam moments are saved');
  for (const [name, t] of a.tensors) {
    const worst = largestDifference(t.values, b.tensors.get(name)!.values);
    assert.ok(worst <= 1e-5, `${name}: resumed differs from unbroken by ${worst}`);
  }
  assert.ok(Math.abs(resumed.row.psnr - unbroken.row.psnr) < 1e-3, `PSNR ${resumed.row.psnr} vs ${unbroken.row.psnr}`);
  assert.ok(Math.abs(resumed.row.ssim - unbroken.row.ssim) < 1e-4);
  assert.ok(resumed.row.secPerStep > 0);
  const [ca, cb] = [curve(whole), curve(broken)];
  assert.deepEqual(cb.map((p) => p.step), [3, 4], 'cut back to step 2 on resume, then 3 again and 4');
  cb.forEach((p, i) => assert.ok(Math.abs(p.psnr - ca[i]!.psnr) < 1e-3, `curve at step ${p.step}: ${p.psnr} vs ${ca[i]!.psnr}`));
  assert.ok(readRows<CurvePoint>(join(broken, CURVES_FILE)).some((p) => p.row === 'other'), "another row's points are kept");
});

test('a truncated or foreign row state is a one-line error naming the file, not a restart', async () => {
  await onBackend('fast');
  const out = tmp();
  await assert.rejects(trainRow(entry, options(out, killAt(3)), key, noop), /killed/); // state saved at step 2
  const path = rowStatePath(out, key);
  const size = statSync(path).size;
  truncateSync(path, Math.floor(size / 2));
  const oneLine = (why: RegExp) => (e: Error) => {
    assert.ok(!e.message.includes('\n'), e.message);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message, why);
    assert.match(e.message, /delete it to train this row again from step 0/);
    return true;
  };
  await assert.rejects(trainRow(entry, options(out), key, noop), oneLine(/truncated/));
  assert.equal(statSync(path).size, Math.floor(size / 2), 'the damaged file is left for the user to look at');
  writeFileSync(path, new Uint8Array(4));
  await assert.rejects(trainRow(entry, options(out), key, noop), oneLine(/not a safetensors file/));
});

test('--stop-canvas-grad reaches our rows (same 4 steps, other weights) and keys them apart; baselines keep their keys', async () => {
  await onBackend('fast');
  const [plain, detached] = [tmp(), tmp()];
  await trainRow(entry, options(plain), key, noop);
  const o = { ...options(detached), stopCanvasGrad: true };
  const k = cacheKey(entry, o);
  assert.equal(k, `${key}|stopgrad`);
  await trainRow(entry, o, k, noop);
  const a = decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(plain, key))), 'a');
  const b = decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(detached, k))), 'b');
  assert.equal(b.metadata.step, '4');
  const worst = Math.max(...[...a.tensors].filter(([name]) => name.startsWith('enc.conv')).map(([name, t]) => largestDifference(t.values, b.tensors.get(name)!.values)));
  assert.ok(worst > 1e-6, `the encoder's weights after 4 steps differ with the canvas detached (largest difference ${worst})`);
  const baseline = plan('table2').find((e) => e.kind)!;
  assert.equal(cacheKey(baseline, o), cacheKey(baseline, options('')), 'a baseline has no canvas: its row is the same');
});

test('--loss mse trains the row on its squared error (same 4 steps, other weights), keyed apart and named in the table', async () => {
  await onBackend('fast');
  const [plain, squared] = [tmp(), tmp()];
  await trainRow(entry, options(plain), key, noop);
  const o: ExperimentOptions = { ...options(squared), loss: 'mse' };
  const k = cacheKey(entry, o);
  assert.equal(k, `${key}|loss=mse`);
  const { row } = await trainRow(entry, o, k, noop);
  const a = decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(plain, key))), 'a');
  const b = decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(squared, k))), 'b');
  const worst = Math.max(...[...a.tensors].filter(([name]) => name.startsWith('mask.')).map(([name, t]) => largestDifference(t.values, b.tensors.get(name)!.values)));
  assert.ok(worst > 1e-6, `the mask network's weights after 4 steps differ under MSE (largest difference ${worst})`);
  assert.match(markdownTable([row], { data: 'd', steps: 4, encoder: 'small', testN: 8, loss: 'mse' }), /4 training steps per row, trained on MSE \(not the paper's L1\)\./);
  assert.doesNotMatch(markdownTable([row], { data: 'd', steps: 4, encoder: 'small', testN: 8 }), /MSE/);
});

test('bfloat16 in safetensors: rounded to nearest even, read back as float32, within 2^-9 relative', () => {
  const values = new Float32Array([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.14159, -1e-20, 0, Infinity, NaN, 65504.7]);
  const chunks = encodeSafetensors([['w', { shape: [10], values, dtype: 'BF16' }]], { a: 'b' });
  const bytes = Buffer.concat(chunks);
  assert.equal(bytes.length - 8 - chunks[1]!.length, 20, 'two bytes a value');
  const back = decodeSafetensors(new Uint8Array(bytes), 'x').tensors.get('w')!;
  assert.equal(back.dtype, 'BF16');
  assert.deepEqual([...back.values.subarray(0, 2)], [1, -2.5], 'bf16 values are exact');
  assert.equal(back.values[2], 1, 'a tie rounds to even (down)');
  assert.equal(back.values[3], 1 + 4 * 2 ** -8, 'a tie rounds to even (up)');
  for (const i of [4, 5, 9]) assert.ok(Math.abs(back.values[i]! - values[i]!) <= Math.abs(values[i]!) * 2 ** -9, `${values[i]} read back as ${back.values[i]}`);
  assert.equal(back.values[6], 0);
  assert.equal(back.values[7], Infinity);
  assert.ok(Number.isNaN(back.values[8]!), 'NaN stays NaN');
  // a BF16 entry whose span is counted as F32 is refused in one line
  const wrong = new TextDecoder().decode(chunks[1]).replace('"data_offsets":[0,20]', '"data_offsets":[0,40]');
  assert.throws(() => decodeSafetensors(new Uint8Array(Buffer.concat([chunks[0]!, new TextEncoder().encode(wrong), chunks[2]!, new Uint8Array(20)])), 'y'), (e: Error) => e.message === 'y: tensor w spans 40 bytes, expected 20 for BF16 [10]');
});

test('a compact state (bf16 weights, no Adam moments) is ~1/6 of the full one and resumes with Adam restarted, marked in the row and the table', async () => {
  await onBackend('fast');
  const out = tmp();
  await assert.rejects(trainRow(entry, options(out, killAt(3)), key, noop), /killed/); // state saved at step 2
  const path = rowStatePath(out, key);
  const full = decodeSafetensors(new Uint8Array(readFileSync(path)), 'full');
  const { before, after } = compactRowState(path, path);
  assert.ok(after < before / 5, `compact ${after} bytes against ${before}`);
  const compact = decodeSafetensors(new Uint8Array(readFileSync(path)), 'compact');
  assert.equal(compact.metadata.compact, 'weights-bf16');
  assert.equal(compact.metadata.step, '2');
  assert.ok(![...compact.tensors.keys()].some((n) => n.startsWith('adam.')), 'no optimiser state');
  assert.deepEqual([...compact.tensors.keys()].sort(), [...full.tensors.keys()].filter((n) => !n.startsWith('adam.')).sort());
  for (const [name, t] of compact.tensors) {
    const f = full.tensors.get(name)!.values;
    t.values.forEach((v, i) => assert.ok(Math.abs(v - f[i]!) <= Math.abs(f[i]!) * 2 ** -8, `${name}[${i}]: ${v} against ${f[i]}`));
  }
  assert.deepEqual(compactRowState(path, path), { before: after, after }, 'a compact state is copied as it is');

  const logs: string[] = [];
  const resumed = await trainRow(entry, { ...options(out), log: (m) => logs.push(m) }, key, noop);
  assert.ok(logs.some((l) => l.includes('at step 2 (a compact state: weights in bf16, Adam restarted)')), logs.join('\n'));
  const saved = decodeSafetensors(new Uint8Array(readFileSync(path)), 'after');
  assert.equal(saved.metadata.step, '4');
  assert.equal(saved.metadata.adamStep, '2', "Adam counted its steps from the resume");
  assert.equal(saved.metadata.compactResumes, '[2]');
  assert.ok(saved.tensors.has([...saved.tensors.keys()].find((n) => n.startsWith('adam.m.'))!), 'full states again after the resume');
  assert.deepEqual(resumed.row.compactResumes, [2]);
  assert.ok(Number.isFinite(resumed.row.psnr));
  const md = markdownTable([resumed.row], { data: 'd', steps: 4, encoder: 'small', testN: 8 });
  assert.match(md, /\| Ours T=5 K=10 † \|/);
  assert.match(md, /† resumed from a compact state .*: Ours T=5 K=10 at step 2\./);
  // a state that is not a row's is refused in one line, and the file is left as it was
  writeFileSync(path, Buffer.concat(encodeSafetensors([['w', { shape: [1], values: new Float32Array(1) }]], { format: 'other' })));
  assert.throws(() => compactRowState(path, join(out, 'c.safetensors')), (e: Error) => e.message.startsWith(`${path}: not a table row's training state`) && !e.message.includes('\n'));
});
