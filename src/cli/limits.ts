/** The CLI's checks of size and memory before work (estimates: src/core/memory.ts). */
import { RENDER_TILE, type ModelConfig } from '../config.js';
import type { LayeredDocument } from '../core/document.js';
import { fusedMaskNet } from '../core/maskNet.js';

const fusedMaskNetActive = () => fusedMaskNet.active() !== null;
import { renderBytes, trainBytes } from '../core/memory.js';
import { checkImageSize, checkMemory } from '../io/memoryLimit.js';

/** before rendering `doc` at width × height (call after useBackend) */
export function checkRender(doc: LayeredDocument, width: number, height: number, what: string, keepMasks = false): void {
  checkImageSize(width, height, what);
  const est = renderBytes({ mask: doc.mask, layers: doc.layers.length, width, height, referenceSize: doc.referenceSize, tile: RENDER_TILE, keepMasks, fused: fusedMaskNetActive() });
  checkMemory(est, `${what} (${doc.layers.length} layers at ${width}×${height})`);
}

/** before training `model` with this batch (call after useBackend) */
export function checkTraining(model: ModelConfig, batch: number, dataBytes: number, what = 'training'): void {
  checkMemory(trainBytes({ model, batch, dataBytes, fused: fusedMaskNetActive() }), `${what} (batch ${batch}, ${model.size}², T=${model.T}, ${model.encoder} encoder)`);
}
