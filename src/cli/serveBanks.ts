/**
 * The shape bank of a served model, for the editor: GET /models/NAME.stratum.bank (its 1,024 masks)
 * and /models/NAME.stratum.placeSxN (its logit maps for placing layers), the float32 files Node
 * keeps in its bank cache (src/model/bankCache.ts), rendered here on the first request. The
 * editor's worker renders them itself in WebAssembly when it cannot fetch them (about 40 s on 2
 * cores, where the native kernels take a few seconds, once per machine): a page served by
 * `stratum serve` asks here first, then keeps them in IndexedDB as before.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { bankCachePath } from '../model/bankCache.js';
import { PLACE_BANK_KIND } from '../model/place.js';

/** the bank kinds served, as the worker and loadModel name them */
export const SERVED_BANKS = ['bank', PLACE_BANK_KIND] as const;

/** /models/NAME.stratum.KIND -> [the model's URL path, KIND], or null for any other path */
export function bankRequest(path: string): [string, string] | null {
  const m = /^(\/models\/[^/]+\.stratum)\.([a-z0-9]+)$/.exec(path);
  return m && (SERVED_BANKS as readonly string[]).includes(m[2]!) ? [m[1]!, m[2]!] : null;
}

/** one rendering at a time: concurrent requests for the same model wait for the first */
let busy: Promise<unknown> = Promise.resolve();
/** renderings that left no file (a cache that cannot be written, a model without a bank): not tried again */
const failed = new Set<string>();

/**
 * the cache file of `kind` for the model file `modelFile`, rendered first (native kernels) when
 * missing; null when the cache is off (STRATUM_CACHE=off), the kernels are not built, or the model
 * has no bank
 */
export function bankFile(modelFile: string, kind: string): Promise<string | null> {
  const run = busy.then(async () => {
    const bytes = new Uint8Array(readFileSync(modelFile));
    const path = bankCachePath(bytes, kind);
    if (!path) return null;
    const ready = () => existsSync(path) && statSync(path).size > 0;
    if (ready()) return path;
    if (failed.has(path)) return null;
    failed.add(path); // until it is written
    const [{ useBackend }, { loadModel }, { placeBankOf }] = await Promise.all([import('../backend/index.js'), import('../model/checkpoint.js'), import('../model/decomposeFrame.js')]);
    // only with the native kernels: tfjs cpu would be slower than the page's WebAssembly, and it
    // would hold this server's one thread meanwhile
    if ((await useBackend('auto')) !== 'native') return null;
    const { model } = loadModel(modelFile);
    try {
      if (!model.bankMaskCache) return null;
      if (kind === 'bank') model.shapeBank();
      else placeBankOf(model);
    } finally {
      model.dispose();
    }
    if (!ready()) return null;
    failed.delete(path);
    return path;
  });
  busy = run.catch(() => undefined);
  return run;
}
