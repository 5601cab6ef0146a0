/**
 * The model's shape bank, rendered in the browser (its 1,024 masks for the shape swaps and 512 logit
 * maps for placing layers: tens of GFLOP through the mask network, seconds on a GPU and up to a
 * minute in WebAssembly), kept in IndexedDB per model file and backend so a browser renders them
 * once — as Node keeps them in ~/.cache/stratum (src/model/bankCache.ts).
 */
import type { BankMaskCache } from '../src/model/decomposer.js';

const DB = 'stratum-banks';
const STORE = 'banks';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = f(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

/** a key for a model file's bytes (SHA-256) and the backend that renders its bank */
export async function bankKey(bytes: ArrayBuffer, backend: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `${Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('')}|${backend}`;
}

/**
 * A BankMaskCache for `key|kind`, read from IndexedDB before it is needed (the model reads its
 * caches synchronously), else fetched from `served` (`stratum serve` renders it natively:
 * src/cli/serveBanks.ts) and kept in IndexedDB once it passes the model's check; a browser without
 * IndexedDB (or with it full), or a page served without it, just renders the bank again.
 */
export async function idbBankCache(key: string, kind: string, valid: (v: number) => boolean, served?: string): Promise<{ cache: BankMaskCache; hit: boolean }> {
  let kept: Float32Array | null = null;
  try {
    const v = await run('readonly', (s) => s.get(`${key}|${kind}`) as IDBRequest<Float32Array | undefined>);
    kept = v instanceof Float32Array ? v : null;
  } catch {
    kept = null;
  }
  let fetched = false;
  if (!kept && served) {
    try {
      const res = await fetch(served);
      const bytes = res.ok ? await res.arrayBuffer() : new ArrayBuffer(0);
      if (bytes.byteLength > 0 && bytes.byteLength % 4 === 0) [kept, fetched] = [new Float32Array(bytes), true];
    } catch {
      // no server behind the page: rendered here
    }
  }
  const put = (masks: Float32Array) => run('readwrite', (s) => s.put(masks, `${key}|${kind}`)).catch(() => undefined);
  const cache: BankMaskCache = {
    get: (values) => {
      if (!kept || kept.length !== values || !kept.every(valid)) return null;
      if (fetched) void put(kept);
      fetched = false;
      return kept;
    },
    set: (masks) => {
      kept = masks;
      void put(masks);
    },
  };
  return { cache, hit: kept !== null };
}
