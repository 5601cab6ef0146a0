/**
 * Weights between Stratum and the PyTorch twin: `stratum export-torch` and `import-torch` give
 * back the very same file; the twin reads and writes the same tensors bit for bit; bad input is a
 * one-line error naming it. Run alone with `npm run test:torch`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelConfig } from '../src/config.js';
import { decodeSafetensors, encodeSafetensors } from '../src/research/io/safetensors.js';
import { DEFAULT_MODEL, PACKAGE_ROOT } from '../src/io/paths.js';
import { readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';
import { Decomposer } from '../src/model/decomposer.js';
import { checkpointToSafetensors, safetensorsToCheckpoint, torchName } from '../src/research/model/torchWeights.js';
import { cli } from './support/cli.js';
import { onBackend, tmp } from './support/helpers.js';
import { NO_TORCH, python } from './support/torchHelpers.js';

/** the commands in this process (test/support/cli.ts): what they write and say, without a process start-up each */
const stratum = (...args: string[]) => cli(args);

async function ok(...args: string[]): Promise<string> {
  const r = await stratum(...args);
  assert.equal(r.code, 0, `stratum ${args.join(' ')}: ${r.err}`);
  return r.out;
}

test('export-torch then import-torch rebuilds the same file byte for byte (bundled models, a training checkpoint with Adam state)', async () => {
  const dir = tmp();
  for (const name of ['default', 'photo-checkpoint']) {
    const from = join(PACKAGE_ROOT, 'models', `${name}.stratum`);
    const st = join(dir, `${name}.safetensors`);
    const back = join(dir, `${name}.stratum`);
    assert.match(await ok('export-torch', from, st), new RegExp(`wrote ${st.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ tensors`));
    await ok('import-torch', st, '-o', back);
    assert.ok(readFileSync(back).equals(readFileSync(from)), `${name}: the round trip changed the file`);
  }
  // the same functions in-process for the older model (its header lacks fields a new one has)
  await onBackend('fast');
  const old = join(PACKAGE_ROOT, 'models', 'fashion-mnist.stratum');
  const st = Buffer.concat(checkpointToSafetensors(readCheckpoint(old), old));
  const [bytes] = safetensorsToCheckpoint(decodeSafetensors(new Uint8Array(st), 'fm'), 'fm');
  assert.ok(Buffer.from(bytes!).equals(readFileSync(old)), 'fashion-mnist: the round trip changed the file');
  // the safetensors side: PyTorch's names and layouts, the architecture and the bank in the file
  const file = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'default.safetensors'))), 'default.safetensors');
  assert.deepEqual(file.tensors.get('enc.conv0.weight')!.shape, [32, 6, 3, 3], 'convolutions as [out, in, kh, kw]');
  assert.deepEqual(file.tensors.get('head.p.weight')!.shape, [10, 256], 'linear layers as [out, in]');
  assert.deepEqual(file.tensors.get('shapes.p')!.shape, [1024, 10], 'the shape bank');
  assert.ok(file.tensors.has('enc.bn3.step_mean') && file.tensors.has('enc.bn0.running_var'));
  const header = JSON.parse(file.metadata['stratum.header']!) as { model: { encoder: string; smallPool: string; stopCanvasGrad: boolean } };
  assert.deepEqual([header.model.encoder, header.model.smallPool, header.model.stopCanvasGrad], ['small', 'flatten', true]);
  const ckpt = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'photo-checkpoint.safetensors'))), 'x');
  assert.deepEqual(ckpt.tensors.get('adam.m.enc.conv0.weight')!.shape, [32, 6, 3, 3], "Adam's moments in their parameter's layout");
});

test('a model read and written by the twin comes back to Stratum with the same weights, bit for bit', { skip: NO_TORCH }, async () => {
  await onBackend('fast');
  const dir = tmp();
  // ResNet-18 with encoder GroupNorm and per-pixel mask GroupNorm: the layouts the bundled models do not cover
  const model = new Decomposer(modelConfig({ encoder: 'resnet18', encoderNorm: 'group', T: 2, size: 16, mask: { K: 5, hidden: 16, groups: 4, depth: 2, norm: 'pixel' } }), 9);
  const from = join(dir, 'resnet.stratum');
  saveCheckpoint(from, model, { step: 12, info: { note: 'round trip' } });
  writeFileSync(join(dir, 'a.safetensors'), Buffer.concat(checkpointToSafetensors(readCheckpoint(from), from)));
  python(['-c', 'import sys\nfrom stratum_torch.weights import read_model, write_model\nm, h, _ = read_model(sys.argv[1])\nwrite_model(sys.argv[2], m, h)', join(dir, 'a.safetensors'), join(dir, 'b.safetensors')]);
  const a = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'a.safetensors'))), 'a');
  const b = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'b.safetensors'))), 'b');
  assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort(), 'the twin writes the tensors it read');
  for (const [name, t] of a.tensors) assert.ok(Buffer.from(b.tensors.get(name)!.values.buffer).equals(Buffer.from(t.values.buffer)), `${name} changed in the twin`);
  // written by the twin (no recorded order): Stratum's own order, the same bytes as the original file
  const [back] = safetensorsToCheckpoint(b, 'b.safetensors');
  assert.ok(Buffer.from(back!).equals(readFileSync(from)), 'the twin-written file imports as the original');
  model.dispose();
});

