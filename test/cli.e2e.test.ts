/**
 * The command line end to end: the binary as a user runs it (a process each: bin/stratum.js,
 * tsx, the exit code), decompositions checked against the documents they write, and the jobs
 * that train — train, resume, --init, grow, shapes — the commands after a flow's first ones in
 * this process (test/support/cli.ts) to spare a start-up per call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { renderDocument, validateDocument } from '../src/core/document.js';
import { readCheckpoint } from '../src/model/checkpoint.js';
import { readImageFrame } from '../src/data/images.js';
import { stretchedFrame } from '../src/pipeline/decompose.js';
import { binary, cli } from './support/cli.js';
import { onBackend, testDocument, tmp } from './support/helpers.js';

test('the binary: --version prints the package version; a refusal is exit code 1 and one line on stderr', () => {
  const r = binary(['--version']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version);
  // what test/cli.test.ts checks in this process, once through the process's exit code
  const bad = binary(['train', '--steps', 'ten']);
  assert.equal(bad.code, 1);
  assert.equal(bad.signal, null);
  assert.match(bad.err, /^stratum: option '--steps <n>' argument 'ten' is invalid\. --steps must be an integer/);
  assert.equal(bad.err.trimEnd().split('\n').length, 1, bad.err);
});

test('train -> decompose -> render end to end through the CLI', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const model = join(dir, 'model.stratum');
  const t = binary(['train', '--data', 'deadleaves:200', '--encoder', 'small', '--T', '3', '--size', '16', '--steps', '4', '--batch', '8', '--holdout', '16', '--eval-every', '2', '--save-every', '2', '-o', run, '--export', model]);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /held-out PSNR [\d.]+ dB after 4 steps/);
  assert.ok(existsSync(model));
  const img = join(dir, 'in.png');
  const raw = Buffer.alloc(40 * 30 * 3, 200);
  await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(img);
  const d = binary(['decompose', img, '--model', model, '-o', join(dir, 'out'), '--size', '64']);
  assert.equal(d.code, 0, d.err);
  const files = readdirSync(join(dir, 'out')).sort();
  assert.deepEqual(files, ['in.layers.png', 'in.png', 'in.stratum.json']);
  // the photo keeps its 4:3 frame: --size is the long side
  const meta = await sharp(join(dir, 'out', 'in.png')).metadata();
  assert.deepEqual([meta.width, meta.height], [64, 48]);
  // each layer's contribution, printed and kept in the document
  const printed = /layer contributions at 40×30, bottom first \(dB lost when removed\): (\S+) (\S+) (\S+); \d of 3 below 0\.1 dB/.exec(d.out);
  assert.ok(printed, d.out);
  const written = (JSON.parse(readFileSync(join(dir, 'out', 'in.stratum.json'), 'utf8')) as { layers: { contributionDb: number }[] }).layers;
  written.forEach((l, t) => assert.ok(Math.abs(l.contributionDb - Number(printed[t + 1])) <= 0.0051, `layer ${t}: ${l.contributionDb} vs ${printed[t + 1]}`));
  const refined = await cli(['decompose', img, '--model', model, '-o', join(dir, 'refined'), '--size', '32', '--refine', '5', '--fit-size', '24']);
  assert.equal(refined.code, 0, refined.err);
  assert.match(refined.out, /at 24²: [\d.]+ -> [\d.]+ dB \(refinement 5 steps in [\d.]+ s\)/);
  const r = binary(['render', join(dir, 'out', 'in.stratum.json'), '--width', '100', '--height', '50', '-o', join(dir, 'big.png')]);
  assert.equal(r.code, 0, r.err);
  const m2 = await sharp(join(dir, 'big.png')).metadata();
  assert.deepEqual([m2.width, m2.height], [100, 50]);
  // the rest in this process (test/support/cli.ts): the same commands without a process start-up each
  // fine-tune the trained model on another data set: the architecture comes from the model file
  const tuned = await cli(['train', '--data', 'deadleaves:120', '--init', model, '--steps', '2', '--batch', '8', '--holdout', '16', '--eval-every', '2', '-o', join(dir, 'tuned')]);
  assert.equal(tuned.code, 0, tuned.err);
  assert.match(tuned.err, /initialised from .*model\.stratum/);
  assert.match(tuned.err, /small encoder, T=3, K=10, 16²/);
  // grow it: a wider small encoder that paints the same (src/research/model/widen.ts), then trains on
  const grown = await cli(['train', '--data', 'deadleaves:120', '--init', model, '--channels', '32,64,64,96', '--steps', '1', '--batch', '8', '--holdout', '16', '--eval-every', '1', '-o', join(dir, 'grown')]);
  assert.equal(grown.code, 0, grown.err);
  assert.match(grown.err, /small encoder grown from 32,64,64,64 channels, mean pooling to 32,64,64,96 channels, mean pooling/);
  // flatten its pooling: the same painting, then the heads learn where; kept by --resume, decompose reads it
  const flatArgs = ['--data', 'deadleaves:120', '--steps', '1', '--batch', '8', '--holdout', '16', '--eval-every', '1', '-o', join(dir, 'flat')];
  const flat = await cli(['train', ...flatArgs, '--init', model, '--pool', 'flatten']);
  assert.equal(flat.code, 0, flat.err);
  assert.match(flat.err, /grown from 32,64,64,64 channels, mean pooling to 32,64,64,64 channels, flatten pooling, painting the same/);
  assert.equal(readCheckpoint(join(dir, 'flat', 'checkpoint.stratum')).header.model.smallPool, 'flatten');
  const back = await cli(['train', ...flatArgs, '--resume', '--pool', 'mean']);
  assert.notEqual(back.code, 0);
  assert.match(back.err, /--pool mean differs from the model in .*checkpoint\.stratum \(flatten\)/);
  const fd = await cli(['decompose', img, '--model', join(dir, 'flat', 'checkpoint.stratum'), '-o', join(dir, 'flat-out'), '--size', '32']);
  assert.equal(fd.code, 0, fd.err);
  const shrunk = await cli(['train', '--data', 'deadleaves:120', '--init', model, '--channels', '32,64,64,32', '-o', join(dir, 'shrunk')]);
  assert.notEqual(shrunk.code, 0);
  assert.match(shrunk.err, /cannot initialise from this model: layer 3 would shrink from 64 to 32 channels/);
  const clash = await cli(['train', '--data', 'deadleaves:120', '--init', model, '--T', '5', '-o', join(dir, 'clash')]);
  assert.notEqual(clash.code, 0);
  assert.match(clash.err, /--T 5 differs from the model in .*model\.stratum \(T 3\)/);
  assert.ok(!existsSync(join(dir, 'clash')), 'nothing written for a refused run');
  writeFileSync(join(dir, 'bad.png'), 'not a png at all');
  const bad = await cli(['decompose', join(dir, 'bad.png'), '--model', model, '-o', join(dir, 'out2')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /bad\.png: cannot read image/);
  assert.ok(!existsSync(join(dir, 'out2')), 'nothing written for a bad input');
});

test('decompose --layers N beyond T, then greedy, refine and prune: N layers whose render equals the document render at any size, and the document records how it was made', async () => {
  // this process renders the documents too: on the native kernels where built (tfjs cpu takes a minute here)
  await onBackend('fast');
  const dir = tmp();
  const sample = join(import.meta.dirname, '..', 'samples', 'bag.png');
  const fm = join(import.meta.dirname, '..', 'models', 'fashion-mnist.stratum'); // the model of this sample's data
  const base = await cli(['decompose', sample, '--model', fm, '-o', join(dir, 'base'), '--size', '32']);
  assert.equal(base.code, 0, base.err);
  const d = await cli(['decompose', sample, '--model', fm, '-o', join(dir, 'more'), '--size', '40', '--layers', '13']);
  assert.equal(d.code, 0, d.err);
  const doc = validateDocument(JSON.parse(readFileSync(join(dir, 'more', 'bag.stratum.json'), 'utf8')));
  assert.equal(doc.layers.length, 13);
  // the encoder ran past its T = 10 steps: its first 10 steps are the 10-layer decomposition's
  // layers (each document may have restacked them: stepOfLayer says which step each layer is)
  const ten = validateDocument(JSON.parse(readFileSync(join(dir, 'base', 'bag.stratum.json'), 'utf8')));
  assert.equal(ten.layers.length, 10);
  const byStep = (dc: typeof doc) => {
    const order = (dc.source?.stepOfLayer as number[] | undefined) ?? dc.layers.map((_, t) => t);
    const m = new Map<number, number[]>();
    dc.layers.forEach((l, t) => m.set(order[t]!, l.p));
    return m;
  };
  const steps13 = byStep(doc), steps10 = byStep(ten);
  for (let t = 0; t < 10; t++) assert.deepEqual(steps13.get(t), steps10.get(t), `step ${t}`);
  // --no-reorder: the layers stay in the order the encoder painted them
  const kept = await cli(['decompose', sample, '--model', fm, '-o', join(dir, 'kept'), '--size', '32', '--no-reorder']);
  assert.equal(kept.code, 0, kept.err);
  const inOrder = validateDocument(JSON.parse(readFileSync(join(dir, 'kept', 'bag.stratum.json'), 'utf8')));
  assert.equal(inOrder.source?.stepOfLayer, undefined);
  inOrder.layers.forEach((l, t) => assert.deepEqual(l.p, steps10.get(t), `layer ${t}`));
  for (const [png, size] of [[join(dir, 'more', 'bag.png'), 40], [join(dir, 'r77.png'), 77]] as const) {
    if (size !== 40) assert.equal((await cli(['render', join(dir, 'more', 'bag.stratum.json'), '--size', String(size), '-o', png])).code, 0);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [size, size]);
    const want = renderDocument(doc, size).rgb;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(data[i]! / 255 - want[i]!));
    assert.ok(worst <= 1 / 255 + 1e-6, `${size}²: PNG differs from the document render by ${worst}`);
  }
  const r = await cli(['decompose', sample, '--model', fm, '-o', join(dir, 'refined'), '--size', '32', '--layers', '12', '--greedy', '2', '--refine', '4', '--fit-size', '48', '--prune', '0.05']);
  assert.equal(r.code, 0, r.err);
  const m = /at 48²: ([\d.]+) -> ([\d.]+) dB \((\d) greedy layers, refinement 4 steps in [\d.]+ s, (\d+) layers pruned\)/.exec(r.out);
  assert.ok(m, r.out);
  const refined = validateDocument(JSON.parse(readFileSync(join(dir, 'refined', 'bag.stratum.json'), 'utf8')));
  assert.equal(refined.layers.length, 12 + Number(m[3]) - Number(m[4]));
  const rec = refined.source!.refinement as Record<string, number>;
  assert.equal(rec.fitSize, 48);
  assert.equal(rec.steps, 4);
  assert.equal(rec.layersIn, 12);
  assert.equal(rec.greedyAdded, Number(m[3]));
  assert.ok(rec.greedyAdded! >= 1 && rec.greedyAdded! <= 2);
  assert.equal(rec.layersOut, refined.layers.length);
  assert.ok(rec.psnrAfter! >= rec.psnrBefore! - 0.05 * Number(m[4]));
  assert.deepEqual(refined.source!.model, { encoder: 'small', T: 10, K: 10, size: 32 });
  assert.equal(refined.source!.encoderSteps, 12);
  assert.equal(refined.source!.checkpoint, 'fashion-mnist.stratum');
  // the recorded PSNR is the document's, rendered at the fit size against the image at that size
  // (the whole frame stretched to 48², area-resampled from the decoded image as the pipeline does)
  const data = stretchedFrame(await readImageFrame(sample, 4096), 48);
  const got = renderDocument(refined, 48).rgb;
  let s = 0;
  for (let i = 0; i < got.length; i++) s += (got[i]! - data[i]!) ** 2;
  assert.ok(Math.abs(10 * Math.log10(got.length / s) - rec.psnrAfter!) < 0.01);
});


test('train --step-loss: checked, recorded in the checkpoint, kept by --resume (a different value is refused)', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const args = ['--data', 'deadleaves:120', '--encoder', 'small', '--T', '2', '--size', '16', '--batch', '8', '--holdout', '16', '--eval-every', '2', '--save-every', '2', '-o', run];
  const bad = await cli(['train', ...args, '--step-loss', '-1', '--steps', '2']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--step-loss/);
  assert.ok(!existsSync(run), 'nothing written for a refused run');
  const a = await cli(['train', ...args, '--step-loss', '0.3', '--steps', '2']);
  assert.equal(a.code, 0, a.err);
  assert.equal(readCheckpoint(join(run, 'checkpoint.stratum')).header.train?.stepLoss, 0.3);
  const clash = await cli(['train', ...args, '--resume', '--step-loss', '0', '--steps', '4']);
  assert.notEqual(clash.code, 0);
  assert.match(clash.err, /--step-loss 0 differs from the run in .*checkpoint\.stratum \(stepLoss 0\.3\)/);
  const b = await cli(['train', ...args, '--resume', '--steps', '4']);
  assert.equal(b.code, 0, b.err);
  assert.equal(readCheckpoint(join(run, 'checkpoint.stratum')).header.train?.stepLoss, 0.3);
});

test('train --ls-loss: checked, recorded in the checkpoint, kept by --resume (a different value is refused)', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const args = ['--data', 'deadleaves:120', '--encoder', 'small', '--T', '2', '--size', '16', '--batch', '8', '--holdout', '16', '--eval-every', '2', '--save-every', '2', '-o', run];
  const bad = await cli(['train', ...args, '--ls-loss', '2', '--steps', '2']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--ls-loss must be a weight in \[0, 1\], got 2/);
  assert.ok(!existsSync(run), 'nothing written for a refused run');
  const a = await cli(['train', ...args, '--ls-loss', '0.5', '--steps', '2']);
  assert.equal(a.code, 0, a.err);
  assert.equal(readCheckpoint(join(run, 'checkpoint.stratum')).header.train?.lsLoss, 0.5);
  const clash = await cli(['train', ...args, '--resume', '--ls-loss', '0', '--steps', '4']);
  assert.notEqual(clash.code, 0);
  assert.match(clash.err, /--ls-loss 0 differs from the run in .*checkpoint\.stratum \(lsLoss 0\.5\)/);
  // resumed without the flag: the run's own objective, and its best model still chosen by the least-squares PSNR
  const b = await cli(['train', ...args, '--resume', '--steps', '4']);
  assert.equal(b.code, 0, b.err);
  assert.equal(readCheckpoint(join(run, 'checkpoint.stratum')).header.train?.lsLoss, 0.5);
  const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; psnrLs?: number });
  const best = readCheckpoint(join(run, 'best.stratum')).header;
  const top = rows.filter((r) => r.psnrLs !== undefined).reduce((x, y) => (y.psnrLs! > x.psnrLs! ? y : x));
  assert.equal(best.info?.heldOutPsnr, top.psnrLs);
});

test('shapes: chooses a bank from training images and writes a new model file; decompose swaps with it (or not, --no-shapes); training drops it; bad requests fail first', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const model = join(dir, 'model.stratum');
  const t = await cli(['train', '--data', 'deadleaves:120', '--encoder', 'small', '--T', '3', '--size', '16', '--steps', '2', '--batch', '8', '--holdout', '16', '--eval-every', '2', '--save-every', '2', '-o', run, '--export', model]);
  assert.equal(t.code, 0, t.err);
  const banked = join(dir, 'banked.stratum');
  // refused before any work: writing over the input, no output, a pool that leaves nothing to choose with
  const same = await cli(['shapes', model, '-o', model, '--data', 'deadleaves:40']);
  assert.notEqual(same.code, 0);
  assert.match(same.err, /model\.stratum/);
  assert.notEqual((await cli(['shapes', model, '--data', 'deadleaves:40'])).code, 0);
  const greedy = await cli(['shapes', model, '-o', banked, '--data', 'deadleaves:40', '--pool-images', '40']);
  assert.notEqual(greedy.code, 0);
  assert.match(greedy.err, /--pool-images 40 leaves none of the 40 images/);
  assert.ok(!existsSync(banked), 'nothing written for a refused request');
  const before = readFileSync(model);
  const s = await cli(['shapes', model, '-o', banked, '--data', 'deadleaves:40', '--pool-images', '30', '--count', '8', '--min-db', '0']);
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(readFileSync(model), before, 'the input model is untouched');
  const ck = readCheckpoint(banked);
  const bank = ck.tensors.get('shapes.p');
  assert.ok(bank && bank.shape[1] === ck.header.model.mask.K && bank.shape[0]! >= 1 && bank.shape[0]! <= 8, `bank shape ${bank?.shape}`);
  assert.equal((ck.header.info?.shapeBank as { count: number }).count, bank!.shape[0]);
  // decompose with the bank: the document says how many swaps it made; --no-shapes does not swap
  const sample = join(import.meta.dirname, '..', 'samples', 'bag.png');
  const d = await cli(['decompose', sample, '--model', banked, '-o', join(dir, 'with'), '--size', '16']);
  assert.equal(d.code, 0, d.err);
  const doc = validateDocument(JSON.parse(readFileSync(join(dir, 'with', 'bag.stratum.json'), 'utf8')));
  assert.equal(typeof doc.source?.shapeSwaps, 'number');
  const n = await cli(['decompose', sample, '--model', banked, '-o', join(dir, 'without'), '--size', '16', '--no-shapes']);
  assert.equal(n.code, 0, n.err);
  assert.equal(validateDocument(JSON.parse(readFileSync(join(dir, 'without', 'bag.stratum.json'), 'utf8'))).source?.shapeSwaps, undefined);
  // --count 0 removes a bank
  const none = join(dir, 'none.stratum');
  assert.equal((await cli(['shapes', banked, '-o', none, '--count', '0'])).code, 0);
  assert.equal(readCheckpoint(none).tensors.get('shapes.p'), undefined);
  // training from a checkpoint with a bank drops it (and says so)
  const run2 = join(dir, 'run2');
  assert.equal((await cli(['train', '--data', 'deadleaves:120', '--encoder', 'small', '--T', '3', '--size', '16', '--steps', '2', '--batch', '8', '--holdout', '16', '--eval-every', '2', '--save-every', '2', '-o', run2])).code, 0);
  const withBank = await cli(['shapes', join(run2, 'checkpoint.stratum'), '-o', join(dir, 'ck-bank.stratum'), '--data', 'deadleaves:40', '--pool-images', '30', '--count', '4', '--min-db', '0']);
  assert.equal(withBank.code, 0, withBank.err);
  writeFileSync(join(run2, 'checkpoint.stratum'), readFileSync(join(dir, 'ck-bank.stratum')));
  const resumed = await cli(['train', '--data', 'deadleaves:120', '--encoder', 'small', '--T', '3', '--size', '16', '--steps', '4', '--batch', '8', '--holdout', '16', '--eval-every', '2', '--save-every', '2', '-o', run2, '--resume']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /shape bank is dropped/);
  assert.equal(readCheckpoint(join(run2, 'checkpoint.stratum')).tensors.get('shapes.p'), undefined);
});

test('-o /dev/stdout: the PNG bytes on the process\'s stdout, the report on stderr', async () => {
  const dir = tmp();
  const doc = join(dir, 'doc.stratum.json');
  writeFileSync(doc, JSON.stringify(testDocument(3)));
  const out = binary(['render', doc, '-o', '/dev/stdout', '--size', '16']);
  assert.equal(out.code, 0, out.err);
  assert.deepEqual([...out.outBytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG on stdout');
  assert.equal((await sharp(out.outBytes).metadata()).width, 16);
  assert.match(out.err, /^wrote \/dev\/stdout \(16×16, /, 'the report on stderr');
});
