/**
 * The command line's own behaviour, run in this process (test/cli.ts: main() in a worker thread,
 * no process start-up per call): bad flags and inputs refused in one line, and decompose --layers,
 * --greedy, --refine and --prune checked against the documents they write. The binary as a
 * process, and the command-line jobs that train, are in test/cli.e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { renderDocument, validateDocument } from '../src/core/document.js';
import { readImageFrame } from '../src/data/images.js';
import { stretchedFrame } from '../src/pipeline/decompose.js';
import { cli } from './cli.js';
import { tmp } from './helpers.js';

test('bad flags, missing files and corrupt inputs: one line on stderr, non-zero exit', async () => {
  const dir = tmp();
  const cases: [string[], RegExp][] = [
    [['train', '--steps', 'ten'], /--steps must be an integer/],
    [['train', '--encoder', 'vgg'], /Allowed choices are resnet18, small/],
    [['frobnicate'], /unknown command/],
    [['decompose', join(dir, 'nope.png'), '--model', join(dir, 'none.stratum')], /none\.stratum: no such checkpoint/],
    [['render', join(dir, 'missing.json')], /missing\.json: no such document/],
    [['decompose', 'samples/bag.png', '--refine', '--budget', 'soon'], /--budget must be a positive duration/],
    [['decompose', 'samples/bag.png', '--refine', '--fit-size', '4096'], /--fit-size 4096 is too large/],
    [['decompose', 'samples/bag.png', '--prune', '-1'], /--prune must be a number ≥ 0/],
    [['decompose', 'samples/bag.png', '--budget', '2s'], /--budget needs --layers \(the time to find them\) or --refine/],
    [['decompose', 'samples/bag.png', '--layers', '20', '--refine'], /--refine, --greedy and --prune work on the model's 10 whole-frame layers/],
    [['decompose', 'samples/bag.png', '--layers', '5000'], /--layers 5000 is too many \(at most 1000\)/],
    [['train', '--data', 'folder:/definitely/not/here', '-o', join(dir, 'r')], /no such file or folder/],
  ];
  writeFileSync(join(dir, 'broken.json'), '{"format":"stratum-layers"');
  cases.push([['render', join(dir, 'broken.json')], /broken\.json: not valid JSON/]);
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.err, re, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
    assert.equal(lines.length, 1, `one-line error for ${args.join(' ')}: ${r.err}`);
  }
});

test('decompose --layers N beyond T, then greedy, refine and prune: N layers whose render equals the document render at any size, and the document records how it was made', async () => {
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

