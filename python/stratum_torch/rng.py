"""Stratum's random numbers (src/core/random.ts), bit for bit: mulberry32 and mixSeed, so the
twin draws the same training batches from the same (seed, step) and a fresh model gets the same
initial weights as `new Decomposer(cfg, seed)`.

mulberry32's state only ever moves by a constant (a += 0x6D2B79F5), so its k-th number is a pure
function of seed + k·0x6D2B79F5: whole arrays are drawn at once with numpy's wrapping uint32
arithmetic, which is what Math.imul and >>> 0 compute."""
import numpy as np

_INC = np.uint32(0x6D2B79F5)
_M32 = 0xFFFFFFFF


def _hash(a):
    """mulberry32's output for states a (uint32 array) -> float64 in [0, 1)"""
    with np.errstate(over="ignore"):
        t = a.copy()
        t = (t ^ (t >> np.uint32(15))) * (t | np.uint32(1))
        t = t ^ (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61)))
        return (t ^ (t >> np.uint32(14))).astype(np.float64) / 4294967296.0


class Mulberry32:
    def __init__(self, seed):
        self.state = int(seed) & _M32

    def draw(self, n):
        """the next n numbers in [0, 1), float64"""
        k = np.arange(1, n + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            a = ((np.uint64(self.state) + k * np.uint64(int(_INC))) & np.uint64(_M32)).astype(np.uint32)
        self.state = (self.state + n * int(_INC)) & _M32
        return _hash(a)


def _imul(a, b):
    return (a * b) & _M32


def mix_seed(a, b):
    h = _imul((a ^ 0x9E3779B9) & _M32, 0x85EBCA6B) ^ _imul((b + 0x632BE5AB) & _M32, 0xC2B2AE35)
    h ^= h >> 16
    return _imul(h, 0x27D4EB2F)


def batch_indices(n, batch, seed, step):
    """src/research/train/batches.ts: batch `step` of a run over n images depends only on (seed, step)"""
    return np.floor(Mulberry32(mix_seed(seed, step)).draw(batch) * n).astype(np.int64)


def uniform(shape, lo, hi, rng):
    n = int(np.prod(shape, dtype=np.int64))
    return (lo + (hi - lo) * rng.draw(n)).astype(np.float32).reshape(shape)


def linear_init(fan_in, shape, rng):
    """PyTorch's default Linear init, U(-1/sqrt(fanIn), 1/sqrt(fanIn)), as Stratum draws it"""
    b = 1 / np.sqrt(fan_in)
    return uniform(shape, -b, b, rng)


def normal(shape, std, rng):
    """Box-Muller in pairs, as Stratum's normal()"""
    n = int(np.prod(shape, dtype=np.int64))
    u = rng.draw(2 * ((n + 1) // 2)).reshape(-1, 2)
    r = np.sqrt(-2 * np.log(np.maximum(u[:, 0], 1e-12))) * std
    d = np.stack([r * np.cos(2 * np.pi * u[:, 1]), r * np.sin(2 * np.pi * u[:, 1])], 1).reshape(-1)[:n]
    return d.astype(np.float32).reshape(shape)
