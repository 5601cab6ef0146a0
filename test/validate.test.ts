/**
 * Crafted documents and model files: every field is checked in one place (src/core/validate.ts)
 * before any tensor is built, and the native mask kernels assert the same bounds themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from '../src/backend/nativeAddon.js';
import { MASK_NET_DEFAULTS, modelConfig } from '../src/config.js';
import { documentStore, renderDocument, validateDocument } from '../src/core/document.js';
import { initMaskNet } from '../src/core/maskNet.js';
import { MASK_EPS, MASK_LIMITS, maskParamSpecs, maskWeightNames } from '../src/core/maskSpec.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { parseCheckpoint } from '../src/model/checkpointFormat.js';
import { Decomposer } from '../src/model/decomposer.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { NO_NATIVE, onBackend, testDocument, tmp } from './support/helpers.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

test('one mask-parameter spec: initialisation, document weights and the native order agree', async () => {
  await onBackend('cpu');
  for (const cfg of [MASK_NET_DEFAULTS, { ...MASK_NET_DEFAULTS, K: 3, hidden: 12, depth: 2, groups: 4 }]) {
    const store = new ParamStore();
    initMaskNet(store, cfg, mulberry32(1));
    const specs = maskParamSpecs(cfg);
    assert.deepEqual([...store.entries.keys()], specs.map((s) => s.name), 'initialised in the spec order');
    for (const s of specs) assert.deepEqual(store.get(s.name).shape, s.shape);
    assert.deepEqual(maskWeightNames(cfg), specs.map((s) => s.name));
    assert.equal(specs.length, 4 * cfg.depth + 2);
    store.dispose();
  }
});

test('crafted documents (issue cases) fail with one line naming the file, before rendering', async () => {
  await onBackend('fast');
  const good = testDocument(3);
  assert.equal(renderDocument(good, 8).rgb.length, 8 * 8 * 3);
  const cases: [(d: any) => void, RegExp][] = [
    [(d) => (d.mask.depth = 0), /mask\.depth must be an integer in \[1, 16\], got 0/],
    [(d) => (d.mask.groups = 0), /mask\.groups must be an integer in \[1, 256\], got 0/],
    [(d) => (d.mask.groups = 7), /mask\.groups 7 does not divide mask\.hidden 128/],
    [(d) => (d.mask.groups = 256), /mask\.groups 256 does not divide mask\.hidden 128/],
    [(d) => (d.mask.hidden = 2048), /mask\.hidden must be an integer in \[1, 1024\]/],
    [(d) => (d.mask.K = 1.5), /mask\.K must be an integer/],
    [(d) => (d.layers[1] = null), /layer 1 is not an object \(got null\)/],
    [(d) => (d.layers[0].colour = [0, 2, 0]), /layer 0 needs an RGB colour of three numbers in \[0, 1\]/],
    [(d) => (d.layers[0].p[3] = 'x'), /layer 0 needs 10 finite mask parameters/],
    [(d) => (d.layers[0].visible = 'no'), /layer 0: visible must be true or false/],
    [(d) => (d.version = '1'), /document version "1" is not a number \(expected 1\)/],
    [(d) => (d.version = 2), /document version 2 is not supported \(expected 1\)/],
    [(d) => (d.referenceSize = 0), /referenceSize must be an integer in \[1, 1024\], got 0/],
    [(d) => delete d.weights['mask.gn1.beta'], /missing weight mask\.gn1\.beta/],
    [(d) => (d.weights['mask.l0.w'].shape = [12, 64]), /weight mask\.l0\.w has shape \[12,64\], expected \[12,128\]/],
    [(d) => (d.weights['mask.out.b'].data = 'AAAAAAAAAAA='), /weight mask\.out\.b: float32 data of 8 bytes|weight mask\.out\.b holds 2 values/],
    [(d) => (d.weights['mask.out.b'].data = '%%%'), /mask\.out\.b: float32 data is not valid base64/],
  ];
  for (const [edit, re] of cases) {
    const d = clone(good);
    edit(d);
    assert.throws(() => validateDocument(d, 'shared.stratum.json'), (e: Error) => re.test(e.message) && e.message.startsWith('shared.stratum.json: ') && !e.message.includes('\n'), String(re));
    assert.throws(() => renderDocument(d, 8), re, 'render checks an in-memory document too');
  }
});

/** a weights-only file of a tiny small-encoder model, its bytes, header length and parsed header */
function smallModelFile() {
  const model = new Decomposer(modelConfig({ encoder: 'small', T: 2, size: 16, mask: { hidden: 16, groups: 4, depth: 1 } }), 1);
  const path = join(tmp(), 'm.stratum');
  saveCheckpoint(path, model, { weightsOnly: true });
  model.dispose();
  const buf = new Uint8Array(readFileSync(path));
  const hlen = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + hlen)));
  return { buf, hlen, header };
}

