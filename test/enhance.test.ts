/**
 * The enhancer (the paper's Fig. 6): a U-Net that starts as the identity, runs on any size (banded
 * as whole), learns its residual on pairs, resumes, and refuses foreign or broken files in one line.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '../src/core/tf.js';
import { useBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/research/data/datasets.js';
import { UNet } from '../src/research/model/unet.js';
import { loadEnhancer, renderPairs, scoreEnhancer, trainEnhancer, ENHANCER_FILE, type EnhanceRun, type Pairs } from '../src/research/train/enhanceTrainer.js';
import { loadModel } from '../src/model/checkpoint.js';
import { DEFAULT_MODEL } from '../src/io/paths.js';
import { saveDocument } from '../src/export/documentFile.js';
import { decomposePipeline } from '../src/pipeline/decompose.js';
import { cli } from './support/cli.js';
import { psnr, tmp } from './support/helpers.js';

await useBackend('auto');

const run = (out: string, o: Partial<EnhanceRun> = {}): EnhanceRun => ({ out, data: 'test', net: { kind: 'unet', width: 8, depth: 2 }, size: 16, steps: 30, batch: 8, lr: 3e-3, lambda: 0, criticWidth: 8, saveEvery: 10, evalEvery: 10, seed: 1, resume: false, quiet: true, ...o });

/** pairs whose "render" is the photo darkened to 60 %: a residual the enhancer can learn in a few steps */
function darkened(set: { n: number; size: number; data: Uint8Array }): Pairs {
  return { renders: { ...set, data: set.data.map((v) => Math.round(v * 0.6)) }, photos: set };
}

