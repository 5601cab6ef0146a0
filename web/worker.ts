/**
 * The editor's decompositions, off the page's thread: the library's one pipeline
 * (src/pipeline/decompose.ts decomposePipeline, what `stratum decompose` and decompose() run) on
 * the model the page loaded, with progress messages, so the page stays responsive while the model
 * renders its shape bank and its maps for placing (once per browser: web/bankStore.ts) and places layers.
 *
 *   page -> worker: { type: 'init', bytes, url, served, backend } | { type: 'decompose', id, frame, options, source }
 *   worker -> page: { type: 'ready', backend } | { type: 'progress', id?, stage, done?, total? }
 *                 | { type: 'result', id, doc, ... } | { type: 'error', id?, message }
 */
import type { Frame } from '../src/model/decomposeFrame.js';
import { placeBankOf } from '../src/model/decomposeFrame.js';
import { modelFromCheckpoint, parseCheckpoint } from '../src/model/checkpointFormat.js';
import type { Decomposer } from '../src/model/decomposer.js';
import { PLACE_BANK_KIND, PLACE_LOGIT_MAX } from '../src/model/place.js';
import { decomposePipeline, placesLayers, type PipelineOptions, type PipelineResult } from '../src/pipeline/decompose.js';
import { startBackend, type BackendChoice } from './backend.js';
import { bankKey, idbBankCache } from './bankStore.js';

export type Stage = 'shapes' | 'placing-shapes' | 'encoder' | 'placing';
export type ToWorker =
  | { type: 'init'; bytes: ArrayBuffer; url: string; served: string; backend: BackendChoice }
  | { type: 'decompose'; id: number; frame: Frame; options: Pick<PipelineOptions, 'layers' | 'budgetMs'>; source: Record<string, unknown> };
export type FromWorker =
  | { type: 'ready'; backend: string; cached: boolean }
  | { type: 'shapes-ready'; seconds: number }
  | { type: 'progress'; id?: number; stage: Stage; done?: number; total?: number }
  | { type: 'result'; id: number; result: PipelineResult }
  | { type: 'error'; id?: number; message: string };

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);
let model: Decomposer | null = null;
let placeReady = false;
/** messages are handled one after another (a decomposition waits for the bank's warm-up) */
let queue: Promise<void> = Promise.resolve();

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  const backend = await startBackend(m.backend);
  model = modelFromCheckpoint(parseCheckpoint(new Uint8Array(m.bytes), m.url), m.url);
  let cached = false;
  try {
    const key = await bankKey(m.bytes, backend);
    // kept in IndexedDB, else fetched from the server beside the model file (rendered there natively), else rendered here
    const c = await idbBankCache(key, 'bank', (v) => v >= 0 && v <= 1, `${m.served}.bank`);
    model.bankMaskCache = c.cache;
    cached = c.hit;
    // and its logit maps for placing layers, named as Node names them on disk (src/model/checkpoint.ts loadModel)
    model.placeBankCache = (await idbBankCache(key, PLACE_BANK_KIND, (v) => Math.abs(v) <= PLACE_LOGIT_MAX, `${m.served}.${PLACE_BANK_KIND}`)).cache;
  } catch {
    // no IndexedDB here: the bank is rendered once per page instead
  }
  post({ type: 'ready', backend, cached });
  // the shape bank is needed by every decomposition (shape swaps): rendered now, while the page waits for an image
  post({ type: 'progress', stage: 'shapes' });
  const t0 = performance.now();
  model.shapeBank();
  post({ type: 'shapes-ready', seconds: (performance.now() - t0) / 1000 });
}

function decompose(m: Extract<ToWorker, { type: 'decompose' }>): void {
  const id = m.id;
  if (!model) throw new Error('the model is not loaded');
  if (placesLayers(model, m.options.layers) && !placeReady) {
    post({ type: 'progress', id, stage: 'placing-shapes' });
    placeBankOf(model);
    placeReady = true;
  }
  post({ type: 'progress', id, stage: 'encoder' });
  const result = decomposePipeline(model, m.frame, { ...m.options, onLayer: (done, total) => post({ type: 'progress', id, stage: 'placing', done, total }) }, m.source);
  post({ type: 'result', id, result });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  queue = queue.then(async () => {
    try {
      if (m.type === 'init') await init(m);
      else decompose(m);
    } catch (err) {
      post({ type: 'error', id: m.type === 'decompose' ? m.id : undefined, message: String((err as Error).message ?? err).split('\n')[0]! });
    }
  });
};
