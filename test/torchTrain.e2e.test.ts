/**
 * Training with the PyTorch twin (python/stratum_torch/train.py): two processes under torchrun
 * (gloo) step exactly as one process on the whole batch; a resumed run as an unbroken one; the twin
 * trains as `stratum train` does on the same exported data (same batches, losses, held-out PSNR);
 * and what it trains decomposes, refines, edits and exports in Stratum. Run alone with
 * `npm run test:torch`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { modelConfig } from '../src/config.js';
import { Decomposer } from '../src/model/decomposer.js';
import { toTorchTensor } from '../src/research/model/torchWeights.js';
import { cli } from './support/cli.js';
import { onBackend, tmp } from './support/helpers.js';
import { maxAbs, maxDiff, NO_TORCH, python, readTensors } from './support/torchHelpers.js';

/** a Stratum command in this process (test/support/cli.ts), without a process start-up each */
async function ok(...args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `stratum ${args.join(' ')}: ${r.err}`);
  return r.out;
}

interface Row {
  step: number;
  loss?: number;
  psnr?: number;
  psnrLs?: number;
}
const rows = (run: string): Row[] =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
const losses = (run: string) => rows(run).filter((r) => r.loss !== undefined);

/** the largest difference between two runs' final weights, relative to each tensor's largest entry */
function weightGap(a: string, b: string): number {
  const ta = readTensors(join(a, 'model.safetensors'));
  const tb = readTensors(join(b, 'model.safetensors'));
  assert.deepEqual([...tb.keys()].sort(), [...ta.keys()].sort());
  let worst = 0;
  for (const [name, t] of ta) worst = Math.max(worst, maxDiff(t.values, tb.get(name)!.values) / Math.max(maxAbs(t.values), 1e-6));
  return worst;
}

// one exported data set for every test (each test writes its runs in a folder of its own)
let exported: Promise<string> | undefined;
const data = async () => {
  exported ??= (async () => {
    const dir = tmp();
    await ok('export-data', '--data', 'deadleaves:96', '--size', '16', '--holdout', '16', '-o', join(dir, 'data'));
    return join(dir, 'data');
  })();
  const dir = tmp();
  return { dir, data: await exported };
};
// a small run: 2 layers, K=4, a two-layer small encoder at 16², every part of the objective
const RUN = ['--steps', '3', '--batch', '8', '--T', '2', '--K', '4', '--encoder', 'small', '--channels', '8,8', '--eval-every', '2', '--save-every', '2', '--ls-loss', '0.5', '--coverage-loss', '1', '--clip', '0.3', '--quiet'];

