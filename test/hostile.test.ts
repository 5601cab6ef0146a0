/**
 * The last hostile inputs of issue 20, through the command line: bad flags refused naming the
 * flag before any file or folder is made, documents and model files with values beyond float32 or
 * nesting 100,000 levels deep, lists made long, unknown commands, commander's errors on one line,
 * a path with a newline, and outputs that are devices. The commands run in this process
 * (test/support/cli.ts), without a process start-up per call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { saveDocument } from '../src/export/documentFile.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { Decomposer } from '../src/model/decomposer.js';
import { modelConfig } from '../src/config.js';
import { cli, type CliResult } from './support/cli.js';
import { onBackend, testDocument, tmp } from './support/helpers.js';

/** `stratum ARGS` in this process (test/support/cli.ts); -o /dev/stdout, which needs a process of its own, is in cli.e2e.test.ts */
const stratum = (args: string[]) => cli(args);

/** refused: a non-zero exit and exactly one line on stderr matching `re` */
function refused(r: CliResult, re: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what} should fail`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got ${r.err}`);
  assert.match(lines[0]!, re, what);
}

async function setup(): Promise<{ dir: string; doc: string; img: string }> {
  await onBackend('cpu');
  const dir = tmp();
  const doc = join(dir, 'doc.stratum.json');
  saveDocument(doc, testDocument(3));
  const img = join(dir, 'photo.png');
  await sharp(Buffer.alloc(40 * 30 * 3, 120), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(img);
  return { dir, doc, img };
}

test('edit: bad --tint and --brighten amounts, long and bad lists, --k beyond float32: refused naming the flag, nothing written', async () => {
  const { dir, doc, img } = await setup();
  const before = readdirSync(dir).sort();
  const png = join(dir, 't.png');
  refused(await stratum(['edit', doc, '--image', img, '--tint', '0:#ff0000:abc', '--png', png]), /--tint strength must be a decimal number in \[0, 1\], got 'abc'/, '--tint 0:#ff0000:abc');
  refused(await stratum(['edit', doc, '--image', img, '--brighten', '0:abc', '--png', png]), /--brighten amount must be a decimal number in \[-1, 100\], got 'abc'/, '--brighten 0:abc');
  refused(await stratum(['edit', doc, '--image', img, '--brighten', '0:1e39', '--png', png]), /--brighten amount must be a decimal number/, '--brighten 0:1e39');
  refused(await stratum(['edit', doc, '--image', img, '--tint', '0:#ff00:0.5', '--png', png]), /--tint: bad colour '#ff00'/, '--tint with a bad colour');
  refused(await stratum(['edit', doc, '--image', img, '--tint', '7:#ff0000:0.5', '--png', png]), /--tint: no layer 7: the document has layers 0-2/, '--tint on a missing layer');
  const k20000 = Array.from({ length: 20000 }, (_, i) => i + 1).join(',');
  const t0 = Date.now();
  refused(await stratum(['edit', doc, '--jitter', '0', '--k', k20000, '--strip', join(dir, 's.png')]), /argument '1,2,3,[\d,]*…' is invalid\. --k lists 20000 steps; at most 60 \(run with --help for usage\)$/, '--k with 20,000 steps');
  assert.ok(Date.now() - t0 < 60_000, 'refused before the work');
  refused(await stratum(['edit', doc, '--jitter', '0', '--k', '1e308', '--strip', join(dir, 's.png')]), /--k value '1e308' is not finite in float32/, '--k 1e308');
  refused(await stratum(['edit', doc, '--jitter', '0', '--k', 'NaN', '--strip', join(dir, 's.png')]), /--k must be a decimal number/, '--k NaN');
  refused(await stratum(['edit', doc, '--jitter', '0', '--k', '1,,2', '--strip', join(dir, 's.png')]), /--k must be a decimal number/, '--k 1,,2');
  refused(await stratum(['edit', doc, '--hide', k20000, '-o', join(dir, 'h.json')]), /--hide lists 20000 layers; the document has only 3/, '--hide with 20,000 entries');
  refused(await stratum(['edit', doc, '--remove', '0,1,2,0', '-o', join(dir, 'h.json')]), /--remove lists 4 layers; the document has only 3/, '--remove with a repeat past the layers');
  refused(await stratum(['edit', doc, ...Array.from({ length: 1025 }, () => ['--move', '0:1']).flat(), '-o', join(dir, 'h.json')]), /--move is given 1025 times; at most 1024/, '1,025 moves');
  refused(await stratum(['edit', doc, '--show', '5', '-o', join(dir, 'h.json')]), /--show: no layer 5/, '--show 5');
  refused(await stratum(['edit', doc, '--jitter', '0,1']), /--jitter takes one layer index, got '0,1'/, '--jitter 0,1');
  assert.deepEqual(readdirSync(dir).sort(), before, 'no file written by a refused edit');
  // the ones that are fine
  const ok = await stratum(['edit', doc, '--image', img, '--tint', '0:#ff0000:0.3', '--png', png]);
  assert.equal(ok.code, 0, ok.err);
  const j = await stratum(['edit', doc, '--jitter', '1', '--k', '-1,0,1.5', '--strip', join(dir, 's.png'), '--size', '32']);
  assert.equal(j.code, 0, j.err);
});

test('documents and model files beyond float32, or nesting 100,000 levels: refused at load with one line naming the field', async () => {
  const { dir, doc } = await setup();
  const text = readFileSync(doc, 'utf8');
  const good = JSON.parse(text);
  const write = (name: string, d: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(d));
    return join(dir, name);
  };
  const p = structuredClone(good);
  p.layers[0].p[0] = 1e39;
  refused(await stratum(['render', write('p.json', p), '-o', join(dir, 'p.png'), '--size', '16']), /p\.json: layer 0 p\[0\] = 1e\+39 is not finite in float32/, 'p = 1e39');
  const w = structuredClone(good);
  w.weights['mask.out.b'].data = Buffer.from(Float32Array.of(NaN).buffer).toString('base64');
  refused(await stratum(['export', write('w.json', w), '-o', join(dir, 'w.psd'), '--size', '16']), /w\.json: weight mask\.out\.b\[0\] = NaN is not finite in float32/, 'NaN mask weight');
  // 100,000 levels of `source` (written by hand: JSON.stringify itself overflows on it)
  const deep = join(dir, 'deep.json');
  writeFileSync(deep, `{"source":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)},${text.trim().slice(1)}`);
  refused(await stratum(['render', deep, '-o', join(dir, 'deep.png'), '--size', '16']), /deep\.json: nests objects or lists more than 64 levels deep/, 'render a 100k-level document');
  refused(await stratum(['edit', deep, '--hide', '0', '-o', join(dir, 'deep2.json')]), /deep\.json: nests objects or lists more than 64 levels deep/, 'edit -o a 100k-level document');
  // a model file whose weights hold Infinity
  const model = new Decomposer(modelConfig({ encoder: 'small', T: 2, size: 16, mask: { hidden: 16, groups: 4, depth: 1 } }), 1);
  const m = join(dir, 'm.stratum');
  saveCheckpoint(m, model, { weightsOnly: true });
  model.dispose();
  const buf = readFileSync(m);
  const hlen = buf.readUInt32LE(8);
  const t = JSON.parse(buf.subarray(12, 12 + hlen).toString()).tensors[0] as { name: string; offset: number };
  buf.writeFloatLE(Infinity, 12 + hlen + t.offset);
  writeFileSync(m, buf);
  const name = t.name.replace(/[.[\]]/g, (c) => `\\${c}`);
  refused(await stratum(['decompose', doc, '--model', m, '-o', join(dir, 'out')]), new RegExp(`m\\.stratum: tensor ${name}\\[0\\] = Infinity is not finite in float32`), 'a model tensor holding Infinity');
  refused(await stratum(['export-model', m, join(dir, 'm2.stratum')]), /m\.stratum: tensor .* = Infinity is not finite in float32/, 'export-model of it');
  assert.ok(!existsSync(join(dir, 'out')) && !existsSync(join(dir, 'm2.stratum')) && !existsSync(join(dir, 'p.png')));
});

