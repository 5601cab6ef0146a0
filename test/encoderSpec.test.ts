/**
 * The weights of the native fused decomposition have one table on each side — src/model/encoderSpec.ts
 * and native/decompose_spec.h — and these tests fail when the two drift, or when the model's
 * parameter store (src/model/smallEncoder.ts, src/model/heads.ts) stops matching them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addonProblem, loadAddon, type NativeAddon } from '../src/backend/nativeAddon.js';
import { modelConfig } from '../src/config.js';
import { Decomposer } from '../src/model/decomposer.js';
import { encoderBatchNorm, encoderSpecDrift, nativeDecomposeDims, nativeEncoderWeights, type EncoderSpecConfig } from '../src/model/encoderSpec.js';
import { NO_NATIVE } from './support/helpers.js';

const CONFIGS: EncoderSpecConfig[] = [
  { size: 32, smallChannels: [32, 64, 64, 64], smallPool: 'mean', mask: { K: 16 } },
  { size: 32, smallChannels: [32, 64, 64, 64], smallPool: 'flatten', mask: { K: 16 } },
  { size: 12, smallChannels: [8, 16, 12], smallPool: 'flatten', mask: { K: 5 } },
  { size: 33, smallChannels: [4], smallPool: 'mean', mask: { K: 1 } },
  { size: 7, smallChannels: [3, 5, 7, 9, 11], smallPool: 'flatten', mask: { K: 256 } },
  { size: 64, smallChannels: [16, 16], mask: { K: 8 } },
];

test('the addon reads the weights of src/model/encoderSpec.ts: same names, order and shapes for every configuration', { skip: NO_NATIVE }, () => {
  const n = loadAddon()!;
  for (const cfg of CONFIGS) {
    for (const T of [1, 10]) {
      const native = n.decomposeSpec!(nativeDecomposeDims(cfg, T), cfg.smallPool === 'flatten');
      const ts = nativeEncoderWeights(cfg, T);
      assert.deepEqual(native, ts.map((w) => [w.name, w.shape]), JSON.stringify(cfg));
      assert.equal(encoderSpecDrift(native, ts), '');
    }
  }
  // decomposeSpec checks its dims like decomposeForward
  assert.throws(() => n.decomposeSpec!([12, 1, 5, 2, 8], false), /^RangeError: decomposeSpec: dims must list n channel counts/);
  assert.throws(() => n.decomposeSpec!([12, 1, 5, 1, 8], 'yes' as unknown as boolean), /flatten must be a boolean/);
});

test('a weight renamed or reshaped on one side makes loading the addon fail with one line naming it', { skip: NO_NATIVE }, () => {
  const n = loadAddon()!;
  assert.equal(addonProblem(n), '');
  // the C++ table with one weight renamed, one reshaped, one missing
  const drifted = (edit: (rows: [string, number[]][]) => [string, number[]][]): NativeAddon => ({ ...n, maskAbi: n.maskAbi, decomposeSpec: (d: number[], f: boolean) => edit(n.decomposeSpec!(d, f)) });
  const renamed = addonProblem(drifted((rows) => rows.map(([name, shape]) => [name === 'head.p.w' ? 'head.p.weight' : name, shape])));
  assert.match(renamed, /reads 'head\.p\.weight' \[\d+, \d+\] as weight \d+ where src\/model\/encoderSpec\.ts has 'head\.p\.w'/);
  const reshaped = addonProblem(drifted((rows) => rows.map(([name, shape]) => [name, name === 'enc.conv0.w' ? [3, 3, 3, shape[3]!] : shape])));
  assert.match(reshaped, /'enc\.conv0\.w' \[3, 3, 3, \d+\].*'enc\.conv0\.w' \[3, 3, 6, \d+\]/);
  assert.match(addonProblem(drifted((rows) => rows.slice(0, -1))), /reads nothing as weight \d+ where .* has 'head\.c\.b' \[3\]/);
  for (const p of [renamed, reshaped]) assert.ok(!p.includes('\n'), 'one line');
  // an addon built before the table existed is refused the same way
  assert.match(addonProblem({ ...n, decomposeSpec: undefined }), /older sources/);
  // and the TypeScript side renamed: the same comparison, from the other end
  const ts = nativeEncoderWeights(CONFIGS[0]!, 2).map((w) => (w.name === 'head.c.w' ? { ...w, name: 'head.colour.w' } : w));
  assert.match(encoderSpecDrift(n.decomposeSpec!(nativeDecomposeDims(CONFIGS[0]!, 2), false), ts), /reads 'head\.c\.w' .* has 'head\.colour\.w'/);
});

test("the model's parameter store holds every stored weight of the table, with the table's shape, and the BatchNorm it folds", () => {
  for (const cfg of CONFIGS) {
    const m = new Decomposer(modelConfig({ encoder: 'small', smallChannels: cfg.smallChannels, smallPool: cfg.smallPool, size: cfg.size, T: 3, mask: { K: cfg.mask.K, hidden: 8, groups: 2 } }), 1);
    try {
      for (const w of nativeEncoderWeights(cfg, 3)) {
        if (!w.stored) continue;
        assert.ok(m.store.has(w.name), `the model has no ${w.name}`);
        assert.deepEqual(m.store.get(w.name).shape, w.shape, w.name);
      }
      cfg.smallChannels.forEach((c, i) => {
        const b = encoderBatchNorm(i);
        for (const name of [b.gamma, b.beta, b.runMean, b.runVar]) assert.deepEqual(m.store.get(name).shape, [c], name);
      });
    } finally {
      m.dispose();
    }
  }
});
