/**
 * Fig. 9 (src/research/experiments/adversarial.ts): the adversarial step against λ = 0 on a tiny model (the
 * WGAN term reaches the model's update, exactly λ·∇(−D); the critic is trained), the experiment's
 * writer and cache on a tiny run, and the command's flag refusals. Fig. 8's writer: a tiny run of
 * quantize64 with a model file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { modelConfig, TRAIN_DEFAULTS } from '../src/config.js';
import { Adam } from '../src/core/adam.js';
import * as tf from '../src/core/tf.js';
import { batchTensor, range } from '../src/data/imageSet.js';
import { split } from '../src/research/data/datasets.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { parseLambdas, parseTs, runAdversarial } from '../src/research/experiments/adversarial.js';
import { Decomposer } from '../src/model/decomposer.js';
import { newCtx } from '../src/model/nn.js';
import { newAdversary } from '../src/research/train/adversary.js';
import { adversarialStep } from '../src/research/train/trainer.js';
import { generatorLoss } from '../src/research/train/wgan.js';
import { cli } from './support/cli.js';
import { onBackend, tmp } from './support/helpers.js';

const tiny = () => modelConfig({ T: 2, size: 16, encoder: 'small', smallChannels: [4, 4, 4, 4], mask: { K: 4, hidden: 16, groups: 4 } });
const trainable = (m: Decomposer) => [...m.store.trainable()].map(([name, v]) => [name, Float32Array.from(v.dataSync())] as const);

test('adversarial step against λ = 0: the model moves by exactly λ·∇(−D(reconstruction)) more, and the critic is trained', { timeout: 120_000 }, async () => {
  await onBackend('fast');
  const set = deadLeaves({ n: 4, size: 16, seed: 3 });
  const x = batchTensor(set, range(0, 4));
  const lambda = 0.5;
  // Adam's first step is lr·g/(|g| + eps): with eps ≫ |g| and lr = eps it is g itself, so the update is the gradient
  const sgd = () => new Adam({ ...TRAIN_DEFAULTS, lr: 1e4, eps: 1e4 });
  // a frozen critic (lr 0) so both runs see the same one
  const frozen = newAdversary(16, 4, 5, 0);
  const before = new Decomposer(tiny(), 1);
  const p0 = trainable(before);
  // ∇_θ of −D(canvas) at the starting weights, through the training-mode forward pass the step uses
  const params = [...before.store.trainable()].map(([, v]) => v);
  const { grads } = tf.variableGrads(() => generatorLoss(frozen.critic, before.forward(x, newCtx(true)).canvas), params);
  const gAdv = [...before.store.trainable()].map(([, v]) => Float32Array.from(grads[v.name]!.dataSync()));
  tf.dispose(grads);
  before.dispose();
  const moved = (l: number) => {
    const m = new Decomposer(tiny(), 1);
    const opt = sgd();
    const r = adversarialStep(m, opt, frozen, x, { ...TRAIN_DEFAULTS, advLambda: l });
    const p = trainable(m);
    m.dispose();
    opt.dispose();
    return { delta: p.map(([, v], i) => v.map((w, j) => w - p0[i]![1][j]!)), loss: r.loss };
  };
  const a = moved(0);
  const b = moved(lambda);
  assert.ok(Number.isFinite(a.loss) && Math.abs(a.loss - b.loss) < 1e-6, 'the reported loss is the L1 part, the same at the same weights');
  // θ_λ − θ_0 = −(λ·g_adv) (the step subtracts the gradient)
  let num = 0;
  let den = 0;
  let diff = 0;
  b.delta.forEach((d, i) => d.forEach((v, j) => {
    const want = -lambda * gAdv[i]![j]!;
    num += (v - a.delta[i]![j]! - want) ** 2;
    den += want ** 2;
    diff += (v - a.delta[i]![j]!) ** 2;
  }));
  assert.ok(den > 0 && diff > 0, 'λ > 0 moves the model differently from λ = 0');
  assert.ok(Math.sqrt(num / den) < 0.02, `the difference is λ·∇(−D): relative error ${Math.sqrt(num / den)}`);
  // with a learning rate the critic is updated by the step (its WGAN-GP loss enters)
  const live = newAdversary(16, 4, 5);
  const c0 = [...live.critic.store.trainable()].map(([, v]) => Float32Array.from(v.dataSync()));
  const m = new Decomposer(tiny(), 1);
  const opt = new Adam(TRAIN_DEFAULTS);
  adversarialStep(m, opt, live, x, { ...TRAIN_DEFAULTS, advLambda: lambda });
  const c1 = [...live.critic.store.trainable()].map(([, v]) => v.dataSync());
  assert.ok(c0.some((w, i) => w.some((v, j) => v !== c1[i]![j])), 'the critic moved');
  assert.equal(live.opt.step, 1);
  m.dispose();
  opt.dispose();
  x.dispose();
});

test('adversarial experiment on a tiny run: table, JSON and picture; finished rows are cached', { timeout: 300_000 }, async () => {
  await onBackend('fast');
  const { train, test } = split(deadLeaves({ n: 24, size: 16, seed: 2 }), 6, 0);
  const out = tmp();
  const logs: string[] = [];
  const o = { data: 'deadleaves:24', train, test, steps: 2, batch: 4, lambdas: [0, 0.1], Ts: [2], encoder: 'small' as const, criticWidth: 4, out, seed: 0, show: 3, log: (m: string) => logs.push(m) };
  const rows = await runAdversarial(o);
  assert.deepEqual(rows.map((r) => [r.T, r.lambda]), [[2, 0], [2, 0.1]]);
  for (const r of rows) assert.ok(Number.isFinite(r.psnr) && r.sharpness >= 0 && r.targetSharpness > 0 && Math.abs(r.sharpnessRatio - r.sharpness / r.targetSharpness) < 1e-9, JSON.stringify(r));
  assert.match(readFileSync(join(out, 'adversarial.md'), 'utf8'), /\| 2 \| 0\.1 \| [\d.]+ \| /);
  assert.equal(JSON.parse(readFileSync(join(out, 'adversarial.json'), 'utf8')).rows.length, 2);
  const meta = await sharp(join(out, 'adversarial.png')).metadata();
  assert.ok(meta.width! >= 3 * 16 * 3 && meta.height! >= 3 * 16 * 3);
  const trained = logs.filter((l) => l.endsWith('…')).length;
  assert.equal(trained, 2);
  const again = await runAdversarial({ ...o, lambdas: [0, 0.1, 1] });
  assert.deepEqual(logs.filter((l) => l.endsWith('…')).slice(trained), ['adversarial: T=2, λ=1 (2 steps)…'], 'a rerun trains only the new row');
  assert.equal(again[1]!.psnr, rows[1]!.psnr);
});

test('adversarial and quantize64 flags: one-line refusals naming the flag, before any folder is made', { timeout: 120_000 }, async () => {
  assert.deepEqual(parseLambdas('0, 0.01,1e-1'), [0, 0.01, 0.1]);
  assert.deepEqual(parseTs('10,20'), [10, 20]);
  const dir = tmp();
  const out = join(dir, 'never');
  const cases: [string[], RegExp][] = [
    [['experiment', 'adversarial', '--lambdas', '0,x', '-o', out], /--lambdas must be comma-separated numbers in \[0, 1000\], got '0,x'/],
    [['experiment', 'adversarial', '--lambdas', '-0.1', '-o', out], /--lambdas must be/],
    [['experiment', 'adversarial', '--lambdas', '0.1,0.1', '-o', out], /--lambdas lists a value twice/],
    [['experiment', 'adversarial', '--T', '0', '-o', out], /--T must be comma-separated integers in \[1, 64\]/],
    [['experiment', 'adversarial', '--T', '10,ten', '-o', out], /--T must be/],
    [['experiment', 'adversarial', '--size', '24', '-o', out], /--size 24: the patch critic needs a power of two ≥ 16/],
    [['experiment', 'adversarial', '--critic-width', '0', '-o', out], /--critic-width must be an integer ≥ 1/],
    [['experiment', 'adversarial', '--steps', '0', '-o', out], /--steps must be an integer ≥ 1/],
    [['experiment', 'quantize64', '--model', join(dir, 'none.stratum'), '-o', out], /none\.stratum: no such model file \(--model\)/],
    [['experiment', 'quantize64', '--size', '40', '-o', out], /--size 40: the small encoder halves the image 4 times/],
    [['experiment', 'nonsense', '-o', out], /unknown experiment 'nonsense' \(.*adversarial, quantize64, kid\)/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.err, re, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
    assert.equal(lines.length, 1, `one-line error for ${args.join(' ')}: ${r.err}`);
    assert.ok(!existsSync(out), `${args.join(' ')} made ${out}`);
  }
});

test('quantize64 (Fig. 8) with a model file: the table, JSON and picture (target | quantised | model)', { timeout: 300_000 }, async () => {
  const { runQuantize64 } = await import('../src/research/experiments/quantize64.js');
  const { loadModel } = await import('../src/model/checkpoint.js');
  await onBackend('fast');
  const file = join(import.meta.dirname, '..', 'models', 'default.stratum');
  const test = deadLeaves({ n: 3, size: loadModel(file).model.cfg.size, seed: 4 });
  const out = tmp();
  const r = await runQuantize64({ data: 'deadleaves:3', train: test, test, modelFile: file, T: 20, steps: 1, batch: 1, encoder: 'small', colours: 20, out, seed: 0, show: 2 });
  assert.equal(r.rows.length, 2);
  assert.ok(r.rows.every((row) => Number.isFinite(row.psnr) && row.ssim <= 1));
  // dead leaves hold few colours: 20-colour quantisation is near-lossless
  assert.ok(r.rows[0]!.psnr > 30, JSON.stringify(r.rows[0]));
  assert.match(readFileSync(join(out, 'quantize64.md'), 'utf8'), /\| 20-colour quantisation \| [\d.]+ \|/);
  const meta = await sharp(r.picture).metadata();
  assert.ok(meta.width! >= 3 * 64 && meta.height! >= 2 * 64);
});

test('quantize64 without a model file: trains one in the results folder, reuses it, resumes it for more steps', { timeout: 300_000 }, async () => {
  const { runQuantize64 } = await import('../src/research/experiments/quantize64.js');
  await onBackend('fast');
  const { train, test } = split(deadLeaves({ n: 12, size: 16, seed: 6 }), 3, 0);
  const out = tmp();
  const logs: string[] = [];
  const o = { data: 'deadleaves:12', train, test, T: 2, steps: 2, batch: 2, encoder: 'small' as const, colours: 20, out, seed: 0, show: 2, log: (m: string) => logs.push(m) };
  const first = await runQuantize64(o);
  assert.match(first.rows[1]!.method, /Stratum T=2 at 16² \(2 training steps\)/);
  assert.ok(existsSync(join(out, 'quantize64-model', 'checkpoint.stratum')));
  assert.ok(logs.some((l) => l.startsWith('quantize64: training')));
  // a checkpoint past --steps is used as it is, and says so
  const again = await runQuantize64({ ...o, steps: 1 });
  assert.match(again.rows[1]!.method, /\(2 training steps\)/);
  assert.equal(again.rows[1]!.psnr, first.rows[1]!.psnr);
  assert.ok(logs.some((l) => /at step 2, past --steps 1; used as it is/.test(l)));
  const more = await runQuantize64({ ...o, steps: 3 });
  assert.ok(logs.some((l) => l.startsWith('quantize64: resuming')));
  assert.match(more.rows[1]!.method, /\(3 training steps\)/);
});
