import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '../src/core/tf.js';
import { readImageFrame } from '../src/data/images.js';
import { decompose, exportDocument, load, refine, render } from '../src/index.js';
import sharp from 'sharp';
import { psnr, tmp } from './support/helpers.js';

const IMAGE = join(import.meta.dirname, '..', 'samples', 'bag.png');

test('library: a tensor decomposes like the file it came from, a non-square one at its frame; refine raises PSNR; bad inputs are one-line errors naming them', async () => {
  // native where it is built, else cpu (test/support/helpers.ts)
  const model = await load(undefined, { backend: 'auto' });
  const S = model.cfg.size;
  const frame = await readImageFrame(IMAGE, 4096);
  const fromFile = await decompose(model, IMAGE, { T: 4 });
  assert.equal(fromFile.layers.length, 4);
  assert.equal(fromFile.source?.image, IMAGE);
  assert.deepEqual(fromFile.frame, { width: frame.width, height: frame.height });
  const x = tf.tensor3d(Float32Array.from(frame.rgb, (v) => v / 255), [frame.height, frame.width, 3]);
  const fromTensor = await decompose(model, x, { T: 4 });
  assert.deepEqual(fromTensor.layers, fromFile.layers);
  // a non-square tensor keeps its aspect: its frame, and renders at it; the encoder sees its square resize
  const wide = tf.image.resizeBilinear(x.expandDims(0) as tf.Tensor4D, [S, 3 * S]);
  const wideDoc = await decompose(model, wide);
  assert.deepEqual(wideDoc.frame, { width: 3 * S, height: S });
  assert.equal(wideDoc.layers.length, model.cfg.T);
  // a tensor at neither the model's size nor a square ([48, 80, 3]): resized for the encoder, its
  // frame recorded, rendered and exported at its aspect, and the render is the picture
  const odd = tf.image.resizeBilinear(x, [48, 80]);
  const oddDoc = await decompose(model, odd);
  assert.deepEqual(oddDoc.frame, { width: 80, height: 48 });
  const png = join(tmp(), 'odd.png');
  await exportDocument(oddDoc, png, { size: 160 });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [160, 96], 'the long side is the size, the other from the frame');
  const pixels = odd.dataSync() as Float32Array;
  const mean = [0, 1, 2].map((c) => pixels.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0) / (48 * 80));
  const flat = Float32Array.from(pixels, (_, i) => mean[i % 3]!);
  const drawn = psnr(render(oddDoc, 80, 48).rgb, pixels);
  assert.ok(drawn > psnr(flat, pixels) + 3, `the 80×48 render (${drawn.toFixed(2)} dB) against the image's mean colour (${psnr(flat, pixels).toFixed(2)} dB)`);
  // more layers than T: placed layers on top, exactly as many as asked
  const more = await decompose(model, wide, { layers: 14 });
  assert.equal(more.layers.length, 14);
  assert.ok(more.layers.slice(model.cfg.T).every((l) => l.place));
  const r = await refine(fromFile, IMAGE, { steps: 15 });
  assert.ok(r.psnrAfter > r.psnrBefore, `${r.psnrBefore} -> ${r.psnrAfter}`);
  assert.equal(r.doc.source?.refinement && (r.doc.source.refinement as { steps: number }).steps, 15);
  assert.equal(render(r.doc, 40, 20).rgb.length, 40 * 20 * 3);

  await assert.rejects(decompose(model, join(tmp(), 'none.png')), /none\.png: no such file/);
  await assert.rejects(decompose(model, new Uint8Array([1, 2, 3, 4])), /image \(4 bytes\): cannot read image/);
  await assert.rejects(decompose(model, tf.zeros([S, S, 4])), /must be \[H, W, 3\] or \[1, H, W, 3\] RGB, got \[32, 32, 4\]/);
  await assert.rejects(decompose(model, tf.fill([S, S, 3], 255)), /values must lie in \[0, 1\]/);
  // the layer count is capped as decompose --layers is (maxEncoderSteps), before any work
  await assert.rejects(decompose(model, tf.fill([S, S, 3], 0.5), { layers: 5000 }), /layers 5000 is too many \(at most 1000\)/);
  await assert.rejects(decompose(model, tf.fill([S, S, 3], 0.5), { T: 0 }), /layers must be a whole number/);
  await assert.rejects(decompose(model, tf.fill([S, S, 3], 0.5), { layers: 12, refine: { steps: 2 } }), /refine, greedy and prune work on the model's 10 whole-frame layers/);
  await assert.rejects(load(join(tmp(), 'missing.stratum')), /missing\.stratum: no such checkpoint/);
  model.dispose();
});
