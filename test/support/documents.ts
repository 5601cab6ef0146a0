/**
 * Documents for tests and benchmarks (bench/renderDocs.ts uses this one too): test support is the
 * one place both may take shared code from, and it imports only src/.
 */
import { MASK_NET_DEFAULTS } from '../../src/config.js';
import { makeDocument, type LayeredDocument } from '../../src/core/document.js';
import { initMaskNet } from '../../src/core/maskNet.js';
import { ParamStore } from '../../src/core/params.js';
import { mulberry32 } from '../../src/core/random.js';

/** a randomly initialised mask MLP with T random layers (p uniform in ±3), reference 32²; `hidden`: that layer index is hidden */
export function syntheticDocument(T = 10, seed = 3, hidden = -1): LayeredDocument {
  const store = new ParamStore();
  initMaskNet(store, MASK_NET_DEFAULTS, mulberry32(seed));
  const rng = mulberry32(seed + 1);
  const layers = Array.from({ length: T }, (_, i) => ({
    name: `layer ${i + 1}`,
    p: Array.from({ length: MASK_NET_DEFAULTS.K }, () => 3 * (rng() * 2 - 1)),
    colour: [rng(), rng(), rng()] as [number, number, number],
    visible: i !== hidden,
  }));
  const doc = makeDocument(MASK_NET_DEFAULTS, 32, store, layers);
  store.dispose();
  return doc;
}