test('crafted model headers fail with one line naming the file', async () => {
  await onBackend('cpu');
  const { buf, hlen, header } = smallModelFile();
  const rebuild = (h: unknown): Uint8Array => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(12 + json.length + buf.length - 12 - hlen);
    out.set(buf.subarray(0, 8));
    new DataView(out.buffer).setUint32(8, json.length, true);
    out.set(json, 12);
    out.set(buf.subarray(12 + hlen), 12 + json.length);
    return out;
  };
  assert.doesNotThrow(() => parseCheckpoint(rebuild(header), 'm.stratum'));
  const cases: [(h: any) => void, RegExp][] = [
    [(h) => (h.model.mask.groups = 0), /mask\.groups must be an integer in \[1, 256\], got 0/],
    [(h) => (h.model.mask.depth = 0), /mask\.depth must be/],
    [(h) => (h.model.size = 0), /model\.size must be an integer in \[4, 1024\], got 0/],
    [(h) => (h.model.T = -1), /model\.T must be/],
    [(h) => (h.model.smallChannels = [32, 0, 64, 64]), /model\.smallChannels must be/],
    [(h) => (h.model.encoder = 'vgg'), /model\.encoder must be/],
    [(h) => (h.model.smallPool = 'max'), /model\.smallPool must be 'mean' or 'flatten', got "max"/],
    [(h) => (h.tensors[1].offset = -4), /tensor .* has a bad offset -4/],
    [(h) => (h.tensors[1].offset = 2), /tensor .* has a bad offset 2/],
    [(h) => (h.tensors[0].shape = [-1, 3]), /tensor .* has a bad shape/],
    [(h) => (h.tensors[0].shape = [1e6, 1e6]), /bad shape|too large/],
    [(h) => (h.tensors[2].name = h.tensors[1].name), /appears twice/],
    [(h) => (h.tensors[0] = null), /tensor 0 is not an object/],
    [(h) => (h.version = '1'), /checkpoint version "1" is not a number/],
    [(h) => (h.step = -3), /step must be an integer ≥ 0/],
    [(h) => (h.kind = 'weird'), /unknown checkpoint kind/],
  ];
  for (const [edit, re] of cases) {
    const h = clone(header);
    edit(h);
    assert.throws(() => parseCheckpoint(rebuild(h), 'm.stratum'), (e: Error) => re.test(e.message) && e.message.startsWith('m.stratum: '), String(re));
  }
});

test('native mask kernels assert their bounds and sizes themselves (RangeError, never a crash)', { skip: NO_NATIVE }, async () => {
  await onBackend('native');
  const n = loadAddon()!;
  const cfg = { ...MASK_NET_DEFAULTS, K: 3, hidden: 8, depth: 2, groups: 2 };
  const store = new ParamStore();
  initMaskNet(store, cfg, mulberry32(4));
  const ws = maskWeightNames(cfg).map((k) => store.get(k).dataSync() as Float32Array);
  const B = 2;
  const P = 4;
  const coords = new Float32Array(P * 2);
  const p = new Float32Array(B * cfg.K);
  const dims = (o: Partial<Record<'B' | 'P' | 'K' | 'H' | 'G' | 'L' | 'pix', number>> = {}) => [o.B ?? B, o.P ?? P, o.K ?? cfg.K, o.H ?? cfg.hidden, o.G ?? cfg.groups, o.L ?? cfg.depth, o.pix ?? 0];
  const fwd = (d: number[], eps = MASK_EPS, w = ws, masks = new Float32Array(B * P), sm: Float32Array[] = [], sr: Float32Array[] = []) => n.maskForward(d, eps, coords, p, w, masks, [], [], [], sm, sr);
  assert.doesNotThrow(() => fwd(dims()));
  const bad: [() => void, RegExp][] = [
    [() => fwd(dims({ L: 0 })), /depth out of range/],
    [() => fwd(dims({ G: 0 })), /groups must lie in/],
    [() => fwd(dims({ G: 3 })), /divide the hidden width/],
    [() => fwd(dims({ G: MASK_LIMITS.groups.max + 1, H: 2048 })), /hidden width out of range/],
    [() => fwd(dims({ B: 0 })), /B and P must be/],
    [() => fwd(dims({ K: 300 })), /K out of range/],
    [() => fwd(dims().slice(0, 6)), /dims must be/],
    [() => fwd([...dims().slice(0, 6), 0.5]), /non-negative integers/],
    [() => fwd(dims(), 0), /epsilon/],
    [() => fwd(dims(), NaN), /epsilon/],
    [() => fwd(dims({ L: 3 })), /weights must hold 14 arrays/],
    [() => fwd(dims(), MASK_EPS, ws.map((w, i) => (i === 4 ? w.subarray(1) : w))), /weights holds 63 values, expected 64/],
    [() => fwd(dims(), MASK_EPS, ws, new Float32Array(3)), /masks holds 3 values, expected 8/],
    [() => fwd(dims(), MASK_EPS, ws, undefined, [new Float32Array(4)], [new Float32Array(4)]), /statsMean must hold 2 arrays/],
    [() => fwd(dims({ pix: 1 }), MASK_EPS, ws, undefined, [new Float32Array(4), new Float32Array(4)], [new Float32Array(4), new Float32Array(4)]), /need per-image GroupNorm/],
    [() => n.maskStats(dims(), MASK_EPS, coords, p, ws, [new Float32Array(3), new Float32Array(4)], [new Float32Array(4), new Float32Array(4)]), /meanOut holds 3 values/],
    [() => n.maskBackward(dims(), MASK_EPS, coords, p, ws, new Float32Array(B * P), [], [], [], new Float32Array(B * P), [], new Float32Array(B * cfg.K)), /xhat must hold 2 arrays/],
    [() => n.maskForward(dims(), MASK_EPS, coords, [1, 2, 3] as unknown as Float32Array, ws, new Float32Array(B * P), [], [], [], [], []), /p must be a Float32Array/],
  ];
  for (const [call, re] of bad) assert.throws(call, (e: Error) => e instanceof RangeError && re.test(e.message), String(re));
  store.dispose();
});

