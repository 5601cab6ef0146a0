/**
 * NumPy's .npy format (version 1.0) for uint8 arrays: the magic "\x93NUMPY", version 1.0, a
 * little-endian uint16 header length, a Python dict literal padded with spaces to a multiple of 64
 * bytes and ending in '\n', then the C-order bytes. numpy.load reads it (memory-mapped with
 * mmap_mode='r'), so the PyTorch twin trains on exactly the images `stratum train` would.
 */

/** the .npy bytes of a C-order uint8 array of `shape` */
export function encodeNpyUint8(data: Uint8Array, shape: number[]): Uint8Array[] {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: ${data.length} bytes for shape [${shape}] (${count} expected)`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${dims}), }`;
  // magic (6) + version (2) + length (2) + dict + '\n' to a multiple of 64
  const pad = (64 - ((10 + dict.length + 1) % 64)) % 64;
  dict += ' '.repeat(pad) + '\n';
  if (dict.length > 0xffff) throw new Error(`npy: header of ${dict.length} bytes is too long for version 1.0`);
  const pre = new Uint8Array(10);
  pre.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(pre.buffer).setUint16(8, dict.length, true);
  return [pre, new TextEncoder().encode(dict), data];
}
