/**
 * safetensors, by hand: an 8-byte little-endian header length N, N bytes of JSON
 *
 *   { NAME: { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] }, ...,
 *     "__metadata__": { KEY: "string", ... } }
 *
 * and the raw little-endian data, offsets counted from the end of the header. No code runs on
 * reading (unlike a pickled PyTorch file), so a model can come from anyone. Stratum's tensors are
 * float32 (F32). BF16 (float32's top 16 bits, rounded to nearest even) is written only where
 * asked, for a compact copy of a large training state (rowState.ts), and read back as float32.
 * The PyTorch twin (python/stratum_torch) has its own reader and writer of the same format.
 */

export type SafeDtype = 'F32' | 'BF16';
const BYTES: Record<SafeDtype, number> = { F32: 4, BF16: 2 };

export interface SafeTensor {
  shape: number[];
  /** always float32 in memory; `dtype` is how the file stores them (absent: F32) */
  values: Float32Array;
  dtype?: SafeDtype;
}

export interface SafeTensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** header bytes at most (the format's own readers refuse more than 100 MB) */
const MAX_HEADER = 100_000_000;
/** dimensions of a tensor at most */
const MAX_RANK = 8;

/** the bytes of a safetensors file holding `tensors` in the order given (data padded so it starts 8-byte aligned) */
export function encodeSafetensors(tensors: [string, SafeTensor][], metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || name in header) throw new Error(`safetensors: tensor name ${name} used twice`);
    const dtype = t.dtype ?? 'F32';
    const bytes = t.values.length * BYTES[dtype];
    if (t.shape.reduce((a, b) => a * b, 1) !== t.values.length) throw new Error(`safetensors: ${name} has ${t.values.length} values for shape [${t.shape}]`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // pad with spaces (allowed by the format) so the data starts on an 8-byte boundary
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const pre = new Uint8Array(8);
  new DataView(pre.buffer).setBigUint64(0, BigInt(head.length), true);
  const chunks: Uint8Array[] = [pre, head];
  for (const [, t] of tensors) chunks.push(t.dtype === 'BF16' ? bfloat16Bytes(t.values) : littleEndianBytes(t.values));
  return chunks;
}

/** read a safetensors file; every failure is one line naming `path` */
export function decodeSafetensors(buf: Uint8Array, path: string): SafeTensorsFile {
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}`);
  };
  if (buf.length < 8) fail(`not a safetensors file (${buf.length} bytes, shorter than its 8-byte header length)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 < 2n || n64 > BigInt(MAX_HEADER)) fail(`not a safetensors file (header length ${n64})`);
  const n = Number(n64);
  if (8 + n > buf.length) fail(`truncated safetensors file (the header says ${n} bytes, the file holds ${buf.length - 8} after the length)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch {
    fail('not a safetensors file (its header is not JSON)');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('not a safetensors file (its header is not a JSON object)');
  const h = header as Record<string, unknown>;
  const data = buf.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const meta = h.__metadata__;
  if (meta !== undefined) {
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) fail('__metadata__ must be an object of strings');
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`__metadata__ ${k} is not a string`);
      metadata[k] = v as string;
    }
  }
  const tensors = new Map<string, SafeTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, e] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    if (!e || typeof e !== 'object' || Array.isArray(e)) fail(`tensor ${name} is not described by an object`);
    const { dtype, shape, data_offsets: off } = e as Record<string, unknown>;
    if (dtype !== 'F32' && dtype !== 'BF16') fail(`tensor ${name} has dtype ${JSON.stringify(dtype)}; Stratum reads F32 (float32) and BF16`);
    const width = BYTES[dtype as SafeDtype];
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor ${name} has a bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) fail(`tensor ${name} has bad data_offsets ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * width) fail(`tensor ${name} spans ${end - begin} bytes, expected ${count * width} for ${dtype} [${shape}]`);
    if (end > data.length) fail(`truncated safetensors file (tensor ${name} ends at data byte ${end}, the file holds ${data.length})`);
    spans.push([begin, end, name]);
    tensors.set(name, dtype === 'BF16' ? { shape: shape as number[], values: bfloat16At(data, begin, count), dtype: 'BF16' } : { shape: shape as number[], values: float32At(data, begin, count) });
  }
  // the format indexes the data buffer entirely, without overlaps or holes
  spans.sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at) fail(`tensor ${name} starts at data byte ${begin}, expected ${at} (overlapping or missing data)`);
    at = end;
  }
  if (at !== data.length) fail(`${data.length - at} bytes after the last tensor`);
  return { tensors, metadata };
}

/** float32 values as little-endian bytes (a view on little-endian hosts, where every Node runs in practice) */
function littleEndianBytes(v: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  v.forEach((x, i) => dv.setFloat32(i * 4, x, true));
  return out;
}

function float32At(data: Uint8Array, begin: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(data.subarray(begin, begin + count * 4));
  else {
    const dv = new DataView(data.buffer, data.byteOffset + begin, count * 4);
    for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
  }
  return out;
}

/** bfloat16: each float32's top 16 bits, rounded to nearest even (NaN kept a NaN), little-endian */
function bfloat16Bytes(v: Float32Array): Uint8Array {
  const bits = new Uint32Array(Float32Array.from(v).buffer);
  const out = new Uint8Array(v.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    const h = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    dv.setUint16(i * 2, h & 0xffff, true);
  }
  return out;
}

function bfloat16At(data: Uint8Array, begin: number, count: number): Float32Array {
  const bits = new Uint32Array(count);
  const dv = new DataView(data.buffer, data.byteOffset + begin, count * 2);
  for (let i = 0; i < count; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
  return new Float32Array(bits.buffer);
}

const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;
