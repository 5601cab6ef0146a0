"""safetensors, read and written by hand (no pickle, no extra package): an 8-byte little-endian
header length N, N bytes of JSON

    {NAME: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
     "__metadata__": {KEY: "string", ...}}

then the raw little-endian data, offsets counted from the end of the header. Stratum's tensors are
all float32, so F32 is the only dtype read or written (src/research/io/safetensors.ts is the TypeScript
side of the same format)."""
import json
import os
import struct

import numpy as np

MAX_HEADER = 100_000_000
MAX_RANK = 8


class FormatError(ValueError):
    """a file that is not a usable safetensors file; the message is one line naming it"""


def read(path):
    """(tensors: {name: float32 ndarray}, metadata: {str: str}), tensors in file order"""
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise FormatError(f"{path}: cannot read ({e.strerror})") from None
    return decode(buf, path)


def decode(buf, path="safetensors"):
    def fail(why):
        raise FormatError(f"{path}: {why}")

    if len(buf) < 8:
        fail(f"not a safetensors file ({len(buf)} bytes, shorter than its 8-byte header length)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n < 2 or n > MAX_HEADER:
        fail(f"not a safetensors file (header length {n})")
    if 8 + n > len(buf):
        fail(f"truncated safetensors file (the header says {n} bytes, the file holds {len(buf) - 8} after the length)")
    try:
        header = json.loads(buf[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        fail("not a safetensors file (its header is not JSON)")
    if not isinstance(header, dict):
        fail("not a safetensors file (its header is not a JSON object)")
    data = memoryview(buf)[8 + n:]
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        fail("__metadata__ must be an object of strings")
    tensors, spans = {}, []
    for name, e in header.items():
        if not isinstance(e, dict):
            fail(f"tensor {name} is not described by an object")
        dtype, shape, off = e.get("dtype"), e.get("shape"), e.get("data_offsets")
        if dtype != "F32":
            fail(f"tensor {name} has dtype {json.dumps(dtype)}; Stratum's weights are F32 (float32)")
        if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(isinstance(d, int) and d >= 0 for d in shape):
            fail(f"tensor {name} has a bad shape {json.dumps(shape)}")
        if not isinstance(off, list) or len(off) != 2 or not all(isinstance(d, int) and d >= 0 for d in off) or off[0] > off[1]:
            fail(f"tensor {name} has bad data_offsets {json.dumps(off)}")
        count = int(np.prod(shape, dtype=np.int64))
        if off[1] - off[0] != 4 * count:
            fail(f"tensor {name} spans {off[1] - off[0]} bytes, expected {4 * count} for F32 {shape}")
        if off[1] > len(data):
            fail(f"truncated safetensors file (tensor {name} ends at data byte {off[1]}, the file holds {len(data)})")
        spans.append((off[0], off[1], name))
        tensors[name] = np.frombuffer(data[off[0]:off[1]], dtype="<f4").reshape(shape).astype(np.float32)
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            fail(f"tensor {name} starts at data byte {begin}, expected {at} (overlapping or missing data)")
        at = end
    if at != len(data):
        fail(f"{len(data) - at} bytes after the last tensor")
    return tensors, dict(meta)


def encode(tensors, metadata=None):
    """bytes of a safetensors file holding `tensors` ([(name, array)] or {name: array}) in that order"""
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    header = {"__metadata__": dict(metadata or {})}
    blobs, offset = [], 0
    for name, a in items:
        if name in header:
            raise ValueError(f"safetensors: tensor name {name} used twice")
        a = np.ascontiguousarray(a, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)  # the data starts 8-byte aligned
    return b"".join([struct.pack("<Q", len(head)), head, *blobs])


def write(path, tensors, metadata=None):
    """write atomically: a temporary file, fsync, rename (a kill never leaves half a file)"""
    write_atomic(path, encode(tensors, metadata))


def write_atomic(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{path}: folder {folder} does not exist")
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
