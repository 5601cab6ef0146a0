import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { renderDocument } from '../src/core/document.js';
import { brightenInMask, jitterLayer, moveLayer, parseColour, recolour, removeLayers, setVisible, tintInMask } from '../src/edit/edits.js';
import { saveDocument } from '../src/export/documentFile.js';
import { cli } from './support/cli.js';
import { onBackend, testDocument, tmp } from './support/helpers.js';

test('recolouring layer i changes the image by exactly w_i·Δc, w_i = M_i·Π_{j>i}(1 − M_j)', async () => {
  await onBackend('fast');
  const doc = { ...testDocument(), layers: testDocument().layers.map((l) => ({ ...l, visible: true })) };
  const newColour: [number, number, number] = [0.9, 0.1, 0.3];
  const before = renderDocument(doc, 40, 40, { keepMasks: true });
  const weight = (i: number, p: number) => {
    let w = before.masks![i]![p]!;
    for (let j = i + 1; j < doc.layers.length; j++) w *= 1 - before.masks![j]![p]!;
    return w;
  };
  // the layer that shows most
  const shows = doc.layers.map((_, i) => Math.max(...Array.from({ length: 1600 }, (_, p) => weight(i, p))));
  const i = shows.indexOf(Math.max(...shows));
  const after = renderDocument(recolour(doc, i, newColour), 40);
  const dc = newColour.map((c, k) => c - doc.layers[i]!.colour[k]!);
  let changedWhereMask = 0;
  for (let p = 0; p < 40 * 40; p++) {
    const w = weight(i, p);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(after.rgb[3 * p + k]! - before.rgb[3 * p + k]! - w * dc[k]!) < 1e-5);
    if (w > 0.5) changedWhereMask++;
  }
  assert.ok(changedWhereMask > 0, 'the test layer must be visible somewhere');
});

test('hide equals remove, move there and back is the identity, bad indices are clear errors', async () => {
  await onBackend('fast');
  const doc = testDocument();
  const hidden = renderDocument(setVisible(doc, 3, false), 24).rgb;
  const removed = renderDocument(removeLayers(doc, [3]), 24).rgb;
  // equal up to float rounding: the masks come from one batched GEMM, and OpenBLAS's blocking
  // (hence its summation order) depends on the batch size and the CPU
  let worst = 0;
  for (let k = 0; k < hidden.length; k++) worst = Math.max(worst, Math.abs(hidden[k]! - removed[k]!));
  assert.ok(worst < 1e-6, `hidden and removed renders differ by ${worst}`);
  assert.deepEqual(moveLayer(moveLayer(doc, 0, 4), 4, 0).layers, doc.layers);
  assert.notDeepEqual(renderDocument(moveLayer(doc, 0, 4), 24).rgb, renderDocument(doc, 24).rgb);
  assert.throws(() => recolour(doc, 7, [0, 0, 0]), /no layer 7: the document has layers 0-4/);
  assert.throws(() => removeLayers(doc, [-1]), /no layer -1/);
  assert.throws(() => parseColour('#12345'), /bad colour/);
  assert.deepEqual(parseColour('#ff8000'), [1, 128 / 255, 0]);
  assert.deepEqual(doc.layers, testDocument().layers, 'edits never modify their input');
});

test('jitter moves p along one random unit direction: k = 0 is the original, renders change with k', async () => {
  await onBackend('fast');
  const doc = testDocument();
  const { q, docs } = jitterLayer(doc, 2, [-2, 0, 2], 5);
  assert.ok(Math.abs(Math.hypot(...q) - 1) < 1e-9);
  assert.deepEqual(docs[1]!.layers, doc.layers);
  const d = docs[2]!.layers[2]!.p.map((v, j) => v - doc.layers[2]!.p[j]!);
  d.forEach((v, j) => assert.ok(Math.abs(v - 2 * q[j]!) < 1e-9));
  assert.deepEqual(jitterLayer(doc, 2, [1], 5).q, q, 'seeded');
});

test('brighten/darken/tint act only inside the mask', () => {
  const rgb = Float32Array.from([0.5, 0.4, 0.2, 0.5, 0.4, 0.2]);
  const mask = Float32Array.from([0, 1]);
  const b = brightenInMask(rgb, mask, 0.5);
  assert.deepEqual(Array.from(b.subarray(0, 3)), Array.from(rgb.subarray(0, 3)));
  assert.ok(Math.abs(b[3]! - 0.75) < 1e-6 && Math.abs(b[5]! - 0.3) < 1e-6);
  const t = tintInMask(rgb, mask, [1, 0, 0], 1);
  assert.deepEqual(Array.from(t.subarray(3)), [1, 0, 0]);
  assert.deepEqual(Array.from(t.subarray(0, 3)), Array.from(rgb.subarray(0, 3)));
});

test('stratum edit and stratum export: what they write; bad input leaves no files behind', async () => {
  await onBackend('fast');
  const dir = tmp();
  const docPath = join(dir, 'd.stratum.json');
  saveDocument(docPath, testDocument());
  // in this process (test/support/cli.ts): what the commands write and refuse, without a start-up per call
  const run = (...args: string[]) => cli(args);
  let r = await run('edit', docPath, '--recolour', '1=#ff0000', '--hide', '0', '--move', '4:0', '-o', join(dir, 'e.stratum.json'), '--png', join(dir, 'e.png'), '--size', '64');
  assert.equal(r.code, 0, r.err);
  r = await run('edit', docPath, '--jitter', '2', '--k', '-1,0,1', '--strip', join(dir, 'strip.png'), '--size', '32');
  assert.equal(r.code, 0, r.err);
  const strip = await sharp(join(dir, 'strip.png')).metadata();
  assert.ok(strip.width! > 3 * 32);
  const img = join(dir, 'photo.png');
  await sharp(Buffer.alloc(50 * 30 * 3, 120), { raw: { width: 50, height: 30, channels: 3 } }).png().toFile(img);
  r = await run('edit', docPath, '--brighten', '1:0.8', '--image', img, '--png', join(dir, 'bright.png'));
  assert.equal(r.code, 0, r.err);
  assert.deepEqual([(await sharp(join(dir, 'bright.png')).metadata()).width, (await sharp(join(dir, 'bright.png')).metadata()).height], [50, 30]);
  for (const ext of ['png', 'psd', 'ora', 'svg']) {
    r = await run('export', docPath, '-o', join(dir, `x.${ext}`), '--size', '48');
    assert.equal(r.code, 0, `${ext}: ${r.err}`);
  }
  const before = readdirSync(dir).sort();
  for (const [args, re] of [
    [['export', docPath, '-o', join(dir, 'x.gif')], /unsupported export format 'gif'/],
    [['edit', docPath, '--recolour', '9=#000000', '-o', join(dir, 'bad.json')], /no layer 9/],
    [['edit', docPath, '--remove', 'x', '-o', join(dir, 'bad.json')], /bad layer index 'x'/],
    [['edit', docPath, '--brighten', '1:0.5', '--png', join(dir, 'bad.png')], /need --image/],
  ] as [string[], RegExp][]) {
    r = await run(...args);
    assert.notEqual(r.code, 0);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  assert.deepEqual(readdirSync(dir).sort(), before, 'failed commands leave no partial files');
  assert.ok(!existsSync(join(dir, 'bad.json')));
});
