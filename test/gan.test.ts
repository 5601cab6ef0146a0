import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { modelConfig } from '../src/config.js';
import { deadLeaves } from '../src/data/deadLeaves.js';
import { GAN_CHECKPOINT, loadGan, trainGan } from '../src/train/ganTrainer.js';
import { onBackend, tmp } from './helpers.js';

test('a few WGAN-GP steps run, change the generator, checkpoint and resume; samples render at any size', async () => {
  await onBackend('native');
  const data = deadLeaves({ n: 64, size: 16, seed: 1 });
  const out = tmp();
  const model = { ...modelConfig({ T: 3, size: 16, encoder: 'small', smallChannels: [8, 16, 16, 16] }), noise: 8 };
  const run = { out, data: 'deadleaves', model, steps: 3, batch: 4, lr: 2e-4, gamma: 10, criticSteps: 2, criticWidth: 8, saveEvery: 3, seed: 0, resume: false, quiet: true };
  const { GanGenerator } = await import('../src/model/ganGenerator.js');
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
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'stratum.js'), 'sample', '--model', join(out, GAN_CHECKPOINT), '--n', '2', '--size', '128', '--out', join(out, 's')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await sharp(join(out, 's', 'sample-1.png')).metadata()).width, 128);
  fresh.dispose();
});