test('an empty batch reduces to zeros in the native reduceSum (was SIGFPE)', { skip: NO_NATIVE }, async () => {
  await onBackend('native');
  const n = loadAddon()!;
  const out = new Float32Array(3).fill(7);
  n.reduceSum(new Float32Array(0), [0, 3], [0, 1], out, 1);
  assert.deepEqual(Array.from(out), [0, 0, 0]);
  assert.throws(() => n.reduceSum(new Float32Array(0), [0, 3], [0], out, 1), /differ in length/);
});

test('documentStore builds exactly the spec weights of a valid document', async () => {
  await onBackend('cpu');
  const doc = testDocument(2);
  const store = documentStore(doc);
  assert.deepEqual([...store.entries.keys()], maskWeightNames(doc.mask));
  store.dispose();
});

test('values beyond float32 and deep nesting in documents and model files are refused with the field named (issue 20)', async () => {
  await onBackend('fast');
  const good = testDocument(3);
  const deep = (levels: number) => {
    let v: Record<string, unknown> = {};
    for (let i = 0; i < levels; i++) v = { v };
    return v;
  };
  const f32 = (values: number[]) => Buffer.from(Float32Array.from(values).buffer).toString('base64');
  const cases: [(d: any) => void, RegExp][] = [
    [(d) => (d.layers[1].p[4] = 1e39), /layer 1 p\[4\] = 1e\+39 is not finite in float32 \(\|value\| ≤ 3\.4028234663852886e\+38\)/],
    [(d) => (d.layers[0].p[0] = -3.5e38), /layer 0 p\[0\] = -3\.5e\+38 is not finite in float32/],
    [(d) => (d.layers[0].p[2] = Infinity), /layer 0 p\[2\] = Infinity is not finite in float32/],
    [(d) => (d.layers[0].p[2] = NaN), /layer 0 p\[2\] = NaN is not finite in float32/],
    [(d) => (d.weights['mask.out.b'].data = f32([NaN])), /weight mask\.out\.b\[0\] = NaN is not finite in float32/],
    [(d) => (d.weights['mask.out.b'].data = f32([Infinity])), /weight mask\.out\.b\[0\] = Infinity is not finite in float32/],
    [(d) => (d.weights['mask.gn0.beta'].data = f32([...new Array(127).fill(0), -Infinity])), /weight mask\.gn0\.beta\[127\] = -Infinity is not finite/],
    [(d) => (d.source = deep(100_000)), /nests objects or lists more than 64 levels deep/],
  ];
  for (const [edit, re] of cases) {
    const d = clone(good);
    edit(d);
    assert.throws(() => validateDocument(d, 'shared.stratum.json'), (e: Error) => re.test(e.message) && e.message.startsWith('shared.stratum.json: ') && !e.message.includes('\n'), String(re));
  }
  // the largest float32 itself is fine
  const edge = clone(good);
  edge.layers[0]!.p[0] = 3.4028234663852886e38;
  assert.doesNotThrow(() => validateDocument(edge));

  // model files: every tensor value, and the header's nesting
  const { buf, hlen, header } = smallModelFile();
  const t = header.tensors[3] as { name: string; offset: number };
  for (const [bits, shown] of [[0x7f800000, 'Infinity'], [0xff800000, '-Infinity'], [0x7fc00000, 'NaN']] as const) {
    const bad = buf.slice();
    new DataView(bad.buffer).setUint32(12 + hlen + t.offset + 4, bits, true);
    assert.throws(() => parseCheckpoint(bad, 'm.stratum'), (e: Error) => e.message === `m.stratum: tensor ${t.name}[1] = ${shown} is not finite in float32`, shown);
  }
  // (JSON.stringify itself overflows the stack on such a value: the text is built by hand)
  const json = new TextEncoder().encode(`{"info":${'{"v":'.repeat(100_000)}{}${'}'.repeat(100_000)},${JSON.stringify(header).slice(1)}`);
  const nested = new Uint8Array(12 + json.length + buf.length - 12 - hlen);
  nested.set(buf.subarray(0, 8));
  new DataView(nested.buffer).setUint32(8, json.length, true);
  nested.set(json, 12);
  nested.set(buf.subarray(12 + hlen), 12 + json.length);
  assert.throws(() => parseCheckpoint(nested, 'm.stratum'), /m\.stratum: header nests objects or lists more than 64 levels deep/);
});
