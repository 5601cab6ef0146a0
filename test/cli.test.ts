import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tmp } from './helpers.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'stratum.js');

function stratum(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('bad flags, missing files and corrupt inputs: one line on stderr, non-zero exit', () => {
  const dir = tmp();
  const cases: [string[], RegExp][] = [
    [['train', '--steps', 'ten'], /--steps must be an integer/],
    [['train', '--encoder', 'vgg'], /Allowed choices are resnet18, small/],
    [['frobnicate'], /unknown command/],
    [['decompose', join(dir, 'nope.png'), '--model', join(dir, 'none.stratum')], /none\.stratum: no such checkpoint/],
    [['render', join(dir, 'missing.json')], /missing\.json: no such document/],
    [['train', '--data', 'folder:/definitely/not/here', '-o', join(dir, 'r')], /no such file or folder/],
  ];
  writeFileSync(join(dir, 'broken.json'), '{"format":"stratum-layers"');
  cases.push([['render', join(dir, 'broken.json')], /broken\.json: not valid JSON/]);
  for (const [args, re] of cases) {
    const r = stratum(...args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.err, re, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
    assert.equal(lines.length, 1, `one-line error for ${args.join(' ')}: ${r.err}`);
  }
});

test('--version prints the package version', () => {
  const r = stratum('--version');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version);
});

test('train -> decompose -> render end to end through the CLI', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const model = join(dir, 'model.stratum');
  const t = stratum('train', '--data', 'deadleaves:200', '--encoder', 'small', '--T', '3', '--size', '16', '--steps', '4', '--batch', '8', '--holdout', '16', '--eval-every', '2', '--save-every', '2', '-o', run, '--export', model);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /held-out PSNR [\d.]+ dB after 4 steps/);
  assert.ok(existsSync(model));
  const img = join(dir, 'in.png');
  const raw = Buffer.alloc(40 * 30 * 3, 200);
  await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(img);
  const d = stratum('decompose', img, '--model', model, '-o', join(dir, 'out'), '--size', '64');
  assert.equal(d.code, 0, d.err);
  const files = readdirSync(join(dir, 'out')).sort();
  assert.deepEqual(files, ['in.layers.png', 'in.png', 'in.stratum.json']);
  const meta = await sharp(join(dir, 'out', 'in.png')).metadata();
  assert.equal(meta.width, 64);
  // each layer's contribution, printed and kept in the document
  const printed = /layer contributions at 16², bottom first \(dB lost when removed\): (\S+) (\S+) (\S+); \d of 3 below 0\.1 dB/.exec(d.out);
  assert.ok(printed, d.out);
  const written = (JSON.parse(readFileSync(join(dir, 'out', 'in.stratum.json'), 'utf8')) as { layers: { contributionDb: number }[] }).layers;
  written.forEach((l, t) => assert.ok(Math.abs(l.contributionDb - Number(printed[t + 1])) <= 0.0051, `layer ${t}: ${l.contributionDb} vs ${printed[t + 1]}`));
  const refined = stratum('decompose', img, '--model', model, '-o', join(dir, 'refined'), '--size', '32', '--refine', '5');
  assert.equal(refined.code, 0, refined.err);
  assert.match(refined.out, /refinement 5 steps: [\d.]+ -> [\d.]+ dB/);
  const r = stratum('render', join(dir, 'out', 'in.stratum.json'), '--width', '100', '--height', '50', '-o', join(dir, 'big.png'));
  assert.equal(r.code, 0, r.err);
  const m2 = await sharp(join(dir, 'big.png')).metadata();
  assert.deepEqual([m2.width, m2.height], [100, 50]);
  // fine-tune the trained model on another data set: the architecture comes from the model file
  const tuned = stratum('train', '--data', 'deadleaves:120', '--init', model, '--steps', '2', '--batch', '8', '--holdout', '16', '--eval-every', '2', '-o', join(dir, 'tuned'));
  assert.equal(tuned.code, 0, tuned.err);
  assert.match(tuned.err, /initialised from .*model\.stratum/);
  assert.match(tuned.err, /small encoder, T=3, K=10, 16²/);
  const clash = stratum('train', '--data', 'deadleaves:120', '--init', model, '--T', '5', '-o', join(dir, 'clash'));
  assert.notEqual(clash.code, 0);
  assert.match(clash.err, /--T 5 differs from the model in .*model\.stratum \(T 3\)/);
  assert.ok(!existsSync(join(dir, 'clash')), 'nothing written for a refused run');
  writeFileSync(join(dir, 'bad.png'), 'not a png at all');
  const bad = stratum('decompose', join(dir, 'bad.png'), '--model', model, '-o', join(dir, 'out2'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /bad\.png: cannot read image/);
  assert.ok(!existsSync(join(dir, 'out2')), 'nothing written for a bad input');
});
