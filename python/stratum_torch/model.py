"""Stratum's reconstruction model in PyTorch (src/model/decomposer.ts and what it uses), NCHW:

    for t = 1..T:
      feat_t   = Encoder([target ‖ canvas_{t−1}])    the target's half of the first convolution
                                                    computed once per image; the canvas fed with
                                                    its gradient stopped when cfg.stopCanvasGrad
      p_t      = Linear(feat_t)                     K mask parameters
      c_t      = sigmoid(Linear(feat_t))            RGB colour
      M_t      = f(x, y, p_t)                       the mask MLP (src/core/maskNet.ts)
      canvas_t = canvas_{t−1}·(1 − M_t) + c_t·M_t   (src/core/blend.ts)

Module paths are Stratum's parameter names (enc.conv0, head.p, mask.gn1 …), so the state_dict
is the safetensors file of `stratum export-torch` (weights.py). Initial weights are drawn as
Stratum draws them (rng.py), in the same order, so a fresh twin equals a fresh Stratum model of
the same seed."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import rng as R
from .config import ENCODER_GN_GROUPS, NORM_EPS


class Ctx:
    """what the normalisation layers need to know about the forward pass running now"""

    def __init__(self):
        self.training = False  # batch statistics (training) or stored ones (inference)
        self.update_stats = False  # move the running statistics (a training step)
        self.sync = False  # all-reduce batch statistics over the process group (DDP)
        self.momentum = 0.1
        self.step = 0  # which of the T steps runs (per-step inference statistics)
        self.record = None  # a list collecting (layer, step, mean, variance) when calibrating


class BatchNorm(nn.Module):
    """BatchNorm with PyTorch's running statistics and Stratum's per-step inference statistics
    (src/research/train/calibrate.ts: step_mean/step_var [T, C], row t for step t). In training its batch
    statistics can be all-reduced over a DDP group, so N processes normalise exactly as one
    process on their concatenated batch (nn.SyncBatchNorm would, but only on GPUs)."""

    def __init__(self, c, ctx):
        super().__init__()
        self.ctx = ctx
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("step_mean", None)
        self.register_buffer("step_var", None)

    def forward(self, x):
        ctx = self.ctx
        if not ctx.training:
            if self.step_mean is not None:
                t = min(ctx.step, self.step_mean.shape[0] - 1)
                mean, var = self.step_mean[t], self.step_var[t]
            else:
                mean, var = self.running_mean, self.running_var
        else:
            count = x.shape[0] * x.shape[2] * x.shape[3]
            if ctx.sync:
                # every process holds an equal share of the batch (the training script checks it)
                import torch.distributed as dist
                import torch.distributed.nn.functional as dnn
                count *= dist.get_world_size()
                mean = dnn.all_reduce(x.sum((0, 2, 3))) / count
                var = dnn.all_reduce(((x - mean[None, :, None, None]) ** 2).sum((0, 2, 3))) / count
            else:
                mean = x.mean((0, 2, 3))
                var = ((x - mean[None, :, None, None]) ** 2).mean((0, 2, 3))
            if ctx.record is not None:
                ctx.record.append((self, ctx.step, mean.detach(), var.detach()))
            if ctx.update_stats:
                with torch.no_grad():
                    m = ctx.momentum
                    self.running_mean.mul_(1 - m).add_(m * mean)
                    self.running_var.mul_(1 - m).add_(m * (count / (count - 1) if count > 1 else 1) * var)
        shape = (1, -1, 1, 1)
        return (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + NORM_EPS) * self.weight.view(shape) + self.bias.view(shape)


class GroupNorm(nn.GroupNorm):
    """the encoder's GroupNorm (ENCODER_GN_GROUPS groups per image, the same in training and inference)"""

    def __init__(self, c):
        super().__init__(ENCODER_GN_GROUPS, c, eps=NORM_EPS)


def norm_layer(kind, c, ctx):
    return BatchNorm(c, ctx) if kind == "batch" else GroupNorm(c)


def conv_param(k, cin, cout, rng):
    """Stratum's conv init (Kaiming-normal, fan out) drawn in its [k, k, cin, cout] order, as PyTorch's [cout, cin, k, k]"""
    w = R.normal([k, k, cin, cout], (2 / (k * k * cout)) ** 0.5, rng)
    return torch.from_numpy(w).permute(3, 2, 0, 1).contiguous()