test('train --K 100000 and other out-of-range model flags: refused naming the flag before any run folder exists', async () => {
  const dir = tmp();
  for (const [args, re] of [
    [['train', '--K', '100000'], /^stratum: --K 100000 is out of range: the mask parameters per layer must lie in \[1, 256\]$/],
    [['train', '--T', '5000'], /--T 5000 is out of range/],
    [['train', '--size', '4096'], /--size 4096 is out of range/],
    [['gan', '--K', '300'], /--K 300 is out of range/],
    [['gan', '--noise', '100000'], /--noise 100000 is out of range/],
    [['train', '--lr', '1e39'], /--lr must be a positive number finite in float32/],
  ] as [string[], RegExp][]) {
    refused(await stratum([...args, '-o', join(dir, 'run')]), re, args.join(' '));
    assert.ok(!existsSync(join(dir, 'run')), `${args.join(' ')}: no run folder`);
  }
});

test('unknown commands exit non-zero; commander errors are one line', async () => {
  for (const args of [['nonsense'], ['nonsense', '--help'], ['help', 'nonsense'], ['nonsense', 'doc.json']]) {
    refused(await stratum(args), /^stratum: unknown command 'nonsense' \(commands: train, .*\) \(run with --help for usage\)$/, args.join(' '));
  }
  refused(await stratum(['render', '--bogus', 'x']), /^stratum: unknown option '--bogus' \(run with --help for usage\)$/, 'unknown option');
  refused(await stratum(['render']), /^stratum: missing required argument 'doc' \(run with --help for usage\)$/, 'missing argument');
  refused(await stratum(['render', 'x', '--size', 'big']), /^stratum: option '--size <n>' argument 'big' is invalid\. --size must be an integer/, 'bad value');
  assert.equal((await stratum(['help'])).code, 0);
  assert.equal((await stratum(['render', '--help'])).code, 0);
  assert.notEqual((await stratum([])).code, 0, 'no command: the usage, and an error exit');
});

