import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documentStore, renderDocument } from '../src/core/document.js';
import { jitterLayer, recolour } from '../src/edit/edits.js';
import { refineLayers } from '../src/model/refine.js';
import { onBackend, testDocument } from './helpers.js';

test('refinement by gradient descent on L1 recovers perturbed layers (PSNR goes up)', async () => {
  await onBackend('native');
  const truth = { ...testDocument(4, 11), layers: testDocument(4, 11).layers.map((l) => ({ ...l, visible: true })) };
  const S = 32;
  const target = renderDocument(truth, S).rgb;
  // start from a perturbed decomposition
  let start = jitterLayer(truth, 1, [0.8], 3).docs[0]!;
  start = recolour(start, 3, [0.5, 0.5, 0.5]);
  const store = documentStore(start);
  const full = refineLayers(store, start.mask, start.layers, target, S, { steps: 60, lr: 0.03 });
  assert.ok(full.psnrAfter > full.psnrBefore + 3, `${full.psnrBefore} -> ${full.psnrAfter}`);
  assert.ok(full.losses.at(-1)! < full.losses[0]!);
  const coloursOnly = refineLayers(store, start.mask, start.layers, target, S, { steps: 60, lr: 0.03, coloursOnly: true });
  assert.ok(coloursOnly.psnrAfter > coloursOnly.psnrBefore, `${coloursOnly.psnrBefore} -> ${coloursOnly.psnrAfter}`);
  coloursOnly.layers.forEach((l, t) => assert.deepEqual(l.p.map((v) => Math.fround(v)), start.layers[t]!.p.map((v) => Math.fround(v))));
  store.dispose();
});