def linear(cin, cout, rng):
    """nn.Linear with Stratum's init: weight drawn as [in, out] then bias"""
    lin = nn.Linear(cin, cout)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(R.linear_init(cin, [cin, cout], rng)).t())
        lin.bias.copy_(torch.from_numpy(R.linear_init(cin, [cout], rng)))
    return lin


def conv(cin, cout, k, stride, pad, rng):
    c = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
    with torch.no_grad():
        c.weight.copy_(conv_param(k, cin, cout, rng))
    return c


class SmallEncoder(nn.Module):
    """src/model/smallEncoder.ts: 3×3 stride-2 convolutions + norm + ReLU; mean pooling, or the
    last feature map flattened in Stratum's NHWC order (so the heads' weights are the same)"""

    def __init__(self, cfg, ctx, rng, in_ch=6):
        super().__init__()
        self.pool = cfg.smallPool
        self.n = len(cfg.smallChannels)
        cin = in_ch
        for i, c in enumerate(cfg.smallChannels):
            setattr(self, f"conv{i}", conv(cin, c, 3, 2, 1, rng))
            setattr(self, f"bn{i}", norm_layer(cfg.encoderNorm, c, ctx))
            cin = c

    @property
    def stem(self):
        """the first convolution (the decomposer applies it, split between target and canvas)"""
        return self.conv0

    def from_stem(self, h):
        h = F.relu(self.bn0(h))
        for i in range(1, self.n):
            h = F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(h)))
        return h.permute(0, 2, 3, 1).flatten(1) if self.pool == "flatten" else h.mean((2, 3))

    @staticmethod
    def features(cfg):
        c = cfg.smallChannels[-1]
        if cfg.smallPool == "mean":
            return c
        s = cfg.size
        for _ in cfg.smallChannels:
            s = (s - 1) // 2 + 1
        return c * s * s


class Block(nn.Module):
    def __init__(self, cin, cout, stride, kind, ctx, rng):
        super().__init__()
        self.conv1 = conv(cin, cout, 3, stride, 1, rng)
        self.bn1 = norm_layer(kind, cout, ctx)
        self.conv2 = conv(cout, cout, 3, 1, 1, rng)
        self.bn2 = norm_layer(kind, cout, ctx)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = conv(cin, cout, 1, stride, 0, rng)
            self.downbn = norm_layer(kind, cout, ctx)

    def forward(self, x):
        idt = x if self.down is None else self.downbn(self.down(x))
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + idt)


