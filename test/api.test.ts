import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '../src/core/tf.js';
import { readImageSquare } from '../src/data/images.js';
import { decompose, load, refine, render } from '../src/index.js';
import { tmp } from './helpers.js';

const IMAGE = join(import.meta.dirname, '..', 'samples', 'bag.png');

test('library: a tensor decomposes like the file it came from; refine raises PSNR; bad inputs are one-line errors naming them', async () => {
  const model = await load(undefined, { backend: 'native' });
  const S = model.cfg.size;
  const rgb = await readImageSquare(IMAGE, S);
  const fromFile = await decompose(model, IMAGE, { T: 4 });
  assert.equal(fromFile.layers.length, 4);
  assert.equal(fromFile.source?.image, IMAGE);
  const x = tf.tensor3d(Float32Array.from(rgb, (v) => v / 255), [S, S, 3]);
  const fromTensor = await decompose(model, x, { T: 4 });
  assert.deepEqual(fromTensor.layers, fromFile.layers);
  // a larger tensor is resized to the model's size first
  const big = tf.image.resizeNearestNeighbor(x.expandDims(0) as tf.Tensor4D, [2 * S, 2 * S]);
  assert.equal((await decompose(model, big)).layers.length, model.cfg.T);
  const r = await refine(fromFile, IMAGE, { steps: 15 });
  assert.ok(r.psnrAfter > r.psnrBefore, `${r.psnrBefore} -> ${r.psnrAfter}`);
  assert.equal(r.doc.source?.refinement && (r.doc.source.refinement as { steps: number }).steps, 15);
  assert.equal(render(r.doc, 40, 20).rgb.length, 40 * 20 * 3);

  await assert.rejects(decompose(model, join(tmp(), 'none.png')), /none\.png: no such file/);
  await assert.rejects(decompose(model, new Uint8Array([1, 2, 3, 4])), /image \(4 bytes\): cannot read image/);
  await assert.rejects(decompose(model, tf.zeros([S, S, 4])), /must be \[H, W, 3\] or \[1, H, W, 3\] RGB, got \[32, 32, 4\]/);
  await assert.rejects(decompose(model, tf.fill([S, S, 3], 255)), /values must lie in \[0, 1\]/);
  // the layer count is capped as decompose --layers is (maxEncoderSteps), before any work
  await assert.rejects(decompose(model, tf.fill([S, S, 3], 0.5), { T: 1000 }), /layers must be a whole number from 1 to 64 for this model \(T=10\), got 1000/);
  await assert.rejects(decompose(model, tf.fill([S, S, 3], 0.5), { T: 0 }), /layers must be a whole number/);
  await assert.rejects(load(join(tmp(), 'missing.stratum')), /missing\.stratum: no such checkpoint/);
  model.dispose();
});
