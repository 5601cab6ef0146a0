/** The CLI's checks of size and memory before work (estimates: src/core/memory.ts). */
import { RENDER_TILE, type ModelConfig } from '../config.js';
import type { LayeredDocument } from '../core/document.js';
import { fusedMaskNet } from '../core/maskNet.js';
import { MASK_LIMITS } from '../core/maskSpec.js';
import { MODEL_LIMITS } from '../core/validate.js';

const fusedMaskNetActive = () => fusedMaskNet.active() !== null;
import { exportBytes, gridBytes, gridSize, renderBytes, trainBytes, type GridJob, type RenderJob } from '../core/memory.js';
import { checkImageSize, checkMemory } from '../io/memoryLimit.js';

type DocShape = Pick<LayeredDocument, 'mask' | 'referenceSize'> & { layers: unknown[] };

const renderJob = (doc: DocShape, width: number, height: number, keepMasks: boolean): RenderJob => ({ mask: doc.mask, layers: doc.layers.length, width, height, referenceSize: doc.referenceSize, tile: RENDER_TILE, keepMasks, fused: fusedMaskNetActive() });

/** the memory estimate of rendering `doc` at width × height (src/core/memory.ts) */
export function renderEstimate(doc: DocShape, width: number, height: number, keepMasks = false): number {
  return renderBytes(renderJob(doc, width, height, keepMasks));
}

/** before rendering `doc` at width × height (call after useBackend); `extraBytes`: what the command holds besides */
export function checkRender(doc: DocShape, width: number, height: number, what: string, keepMasks = false, extraBytes = 0): void {
  checkImageSize(width, height, what);
  checkMemory(renderEstimate(doc, width, height, keepMasks) + extraBytes, `${what} (${doc.layers.length} layers at ${width}×${height})`);
}

/** before exporting `doc` at size² to `format` (src/export/exportDocument.ts) */
export function checkExport(doc: DocShape, size: number, format: 'png' | 'psd' | 'ora' | 'svg'): void {
  const what = `export to ${format}`;
  checkImageSize(size, size, what);
  checkMemory(exportBytes(renderJob(doc, size, size, format !== 'png'), format), `${what} (${doc.layers.length} layers at ${size}×${size})`);
}

/** before a picture grid (src/eval/grid.ts) made while `workBytes` (an estimate that counts the process's base) are in use */
export function checkGrid(g: GridJob, workBytes: number, what: string): void {
  const { width, height } = gridSize(g);
  checkImageSize(width, height, what);
  checkMemory(workBytes + gridBytes(g), `${what} (${width}×${height})`);
}

/** before training `model` with this batch (call after useBackend) */
export function checkTraining(model: ModelConfig, batch: number, dataBytes: number, what = 'training'): void {
  checkMemory(trainBytes({ model, batch, dataBytes, fused: fusedMaskNetActive() }), `${what} (batch ${batch}, ${model.size}², T=${model.T}, ${model.encoder} encoder)`);
}

/**
 * train's and gan's model flags, against the bounds a model file may hold (src/core/validate.ts),
 * before any file or folder is made: out of range, the model would be refused only after the run
 * folder exists, by a kernel that does not know the flag
 */
export function checkModelFlags(o: { T: number; K: number; size: number; noise?: number }): void {
  const within = (flag: string, v: number, { min, max }: { min: number; max: number }, what: string) => {
    if (!(v >= min && v <= max)) throw new Error(`${flag} ${v} is out of range: ${what} must lie in [${min}, ${max}]`);
  };
  within('--T', o.T, MODEL_LIMITS.T, 'the layers per image');
  within('--K', o.K, MASK_LIMITS.K, 'the mask parameters per layer');
  within('--size', o.size, MODEL_LIMITS.size, 'the training image size');
  if (o.noise !== undefined) within('--noise', o.noise, MODEL_LIMITS.noise, 'the noise size');
}