class ResNet18(nn.Module):
    """src/model/resnet18.ts: torchvision's ResNet-18 without its fc, Stratum's parameter names"""

    def __init__(self, cfg, ctx, rng, in_ch=6):
        super().__init__()
        self.conv1 = conv(in_ch, 64, 7, 2, 3, rng)
        self.bn1 = norm_layer(cfg.encoderNorm, 64, ctx)
        cin = 64
        for s, (cout, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
            setattr(self, f"layer{s + 1}", nn.ModuleList([Block(cin, cout, stride, cfg.encoderNorm, ctx, rng), Block(cout, cout, 1, cfg.encoderNorm, ctx, rng)]))
            cin = cout

    @property
    def stem(self):
        return self.conv1

    def from_stem(self, h):
        h = F.max_pool2d(F.relu(self.bn1(h)), 3, 2, 1)
        for s in range(1, 5):
            for block in getattr(self, f"layer{s}"):
                h = block(h)
        return h.mean((2, 3))

    features = staticmethod(lambda cfg: 512)


class Heads(nn.Module):
    """src/model/heads.ts: p_t = Linear(h_t), c_t = sigmoid(Linear(h_t))"""

    def __init__(self, features, K, rng):
        super().__init__()
        self.p = linear(features, K, rng)
        self.c = linear(features, 3, rng)


class MaskNet(nn.Module):
    """src/core/maskNet.ts: f(x, y, p) = sigmoid(Linear(tanh(GN(Linear(… tanh(GN(Linear([x, y, p])))))))).
    Activations are [B, H, P] (channels, then pixels), so 'image' GroupNorm — a group's channels
    over all pixels of one image — is F.group_norm as it stands; 'pixel' normalises each pixel's
    groups on their own. The first Linear is split: W·[x, y, p] = W_xy·[x, y] + W_p·p."""

    def __init__(self, m, rng):
        super().__init__()
        self.m = m
        fan = m.K + 2
        for i in range(m.depth):
            setattr(self, f"l{i}", linear(fan, m.hidden, rng))
            setattr(self, f"gn{i}", nn.GroupNorm(m.groups, m.hidden, eps=NORM_EPS))
            fan = m.hidden
        self.out = linear(m.hidden, 1, rng)

    def forward(self, coords, p):
        """coords [P, 2] (x, y in [-1, 1]), p [B, K] -> masks [B, P]"""
        m = self.m
        w0 = self.l0.weight
        h = (w0[:, :2] @ coords.t())[None] + (p @ w0[:, 2:].t() + self.l0.bias)[:, :, None]  # [B, H, P]
        for i in range(m.depth):
            if i > 0:
                lin = getattr(self, f"l{i}")
                h = F.conv1d(h, lin.weight[:, :, None], lin.bias)  # a Linear over channels: [B, H, P] needs no transposed copy
            gn = getattr(self, f"gn{i}")
            if m.norm == "image":
                h = F.group_norm(h, m.groups, gn.weight, gn.bias, NORM_EPS)
            else:
                B, H, P = h.shape
                g = h.view(B, m.groups, H // m.groups, P)
                mean = g.mean(2, keepdim=True)
                var = ((g - mean) ** 2).mean(2, keepdim=True)
                h = ((g - mean) * torch.rsqrt(var + NORM_EPS)).view(B, H, P) * gn.weight[:, None] + gn.bias[:, None]
            h = torch.tanh(h)
        return torch.sigmoid(F.conv1d(h, self.out.weight[:, :, None], self.out.bias))[:, 0]


def pixel_grid(size):
    """src/core/grid.ts: pixel centres, x = (2i + 1)/W − 1, row-major, [P, 2] (x, y)"""
    v = (2 * torch.arange(size, dtype=torch.float64) + 1) / size - 1
    yy, xx = torch.meshgrid(v, v, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1).float()


class Decomposer(nn.Module):
    def __init__(self, cfg, seed=0):
        super().__init__()
        self.cfg = cfg
        self.ctx = Ctx()
        rng = R.Mulberry32(seed)
        enc = ResNet18 if cfg.encoder == "resnet18" else SmallEncoder
        self.enc = enc(cfg, self.ctx, rng)
        self.head = Heads(enc.features(cfg), cfg.mask.K, rng)
        self.mask = MaskNet(cfg.mask, rng)
        self.register_buffer("grid", pixel_grid(cfg.size), persistent=False)
        # the shape bank's parameter vectors [D, K] of a model file, kept to write back; training drops it
        self.shapes = None
        self.edge_shapes = None

    def batch_norms(self):
        return [(n, m) for n, m in self.named_modules() if isinstance(m, BatchNorm)]

    def forward(self, target, keep=False, T=None):
        """target [B, 3, S, S] -> the final canvas and, with keep, every step's (p, c, mask [B, 1, S, S], canvas)"""
        cfg, S = self.cfg, self.cfg.size
        if tuple(target.shape[1:]) != (3, S, S):
            raise ValueError(f"input must be [B, 3, {S}, {S}], got {list(target.shape)}")
        stem = self.enc.stem
        w = stem.weight
        target_stem = F.conv2d(target, w[:, :3], None, stem.stride, stem.padding)
        canvas = torch.zeros_like(target)
        steps = []
        for t in range(T or cfg.T):
            self.ctx.step = t
            seen = canvas.detach() if cfg.stopCanvasGrad else canvas
            feat = self.enc.from_stem(target_stem + F.conv2d(seen, w[:, 3:], None, stem.stride, stem.padding))
            p = self.head.p(feat)
            c = torch.sigmoid(self.head.c(feat))
            mask = self.mask(self.grid, p).view(-1, 1, S, S)
            canvas = canvas * (1 - mask) + c[:, :, None, None] * mask
            if keep:
                steps.append((p, c, mask, canvas))
        return canvas, steps

    def set_mode(self, training, update_stats=False, sync=False, momentum=0.1):
        """how the next forward passes normalise (see Ctx)"""
        c = self.ctx
        c.training, c.update_stats, c.sync, c.momentum = training, update_stats, sync, momentum
        return self