test('two processes under torchrun (gloo) train exactly as one process on the whole batch', { skip: NO_TORCH }, async () => {
  const { dir, data: set } = await data();
  const args = ['--data', set, ...RUN, '--schedule', 'cosine', '--warmup', '1'];
  python(['-m', 'stratum_torch.train', ...args, '-o', join(dir, 'one')]);
  // --redirects/--tee: torchrun of Debian's PyTorch 1.13 under Python 3.11 fails on their defaults (see docs/scale.md)
  python(['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '--redirects', '1', '--tee', '1', '--log_dir', join(dir, 'logs'), '-m', 'stratum_torch.train', ...args, '-o', join(dir, 'two')]);
  const [one, two] = [losses(join(dir, 'one')), losses(join(dir, 'two'))];
  assert.equal(two.length, 3);
  one.forEach((r, i) => assert.ok(Math.abs(r.loss! - two[i]!.loss!) < 1e-6, `step ${r.step}: loss ${r.loss} (one process) vs ${two[i]!.loss} (two)`));
  const gap = weightGap(join(dir, 'one'), join(dir, 'two'));
  assert.ok(gap < 1e-5, `final weights differ by ${gap.toExponential(2)} (relative)`);
  // and they did train: the weights moved from where a fresh model of seed 0 starts (Stratum's, as the twin's)
  await onBackend('fast');
  const fresh = new Decomposer(modelConfig({ encoder: 'small', smallChannels: [8, 8], T: 2, size: 16, mask: { K: 4 } }), 0);
  const [, start] = toTorchTensor('head.p.w', { shape: [8, 4], values: fresh.store.get('head.p.w').dataSync() as Float32Array });
  fresh.dispose();
  const end = readTensors(join(dir, 'one', 'model.safetensors')).get('head.p.weight')!;
  assert.ok(maxDiff(start.values, end.values) > 1e-4, 'three steps changed nothing');
});

test('a twin run resumed from its checkpoint (a kill or --max-seconds) continues as if never stopped', { skip: NO_TORCH }, async () => {
  const { dir, data: set } = await data();
  const args = ['--data', set, ...RUN];
  python(['-m', 'stratum_torch.train', ...args, '-o', join(dir, 'straight')]);
  python(['-m', 'stratum_torch.train', ...args.map((a, i) => (args[i - 1] === '--steps' ? '2' : a)), '-o', join(dir, 'broken')]);
  python(['-m', 'stratum_torch.train', ...args, '-o', join(dir, 'broken'), '--resume']);
  assert.deepEqual(
    losses(join(dir, 'broken')).map((r) => r.loss),
    losses(join(dir, 'straight')).map((r) => r.loss),
  );
  assert.equal(weightGap(join(dir, 'straight'), join(dir, 'broken')), 0, 'the resumed run ends on other weights');
  // an existing run is not overwritten without --resume
  assert.throws(() => python(['-m', 'stratum_torch.train', ...args, '-o', join(dir, 'straight')]), /checkpoint\.safetensors exists: pass --resume/);
  // --max-seconds: a run out of time stops after the step it is on, evaluated and saved there, and
  // --resume continues it to the end as the unbroken run
  const timed = args.map((a, i) => (args[i - 1] === '--steps' ? '3' : a));
  python(['-m', 'stratum_torch.train', ...timed, '--max-seconds', '1e-9', '-o', join(dir, 'timed')]);
  const cut = rows(join(dir, 'timed'));
  assert.deepEqual(losses(join(dir, 'timed')).map((r) => r.step), [1], 'one step, then out of time');
  assert.ok(cut.some((r) => r.step === 1 && r.psnr !== undefined), 'evaluated at the step it stopped on');
  python(['-m', 'stratum_torch.train', ...timed, '-o', join(dir, 'timed'), '--resume']);
  assert.deepEqual(losses(join(dir, 'timed')).map((r) => r.loss), losses(join(dir, 'straight')).map((r) => r.loss));
  assert.throws(() => python(['-m', 'stratum_torch.train', ...args, '--max-seconds', '-1', '-o', join(dir, 'bad')]), /--max-seconds must be a number of seconds ≥ 0/);
});

test('the twin trains as `stratum train` on the same data, and its model decomposes, refines, edits and exports in Stratum', { skip: NO_TORCH }, async () => {
  const { dir, data: set } = await data();
  python(['-m', 'stratum_torch.train', '--data', set, ...RUN, '-o', join(dir, 'torch')]);
  await ok('train', '--data', 'deadleaves:96', '--size', '16', '--holdout', '16', ...RUN.filter((a) => a !== '--quiet'), '-o', join(dir, 'stratum'));
  // the same initial weights, batches, objective, clipping and Adam: the same losses and held-out PSNR
  const [t, s] = [rows(join(dir, 'torch')), rows(join(dir, 'stratum'))];
  for (const r of s) {
    const twin = t.find((q) => q.step === r.step && (q.loss === undefined) === (r.loss === undefined));
    assert.ok(twin, `the twin has no row for step ${r.step}`);
    if (r.loss !== undefined) assert.ok(Math.abs(r.loss - twin.loss!) < 1e-5, `step ${r.step}: loss ${r.loss} (Stratum) vs ${twin.loss} (twin)`);
    else assert.ok(Math.abs(r.psnrLs! - twin.psnrLs!) < 1e-3 && Math.abs(r.psnr! - twin.psnr!) < 1e-3, `step ${r.step}: held-out ${r.psnr}/${r.psnrLs} dB (Stratum) vs ${twin.psnr}/${twin.psnrLs} (twin)`);
  }
  // the twin's model in Stratum, unchanged
  const model = join(dir, 'torch.stratum');
  await ok('import-torch', join(dir, 'torch', 'model.safetensors'), '-o', model);
  const img = join(dir, 'in.png');
  await sharp(Buffer.from(Array.from({ length: 24 * 24 * 3 }, (_, i) => (i % 7) * 30)), { raw: { width: 24, height: 24, channels: 3 } }).png().toFile(img);
  assert.match(await ok('decompose', img, '--model', model, '-o', join(dir, 'out'), '--size', '32', '--refine', '3', '--fit-size', '16'), /refinement 3 steps/);
  const doc = join(dir, 'out', 'in.stratum.json');
  await ok('edit', doc, '--recolour', '0=#ff0000', '-o', join(dir, 'edited.stratum.json'));
  await ok('export', join(dir, 'edited.stratum.json'), '-o', join(dir, 'edited.svg'), '--size', '32');
  assert.match(readFileSync(join(dir, 'edited.svg'), 'utf8'), /<svg/);
  assert.ok(existsSync(join(dir, 'out', 'in.png')));
});
