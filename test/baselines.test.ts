import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/core/tf.js';
import { BaselineAE, BASELINES, latentSize } from '../src/model/baselines.js';
import { newCtx } from '../src/model/nn.js';
import { Adam } from '../src/train/adam.js';
import { l1, optimiseStep } from '../src/train/step.js';
import { TRAIN_DEFAULTS } from '../src/config.js';
import { onBackend } from './helpers.js';

test('latent size |z| = T·(K+3): 130 for T=10 K=10, 260 for T=20 K=10', () => {
  assert.equal(latentSize(10, 10), 130);
  assert.equal(latentSize(20, 10), 260);
});

for (const kind of BASELINES) {
  test(`baseline ${kind}: latent of size |z|, output [B, S, S, 3] in (0, 1), and one L1 step lowers the loss`, async () => {
    await onBackend('native');
    const m = new BaselineAE({ kind, size: 16, latent: 130, encoder: 'small', smallChannels: [16, 32, 32, 32], hidden: 64 }, 1);
    const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    tf.tidy(() => {
      const z = m.encode(x, newCtx(false));
      assert.deepEqual(z.shape, [4, 130]);
      const y = m.decode(z, newCtx(false));
      assert.deepEqual(y.shape, [4, 16, 16, 3]);
      const v = y.dataSync();
      assert.ok(v.every((a) => a > 0 && a < 1));
    });
    const opt = new Adam({ ...TRAIN_DEFAULTS, lr: 3e-3 });
    const losses = Array.from({ length: 8 }, () => optimiseStep(m.store, opt, (ctx) => l1(m.forward(x, ctx), x)));
    assert.ok(losses.at(-1)! < losses[0]!, `${kind}: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    x.dispose();
    opt.dispose();
    m.dispose();
  });
}
