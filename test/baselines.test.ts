import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/core/tf.js';
import { BaselineAE, BASELINES, DECODER_TABLES, latentSize } from '../src/research/model/baselines.js';
import { newCtx, upsampleNearest2x } from '../src/model/nn.js';
import { Adam } from '../src/core/adam.js';
import { l1, optimiseStep } from '../src/research/train/step.js';
import { TRAIN_DEFAULTS } from '../src/config.js';
import { HAS_NATIVE, onBackend } from './support/helpers.js';

test('latent size |z| = T·(K+3): 130 for T=10 K=10, 260 for T=20 K=10', () => {
  assert.equal(latentSize(10, 10), 130);
  assert.equal(latentSize(20, 10), 260);
});

for (const kind of BASELINES) {
  test(`baseline ${kind}: latent of size |z|, output [B, S, S, 3] in (0, 1), and one L1 step lowers the loss`, async () => {
    await onBackend('fast');
    // 32²: the ResNet decoder starts at S/32 (Table 7), so 32 is its smallest size
    const m = new BaselineAE({ kind, size: 32, latent: 130, encoder: 'small', smallChannels: [16, 32, 32, 32], hidden: 64 }, 1);
    const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    tf.tidy(() => {
      const z = m.encode(x, newCtx(false));
      assert.deepEqual(z.shape, [4, 130]);
      const y = m.decode(z, newCtx(false));
      assert.deepEqual(y.shape, [4, 32, 32, 3]);
      const v = y.dataSync();
      assert.ok(v.every((a) => a > 0 && a < 1));
    });
    const opt = new Adam({ ...TRAIN_DEFAULTS, lr: 3e-3 });
    const losses = Array.from({ length: 8 }, () => optimiseStep(m.store, opt, (ctx) => l1(m.forward(x, ctx), x)).loss);
    assert.ok(losses.at(-1)! < losses[0]!, `${kind}: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    x.dispose();
    opt.dispose();
    m.dispose();
  });
}

test('nearest ×2 upsampling: forward copies each pixel to a 2×2 block, gradient sums it back (batch > 1)', async () => {
  // on native too where it is built (its own kernels for the ops)
  for (const backend of HAS_NATIVE ? (['cpu', 'native'] as const) : (['cpu'] as const)) {
    await onBackend(backend);
    const [B, H, W, C] = [2, 3, 3, 4];
    const x = tf.randomNormal([B, H, W, C], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([B, 2 * H, 2 * W, C], 0, 1, 'float32', 2);
    const y = upsampleNearest2x(x).dataSync();
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(upsampleNearest2x(v as tf.Tensor4D), w)))(x).dataSync();
    const xv = x.dataSync();
    const wv = w.dataSync();
    const at = (b: number, i: number, j: number, c: number, h: number, wd: number) => ((b * h + i) * wd + j) * C + c;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++)
          for (let c = 0; c < C; c++) {
            let sum = 0;
            for (const di of [0, 1])
              for (const dj of [0, 1]) {
                assert.equal(y[at(b, 2 * i + di, 2 * j + dj, c, 2 * H, 2 * W)], xv[at(b, i, j, c, H, W)]);
                sum += wv[at(b, 2 * i + di, 2 * j + dj, c, 2 * H, 2 * W)]!;
              }
            assert.ok(Math.abs(g[at(b, i, j, c, H, W)]! - sum) < 1e-5, `${backend}: gradient at image ${b} (${i}, ${j}, ${c})`);
          }
    tf.dispose([x, w]);
  }
});

for (const kind of BASELINES) {
  test(`baseline ${kind}: at initialisation the outputs sit away from the sigmoid's flat tails (gradients can flow)`, async () => {
    await onBackend('fast');
    const m = new BaselineAE({ kind, size: 32, latent: 130, encoder: 'small', smallChannels: [32, 64, 64, 64], hidden: 512 }, 0);
    const x = tf.randomUniform([8, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const v = tf.tidy(() => m.forward(x, newCtx(true)).dataSync());
    const saturated = v.filter((a) => a < 0.01 || a > 0.99).length / v.length;
    assert.ok(saturated < 0.05, `${kind}: ${(100 * saturated).toFixed(0)}% of the initial outputs are saturated`);
    x.dispose();
    m.dispose();
  });
}

test('decoders as the supplementary tables give them: every weight\'s shape at 32² and 64², and sizes they cannot start from refused', async () => {
  await onBackend('cpu');
  const L = 130;
  const shapes = (kind: (typeof BASELINES)[number], size: number) => {
    const m = new BaselineAE({ kind, size, latent: L, encoder: 'small', smallChannels: [8, 8], hidden: 512 }, 0);
    const out = Object.fromEntries([...m.store.trainable().entries()].filter(([k]) => k.startsWith('dec.')).map(([k, v]) => [k, v.shape]));
    m.dispose();
    return out;
  };
  // Table 5 (MLP-xy): the mask generator's network — 3 × (Linear 128, GroupNorm(32), tanh), then RGB
  assert.equal(DECODER_TABLES.mlpxy.hidden, 128);
  assert.deepEqual(shapes('mlpxy', 32), {
    'dec.l0.w': [L + 2, 128], 'dec.l0.b': [128], 'dec.gn0.gamma': [128], 'dec.gn0.beta': [128],
    'dec.l1.w': [128, 128], 'dec.l1.b': [128], 'dec.gn1.gamma': [128], 'dec.gn1.beta': [128],
    'dec.l2.w': [128, 128], 'dec.l2.b': [128], 'dec.gn2.gamma': [128], 'dec.gn2.beta': [128],
    'dec.out.w': [128, 3], 'dec.out.b': [3],
  });
  for (const S of [32, 64]) {
    // Table 6 (ConvT): 512 × (S/16)², then 512 → 256 → 128 → 64 → RGB by stride-2 transposed 4×4 convolutions
    const c = shapes('convt', S);
    assert.deepEqual(c['dec.fc.w'], [L, 512 * (S / 16) ** 2]);
    assert.deepEqual([0, 1, 2, 3].map((i) => c[`dec.up${i}.w`]), [[4, 4, 256, 512], [4, 4, 128, 256], [4, 4, 64, 128], [4, 4, 3, 64]]);
    // Table 7 (ResNet): 512 × (S/32)², blocks of 512, 256, 256, 128, 64 channels, then a 3×3 conv to RGB
    const r = shapes('resup', S);
    assert.deepEqual(r['dec.fc.w'], [L, 512 * (S / 32) ** 2]);
    const io = [[512, 512], [512, 256], [256, 256], [256, 128], [128, 64]];
    io.forEach(([ci, co], i) => {
      assert.deepEqual(r[`dec.up${i}.conv1.w`], [3, 3, ci, co], `block ${i} conv1`);
      assert.deepEqual(r[`dec.up${i}.conv2.w`], [3, 3, co, co], `block ${i} conv2`);
      assert.deepEqual(r[`dec.up${i}.skip.w`], [1, 1, ci, co], `block ${i} skip`);
    });
    assert.equal(r['dec.up5.conv1.w'], undefined, 'five blocks');
    assert.deepEqual(r['dec.rgb.w'], [3, 3, 64, 3]);
  }
  assert.throws(() => shapes('resup', 16), /resup decoder starts at S\/32: the image size must be a multiple of 32, got 16/);
  assert.throws(() => shapes('convt', 40), /convt decoder starts at S\/16: the image size must be a multiple of 16, got 40/);
});