test('the U-Net starts as the identity; banded over a non-multiple size it equals the whole image', () => {
  const net = new UNet({ kind: 'unet', width: 8, depth: 2 }, 3);
  const W = 37;
  const H = 29;
  const rgb = Float32Array.from({ length: W * H * 3 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
  const same = net.enhanceImage(rgb, W, H);
  assert.ok(Math.max(...same.map((v, i) => Math.abs(v - rgb[i]!))) < 1e-6, 'a fresh enhancer returns its input');
  // a residual that is not zero: the output layer given random weights
  net.store.get('out.w').assign(tf.randomNormal([1, 1, 8, 3], 0, 0.3, 'float32', 5));
  const whole = net.enhanceImage(rgb, W, H, 4096);
  const banded = net.enhanceImage(rgb, W, H, 4);
  assert.equal(whole.length, W * H * 3);
  assert.ok(Math.max(...whole.map((v, i) => Math.abs(v - rgb[i]!))) > 0.01, 'the residual changes the image');
  assert.ok(Math.max(...whole.map((v, i) => Math.abs(v - banded[i]!))) < 1e-4, 'bands of 4 rows with their context give the whole-image result');
  net.dispose();
});

test('pairs are the default decomposition rendered at the crop size; training learns the residual, held out', async () => {
  const { model } = loadModel(DEFAULT_MODEL);
  const set = await loadDataset('deadleaves:12', { size: 16, seed: 2 });
  const pairs = renderPairs(model, set, 'pairs', true);
  assert.equal(pairs.renders.data.length, set.data.length);
  // render i is what decompose + render gives for photo i
  const px = 16 * 16 * 3;
  const { doc } = decomposePipeline(model, { width: 16, height: 16, rgb: set.data.subarray(3 * px, 4 * px) });
  const { render } = await import('../src/index.js');
  const r3 = render(doc, 16, 16).rgb;
  assert.ok(Math.max(...Array.from(r3, (v, i) => Math.abs(Math.round(Math.min(1, Math.max(0, v)) * 255) - pairs.renders.data[3 * px + i]!))) <= 1);
  assert.ok(psnr(pairs.renders.data, set.data, 12, 1 / 255, 1 / 255) > 10, 'renders look like their photos');
  model.dispose();

  const train = darkened(await loadDataset('deadleaves:64', { size: 16, seed: 3 }));
  const test = darkened(await loadDataset('deadleaves:16', { size: 16, seed: 4 }));
  const dir = tmp();
  const net = await trainEnhancer(run(dir), train, test);
  const s = scoreEnhancer(net, test);
  assert.ok(s.enhanced.psnr > s.render.psnr + 3, `held out: enhanced ${s.enhanced.psnr.toFixed(2)} dB should beat the render's ${s.render.psnr.toFixed(2)} by 3 dB`);
  assert.ok(s.enhanced.ssim > s.render.ssim);
  assert.ok(existsSync(join(dir, 'enhance-curves.png')));
  net.dispose();
});

test('with a critic (λ > 0) a killed run resumes to the unbroken run; foreign and broken files are one-line errors', async () => {
  const train = darkened(await loadDataset('deadleaves:32', { size: 16, seed: 3 }));
  const test = darkened(await loadDataset('deadleaves:8', { size: 16, seed: 4 }));
  const whole = tmp();
  const a = await trainEnhancer(run(whole, { steps: 6, saveEvery: 3, lambda: 0.01 }), train, test);
  const part = tmp();
  (await trainEnhancer(run(part, { steps: 3, saveEvery: 3, lambda: 0.01 }), train, test)).dispose();
  const b = await trainEnhancer(run(part, { steps: 6, saveEvery: 3, lambda: 0.01, resume: true }), train, test);
  for (const [name, e] of a.store.entries) {
    const d = tf.tidy(() => tf.max(tf.abs(e.variable.sub(b.store.get(name)))).dataSync()[0]!);
    assert.ok(d < 1e-5, `${name} differs by ${d} after resuming`);
  }
  const loaded = loadEnhancer(join(whole, ENHANCER_FILE), undefined, 16);
  assert.ok(loaded.adv, 'the checkpoint holds the critic');
  assert.equal(loaded.step, 6);
  await assert.rejects(trainEnhancer(run(whole, { steps: 6 }), train, test), /exists: pass --resume/);
  assert.throws(() => loadEnhancer(DEFAULT_MODEL), /not an enhancer/);
  const cut = join(tmp(), 'cut.stratum');
  copyFileSync(join(whole, ENHANCER_FILE), cut);
  truncateSync(cut, 2000);
  assert.throws(() => loadEnhancer(cut), /cut\.stratum: truncated/);
  const bad = join(tmp(), 'bad.stratum');
  const bytes = readFileSync(join(whole, ENHANCER_FILE));
  writeFileSync(bad, Buffer.from(bytes.toString('latin1').replace('"depth":2', '"depth":9'), 'latin1'));
  assert.throws(() => loadEnhancer(bad), /bad\.stratum: model\.depth must be an integer in \[1, 5\]/);
  a.dispose();
  b.dispose();
});

test('stratum enhance renders a document at its frame and enhances it; --photo gives both PSNRs; bad inputs are one line', async () => {
  const dir = tmp();
  const t = await cli(['train-enhancer', '--data', 'deadleaves:12', '--test', 'deadleaves:4', '--size', '16', '--steps', '2', '--width', '4', '--depth', '2', '--critic-width', '4', '-o', join(dir, 'run')]);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /held out \(4 pairs at 16²\): render [\d.]+ dB \(median [\d.]+\) \/ SSIM [\d.]+ \/ sharpness [\d.]+; enhanced [\d.]+ dB/);
  for (const f of ['enhance.png', 'enhance.json', 'enhance-curves.png', ENHANCER_FILE]) assert.ok(existsSync(join(dir, 'run', f)), f);
  // the pairs are kept: a resumed run reads them instead of decomposing the photos again
  const pairsFile = join(dir, 'run', 'pairs-train.bin');
  const made = statSync(pairsFile).mtimeMs;
  const again = await cli(['train-enhancer', '--data', 'deadleaves:12', '--test', 'deadleaves:4', '--size', '16', '--steps', '3', '--width', '4', '--depth', '2', '--critic-width', '4', '--resume', '-o', join(dir, 'run')]);
  assert.equal(again.code, 0, again.err);
  assert.equal(statSync(pairsFile).mtimeMs, made);
  assert.equal(loadEnhancer(join(dir, 'run', ENHANCER_FILE)).step, 3);
  // the file to ship holds the U-Net alone: no critic, no optimiser state
  const net = join(dir, 'run', 'enhancer-weights.stratum');
  assert.equal(loadEnhancer(net, undefined, 16).adv, null);
  const { model } = loadModel(DEFAULT_MODEL);
  const photo = join(dir, 'photo.png');
  const sharp = (await import('sharp')).default;
  const rgb = (await loadDataset('deadleaves:1', { size: 48, seed: 9 })).data;
  await sharp(Buffer.from(rgb), { raw: { width: 48, height: 48, channels: 3 } }).extract({ left: 0, top: 0, width: 48, height: 30 }).png().toFile(photo);
  const { decompose } = await import('../src/index.js');
  const docPath = join(dir, 'photo.stratum.json');
  saveDocument(docPath, await decompose(model, photo));
  model.dispose();
  const out = join(dir, 'big.png');
  const r = await cli(['enhance', docPath, '--net', net, '--size', '80', '--photo', photo, '--compare', join(dir, 'cmp.png'), '-o', out]);
  assert.equal(r.code, 0, r.err);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [80, 50]);
  assert.match(r.out, /render \d+\.\d+ dB, enhanced \d+\.\d+ dB/);
  assert.ok(existsSync(join(dir, 'cmp.png')));
  const missing = await cli(['enhance', docPath, '--net', join(dir, 'none.stratum')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /none\.stratum: no such enhancer/);
  assert.equal(missing.err.trim().split('\n').length, 1);
  const self = await cli(['enhance', docPath, '--net', net, '-o', docPath]);
  assert.equal(self.code, 1);
  assert.equal(self.err.trim().split('\n').length, 1);
  const notNet = await cli(['enhance', docPath, '--net', DEFAULT_MODEL, '-o', join(dir, 'x.png')]);
  assert.match(notNet.err, /not an enhancer/);
  assert.ok(!existsSync(join(dir, 'x.png')));
  const badSize = await cli(['train-enhancer', '--size', '48', '-o', join(dir, 'r')]);
  assert.match(badSize.err, /--size 48: must be a power of two/);
});