test('export-torch and import-torch: bad input is one line naming it', async () => {
  await onBackend('fast');
  const dir = tmp();
  const good = join(dir, 'good.safetensors');
  await ok('export-torch', DEFAULT_MODEL, good);
  const file = decodeSafetensors(new Uint8Array(readFileSync(good)), good);
  const meta = file.metadata;
  const tensors = [...file.tensors];
  const write = (name: string, bytes: Uint8Array | Uint8Array[]) => {
    const p = join(dir, name);
    writeFileSync(p, Array.isArray(bytes) ? Buffer.concat(bytes) : bytes);
    return p;
  };
  const whole = readFileSync(good);
  const f32As = (dtype: string) => {
    const chunks = encodeSafetensors(tensors, meta);
    const json = new TextDecoder().decode(chunks[1]).replace('"dtype":"F32"', `"dtype":"${dtype}"`);
    return [chunks[0]!, new TextEncoder().encode(json), ...chunks.slice(2)];
  };
  // through the functions the commands call
  const problem = (path: string): string => {
    try {
      safetensorsToCheckpoint(decodeSafetensors(new Uint8Array(readFileSync(path)), path), path);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };
  const header = meta['stratum.header']!;
  const cases: [string, RegExp][] = [
    [write('cut.safetensors', whole.subarray(0, whole.length - 100)), /cut\.safetensors: truncated safetensors file/],
    [write('f16.safetensors', f32As('F16')), /f16\.safetensors: tensor \S+ has dtype "F16"/],
    [write('nometa.safetensors', encodeSafetensors(tensors)), /nometa\.safetensors: no stratum\.header in its __metadata__/],
    [write('lacks.safetensors', encodeSafetensors(tensors.filter(([n]) => n !== 'mask.l1.weight'), { 'stratum.header': header })), /lacks\.safetensors: lacks mask\.l1\.weight/],
    [write('extra.safetensors', encodeSafetensors([...tensors, ['critic.w', { shape: [1], values: new Float32Array(1) }]], { 'stratum.header': header })), /extra\.safetensors: unexpected tensor critic\.w/],
    [write('shape.safetensors', encodeSafetensors(tensors.map(([n, t]) => [n, n === torchName('head.p.w') ? { shape: [256, 10], values: t.values } : t]), meta)), /shape\.safetensors: head\.p\.weight has shape \[256,10\], expected \[10,256\]/],
    [write('arch.safetensors', encodeSafetensors(tensors, { 'stratum.header': header.replace('"T":10', '"T":0') })), /arch\.safetensors: model\.T must be an integer/],
    [write('bank.safetensors', encodeSafetensors(tensors.map(([n, t]) => [n, n === 'shapes.p' ? { shape: [2048, 5], values: t.values } : t]), meta)), /bank\.safetensors: shape bank shapes\.p/],
    [write('order.safetensors', encodeSafetensors(tensors, { ...meta, 'stratum.order': '["enc.conv0.w"]' })), /order\.safetensors: stratum\.order .* does not list the file's \d+ tensors/],
  ];
  for (const [path, re] of cases) {
    const why = problem(path);
    assert.match(why, re, path);
    assert.equal(why.split('\n').length, 1, `one line: ${why}`);
  }
  // and through the command line: one line on stderr, a non-zero exit
  const cli: [string[], RegExp][] = [
    [['import-torch', join(dir, 'none.safetensors'), '-o', join(dir, 'o.stratum')], /none\.safetensors: no such safetensors file/],
    [['import-torch', write('junk.safetensors', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), '-o', join(dir, 'o.stratum')], /junk\.safetensors: not a safetensors file/],
    [['import-torch', good, '-o', good], /is the input/],
    [['export-torch', write('bad.stratum', new Uint8Array(40)), join(dir, 'x.safetensors')], /bad\.stratum: not a Stratum checkpoint/],
  ];
  for (const [args, re] of cli) {
    const r = await stratum(...args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.err, re, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.err}`);
  }
  // an extra tensor Stratum does not know (a GAN critic's, say) is not exported silently
  const withCritic = join(dir, 'critic.stratum');
  const model = new Decomposer(modelConfig({ encoder: 'small', T: 2, size: 16 }));
  saveCheckpoint(withCritic, model, { extra: [['critic.conv0.w', model.store.get('enc.conv0.w')]] });
  model.dispose();
  assert.throws(() => checkpointToSafetensors(readCheckpoint(withCritic), withCritic), /critic\.stratum: tensor critic\.conv0\.w is not part of the reconstruction model/);
});
