import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MASK_NET_DEFAULTS } from '../src/config.js';
import { makeDocument, renderDocument } from '../src/core/document.js';
import { initMaskNet } from '../src/core/maskNet.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { renderLayers } from '../src/core/render.js';
import { loadDocument, saveDocument } from '../src/export/documentFile.js';
import { onBackend, tmp } from './support/helpers.js';

test('layered document saves, loads and re-renders identically', async () => {
  await onBackend('fast');
  const store = new ParamStore();
  initMaskNet(store, MASK_NET_DEFAULTS, mulberry32(2));
  const rng = mulberry32(9);
  const layers = Array.from({ length: 6 }, (_, i) => ({ name: `l${i}`, p: Array.from({ length: 10 }, () => rng() * 2 - 1), colour: [rng(), rng(), rng()] as [number, number, number], visible: i !== 3 }));
  const doc = makeDocument(MASK_NET_DEFAULTS, 32, store, layers);
  const direct = renderLayers(store, MASK_NET_DEFAULTS, layers, { width: 48, height: 48, referenceSize: 32 });
  const dir = tmp();
  const path = join(dir, 'x.stratum.json');
  saveDocument(path, doc);
  const back = loadDocument(path);
  assert.deepEqual(back.layers, doc.layers);
  const again = renderDocument(back, 48);
  assert.deepEqual(Array.from(again.rgb), Array.from(direct.rgb));
  // hidden layer 3 is really skipped
  const allVisible = renderDocument({ ...back, layers: back.layers.map((l) => ({ ...l, visible: true })) }, 48);
  assert.notDeepEqual(Array.from(allVisible.rgb), Array.from(again.rgb));
  store.dispose();
});

test('broken documents give one-line errors naming the problem', async () => {
  await onBackend('cpu');
  const dir = tmp();
  const p = join(dir, 'bad.json');
  assert.throws(() => loadDocument(join(dir, 'missing.json')), /no such document/);
  writeFileSync(p, '{"format": "stratum-layers", "version": 1, "mask": ');
  assert.throws(() => loadDocument(p), /not valid JSON/);
  writeFileSync(p, JSON.stringify({ format: 'something-else' }));
  assert.throws(() => loadDocument(p), /not a Stratum layered document/);
  const store = new ParamStore();
  initMaskNet(store, MASK_NET_DEFAULTS, mulberry32(2));
  const doc = makeDocument(MASK_NET_DEFAULTS, 32, store, [{ p: [1, 2], colour: [0, 0, 0] }]);
  writeFileSync(p, JSON.stringify(doc));
  assert.throws(() => loadDocument(p), /layer 0 needs 10 finite mask parameters/);
  const good = makeDocument(MASK_NET_DEFAULTS, 32, store, []);
  good.weights['mask.l1.w']!.data = good.weights['mask.l1.w']!.data.slice(0, 40);
  writeFileSync(p, JSON.stringify(good));
  assert.throws(() => renderDocument(loadDocument(p), 8), /weight mask.l1.w/);
  assert.equal(readFileSync(p, 'utf8').length > 0, true);
  store.dispose();
});
