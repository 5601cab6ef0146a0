/** float32 arrays as base64 (little-endian bytes), for JSON documents; works in Node and browsers. */

/** the largest finite float32; a number of larger magnitude becomes ±Infinity in float32 code */
export const F32_MAX = 3.4028234663852886e38;

/** a number that stays finite when stored as float32 (NaN and ±Infinity are not) */
export const isF32 = (v: unknown): v is number => typeof v === 'number' && Math.abs(v) <= F32_MAX;

/** the index of the first value that is not finite, or −1 */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}
export function encodeF32(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  // Node's encoder: 30× faster than btoa over a binary string (a document's 140 kB of mask weights: 7 ms -> 0.2 ms)
  const B = (globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: 'base64'): string } } }).Buffer;
  if (B) return B.from(bytes).toString('base64');
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function decodeF32(s: string): Float32Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new Error('float32 data is not valid base64');
  }
  const b = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (b.length % 4 !== 0) throw new Error(`float32 data of ${b.length} bytes is not a whole number of values`);
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
