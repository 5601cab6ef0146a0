"""What a training step minimises and how, as Stratum does it (src/research/train/step.ts, schedule.ts,
calibrate.ts, src/research/eval/reconstruct.ts):

  (1 − lsLoss)·L1(I_T, y) + lsLoss·L1(Σ_t c*_t w_t, y) + stepLoss·(1/T) Σ_t L1(I_t, y)
    + coverageLoss · mean_{b,t} max(0, COVERAGE_FLOOR − mean_x M_t(x))

c* the least-squares colours for the masks (lsq.py); the learning rate linear warm-up then cosine
to minLrShare·lr (or constant); the gradient's global L2 norm clipped to `clip`; Adam; per-step
BatchNorm statistics measured on training batches for inference."""
import math

import numpy as np
import torch

from .config import CALIBRATION_BATCHES, COVERAGE_FLOOR
from .lsq import least_squares_canvas
from .rng import batch_indices

# uint8 -> float32 as Stratum converts (v / 255 in float64, then rounded to float32)
BYTE_TO_FLOAT = torch.from_numpy((np.arange(256, dtype=np.float64) / 255).astype(np.float32))


def images(u8, device="cpu"):
    """uint8 [N, S, S, 3] (numpy) -> float [N, 3, S, S] in [0, 1]"""
    x = BYTE_TO_FLOAT[torch.from_numpy(np.ascontiguousarray(u8)).long()]
    return x.permute(0, 3, 1, 2).contiguous().to(device)


def l1(a, b):
    return (a - b).abs().mean()


def reconstruction_loss(model, target, lsLoss=0.0, stepLoss=0.0, coverageLoss=0.0):
    """src/research/train/step.ts reconstructionLoss; `model` may be the DDP wrapper of a Decomposer"""
    if not (lsLoss > 0 or stepLoss > 0 or coverageLoss > 0):
        return l1(model(target)[0], target)
    canvas, steps = model(target, True)
    terms = []
    if lsLoss > 0:
        terms.append(l1(least_squares_canvas([s[2] for s in steps], target), target) * lsLoss)
    if lsLoss < 1:
        terms.append(l1(canvas, target) * (1 - lsLoss))
    if stepLoss > 0:
        terms.append(sum(l1(s[3], target) for s in steps) * (stepLoss / len(steps)))
    if coverageLoss > 0:
        coverage = torch.stack([s[2].mean((1, 2, 3)) for s in steps])  # [T, B]
        terms.append(torch.relu(COVERAGE_FLOOR - coverage).mean() * coverageLoss)
    return terms[0] if len(terms) == 1 else sum(terms[1:], terms[0])


def learning_rate(cfg, step, scale=1.0):
    """src/research/train/schedule.ts: the rate at step n (1-based) of a run of cfg.steps steps"""
    warm = min(1.0, step / cfg.warmup) if cfg.warmup > 0 else 1.0
    if cfg.schedule == "constant":
        return cfg.lr * scale * warm
    span = max(1, cfg.steps - cfg.warmup)
    t = min(1.0, max(0.0, (step - cfg.warmup) / span))
    return cfg.lr * scale * warm * (cfg.minLrShare + (1 - cfg.minLrShare) * 0.5 * (1 + math.cos(math.pi * t)))


def clip_gradients(params, clip):
    """the global L2 norm of the gradients (before clipping); with clip > 0 they are scaled to at most clip (Stratum's rule: k = clip / norm, no epsilon)"""
    grads = [p.grad for p in params if p.grad is not None]
    # one device-to-host copy for the whole norm (a float() per tensor stalled a GPU ~60 times a step)
    norm = math.sqrt(float(torch.stack([(g.double() ** 2).sum() for g in grads]).sum())) if grads else 0.0
    if not math.isfinite(norm):
        raise FloatingPointError(f"gradient norm is {norm} (not finite): training diverged; lower --lr or resume from the last checkpoint")
    if clip > 0 and norm > clip:
        for g in grads:
            g.mul_(clip / norm)
    return norm


def psnr(a, b):
    """mean over images of 10·log10(1 / MSE), MSE floored at 1e-10 (src/core/psnr.ts)"""
    mse = ((a - b) ** 2).flatten(1).mean(1).double().clamp_min(1e-10)
    return (10 * torch.log10(1 / mse)).mean().item()


@torch.no_grad()
def evaluate(model, test_u8, batch=64, device="cpu"):
    """held-out PSNR with inference statistics: the encoder's colours, and least-squares colours for its masks (ridge 1e-6, as Stratum's evaluate)"""
    model.set_mode(False)
    s_eval = s_ls = 0.0
    n = len(test_u8)
    for i in range(0, n, batch):
        x = images(test_u8[i:i + batch], device)
        canvas, steps = model(x, True)
        s_eval += psnr(canvas, x) * len(x)
        s_ls += psnr(least_squares_canvas([s[2] for s in steps], x, 1e-6), x) * len(x)
    return {"psnr": s_eval / n, "psnrLs": s_ls / n}


@torch.no_grad()
def calibrate(model, train_u8, batch, batches=CALIBRATION_BATCHES, seed=1234, device="cpu"):
    """src/research/train/calibrate.ts: every BatchNorm's mean and variance at each step t over a few training batches -> step_mean, step_var [T, C]"""
    T = model.cfg.T
    sums = {}
    for b in range(batches):
        model.set_mode(True)
        model.ctx.record = []
        try:
            model(images(train_u8[batch_indices(len(train_u8), min(batch, len(train_u8)), seed, b)], device))
            for layer, t, mean, var in model.ctx.record:
                s = sums.setdefault(layer, [np.zeros((T, mean.numel())), np.zeros((T, mean.numel())), np.zeros(T)])
                m, v = mean.double().cpu().numpy(), var.double().cpu().numpy()
                s[0][t] += m
                s[1][t] += v + m * m
                s[2][t] += 1
        finally:
            model.ctx.record = None
    for layer, (ms, sq, cnt) in sums.items():
        c = np.maximum(1, cnt)[:, None]
        mean = ms / c
        dev = next(layer.parameters()).device
        layer.step_mean = torch.from_numpy(mean.astype(np.float32)).to(dev)
        layer.step_var = torch.from_numpy(np.maximum(0, sq / c - mean * mean).astype(np.float32)).to(dev)
    model.set_mode(False)


def drop_step_statistics(model):
    for _, layer in model.batch_norms():
        layer.step_mean = None
        layer.step_var = None

