/**
 * The GAN's training run: a few WGAN-GP steps, checkpoint and resume, and `stratum sample` of it (in this process, test/support/cli.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { modelConfig } from '../src/config.js';
import { renderDocument } from '../src/core/document.js';
import { loadDocument } from '../src/export/documentFile.js';
import { deadLeaves } from '../src/research/data/deadLeaves.js';
import { GAN_CHECKPOINT, loadGan, trainGan } from '../src/research/train/ganTrainer.js';
import { cli } from './support/cli.js';
import { onBackend, tmp } from './support/helpers.js';

test('a few WGAN-GP steps run, change the generator, checkpoint and resume; samples render at any size', async () => {
  await onBackend('fast');
  const data = deadLeaves({ n: 64, size: 16, seed: 1 });
  const out = tmp();
  const model = { ...modelConfig({ T: 3, size: 16, encoder: 'small', smallChannels: [8, 16, 16, 16] }), noise: 8 };
  const run = { out, data: 'deadleaves', model, steps: 3, batch: 4, lr: 2e-4, gamma: 10, criticSteps: 2, criticWidth: 8, saveEvery: 3, seed: 0, resume: false, quiet: true };
  const { GanGenerator } = await import('../src/research/model/ganGenerator.js');
  const fresh = new GanGenerator(model, 0);
  const { g } = await trainGan(run, data);
  let changed = 0;
  for (const [name, e] of fresh.store.entries) {
    const a = e.variable.dataSync();
    const b = g.store.get(name).dataSync();
    if (a.some((v, i) => v !== b[i])) changed++;
  }
  assert.ok(changed > 10, `only ${changed} generator tensors changed`);
  assert.ok(existsSync(join(out, GAN_CHECKPOINT)) && existsSync(join(out, 'samples.png')));
  const back = loadGan(join(out, GAN_CHECKPOINT));
  assert.equal(back.step, 3);
  assert.deepEqual(back.g.store.get('head.p.w').dataSync(), g.store.get('head.p.w').dataSync());
  await trainGan({ ...run, steps: 4, resume: true }, data);
  assert.equal(loadGan(join(out, GAN_CHECKPOINT)).step, 4);
  const r = await cli(['sample', '--model', join(out, GAN_CHECKPOINT), '--n', '2', '--size', '128', '--sheet-size', '16', '-o', join(out, 's')]);
  assert.equal(r.code, 0, r.err);
  assert.equal((await sharp(join(out, 's', 'sample-1.png')).metadata()).width, 128);
  // sheet.png: one row per sample, the canvas after each of the T layers; the last is the full render
  const sheet = await sharp(join(out, 's', 'sheet.png')).raw().toBuffer({ resolveWithObject: true });
  const gap = 2;
  const band = 16;
  assert.equal(sheet.info.width, 3 * (16 + gap) + gap);
  assert.equal(sheet.info.height, band + 2 * (16 + gap) + gap);
  for (let i = 0; i < 2; i++) {
    const full = renderDocument(loadDocument(join(out, 's', `sample-${i}.stratum.json`)), 16).rgb;
    const ox = gap + 2 * (16 + gap);
    const oy = band + gap + i * (16 + gap);
    let worst = 0;
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        for (let c = 0; c < 3; c++) {
          const v = sheet.data[((oy + y) * sheet.info.width + ox + x) * sheet.info.channels + c]! / 255;
          worst = Math.max(worst, Math.abs(v - full[(y * 16 + x) * 3 + c]!));
        }
      }
    }
    assert.ok(worst <= 1 / 255 + 1e-6, `sample ${i}: last sheet column differs from its render by ${worst}`);
  }
  fresh.dispose();
});

test("a GAN with the critic's minibatch-sd keeps it in its checkpoint, and a resumed run keeps the checkpoint's", async () => {
  await onBackend('fast');
  const data = deadLeaves({ n: 16, size: 16, seed: 1 });
  const out = tmp();
  const model = { ...modelConfig({ T: 2, size: 16, encoder: 'small', smallChannels: [8, 16, 16, 16] }), noise: 8 };
  const run = { out, data: 'deadleaves', model, steps: 1, batch: 4, lr: 2e-4, gamma: 10, criticSteps: 1, criticWidth: 8, criticMbstd: 2, saveEvery: 1, seed: 0, resume: false, quiet: true };
  const { critic } = await trainGan(run, data);
  const back = loadGan(join(out, GAN_CHECKPOINT));
  assert.equal(back.critic.cfg.mbstd, 2);
  assert.deepEqual(back.critic.store.get('critic.c1.w').dataSync(), critic.store.get('critic.c1.w').dataSync());
  assert.deepEqual(back.critic.store.get('critic.c1.w').shape, [3, 3, 9, 1], "the first convolution's 8 channels and the minibatch sd");
  const resumed = await trainGan({ ...run, steps: 2, resume: true, criticMbstd: 0 }, data);
  assert.equal(resumed.critic.cfg.mbstd, 2);
  const r = await cli(['gan', '--data', 'deadleaves:8', '--size', '16', '--batch', '4', '--critic-mbstd', '8', '-o', join(out, 'x')]);
  assert.notEqual(r.code, 0);
  assert.match(r.err.trim(), /^.*--critic-mbstd 8: a group of the critic's minibatch standard deviation is at most the batch \(--batch 4\)$/);
});
