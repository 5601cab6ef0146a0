/**
 * IDX files (MNIST, Fashion-MNIST): big-endian magic 0x0000 | type | rank, then rank uint32 dims,
 * then the data. gzip-compressed files (.gz) are recognised by their magic bytes.
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(buf: Uint8Array, name = 'IDX data'): IdxArray {
  let b = buf;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = gunzipSync(b);
    } catch (e) {
      throw new Error(`${name}: corrupt gzip stream (${(e as Error).message})`);
    }
  }
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0) throw new Error(`${name}: not an IDX file (bad magic number)`);
  if (b[2] !== 0x08) throw new Error(`${name}: IDX element type 0x${b[2]!.toString(16)} is not unsigned byte`);
  const rank = b[3]!;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 4 + 4 * rank) throw new Error(`${name}: truncated IDX header`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((x, y) => x * y, 1);
  const start = 4 + 4 * rank;
  if (b.length < start + count) throw new Error(`${name}: truncated IDX data (${b.length - start} of ${count} bytes)`);
  return { dims, data: b.subarray(start, start + count) };
}

export function readIdx(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}

/** write an uncompressed IDX ubyte file (used by tests and tools) */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