test('a path with a newline stays on one line in the report and in errors', async () => {
  const { dir, doc } = await setup();
  const odd = join(dir, 'a\nwrote fake.png');
  const r = await stratum(['render', doc, '-o', odd, '--size', '16']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trimEnd().split('\n').length, 1, r.out);
  assert.ok(r.out.includes(JSON.stringify(odd)), r.out);
  assert.ok(existsSync(odd));
  refused(await stratum(['render', join(dir, 'no\nsuch.json')]), /no\\nsuch\.json: no such document/, 'a missing document with a newline');
});

test('-o on a device: /dev/null works, a character device made with mknod stays one, /dev/full fails', async () => {
  const { dir, doc } = await setup();
  const nul = await stratum(['render', doc, '-o', '/dev/null', '--size', '16']);
  assert.equal(nul.code, 0, nul.err);
  assert.ok(lstatSync('/dev/null').isCharacterDevice());
  const dev = join(dir, 'dev.png');
  assert.equal(spawnSync('mknod', [dev, 'c', '1', '3']).status, 0, 'mknod (CI runs as root)');
  for (const args of [['render', doc, '-o', dev, '--size', '16'], ['export', doc, '-o', dev, '--format', 'psd', '--size', '16'], ['edit', doc, '--hide', '0', '-o', dev]]) {
    const r = await stratum(args);
    assert.equal(r.code, 0, `${args[0]}: ${r.err}`);
    assert.ok(lstatSync(dev).isCharacterDevice(), `${args[0]}: still a character device`);
  }
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('stratum-tmp')), []);
  if (existsSync('/dev/full')) {
    refused(await stratum(['render', doc, '-o', '/dev/full', '--size', '16']), /^stratum: \/dev\/full: cannot write \(no space left on device, ENOSPC\)$/, '-o /dev/full');
    assert.ok(lstatSync('/dev/full').isCharacterDevice());
  }
  // -o /dev/stdout: test/cli.e2e.test.ts (the bytes on a process's own stdout)
});

test('long requests elsewhere: decompose --greedy past the layer cap, sample --n past the sheet, eval --T past the cap', async () => {
  const { dir, img } = await setup();
  refused(await stratum(['decompose', img, '--greedy', '100000', '-o', join(dir, 'o')]), /--greedy 100000: at most 64 layers in all for this model \(T=10\), 10 of them from the encoder/, '--greedy 100000');
  refused(await stratum(['sample', '--n', '1000000', '-o', join(dir, 's')]), /--n 1000000: at most 1024 samples/, '--n 1000000');
  refused(await stratum(['eval', '--T', '100000', '--data', 'deadleaves:16']), /--T 100000 is far beyond the model's T=10 \(at most 64\)/, 'eval --T 100000');
  assert.ok(!existsSync(join(dir, 'o')) && !existsSync(join(dir, 's')));
});
