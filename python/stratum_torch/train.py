"""Train Stratum's reconstruction model with PyTorch, on one process or many (DDP):

  python3 -m stratum_torch.train --data DIR -o RUN [options]                       one process
  torchrun --nproc_per_node N -m stratum_torch.train --data DIR -o RUN [options]   N processes

DIR is a data set written by `stratum export-data` (train.npy, test.npy: uint8 [N, S, S, 3], and
data.json). Batch n of a run is the batch `stratum train` draws at step n (the same indices from
(seed, n)); with N processes each takes its share of that batch, BatchNorm statistics are
all-reduced over the group and DDP averages the gradients, so N processes step exactly as one
process does on the whole batch. On GPUs (one per process) the group talks over NCCL, on CPUs
over gloo.

RUN receives checkpoint.safetensors (weights, Adam state, step: --resume continues it; every
--save-every steps and at the end), best.safetensors (the best held-out PSNR so far),
model.safetensors (the weights at the end) and metrics.jsonl. `stratum import-torch` turns any of
them into a Stratum model file; a Stratum training checkpoint exported with `stratum export-torch`
to RUN/checkpoint.safetensors is continued here with --resume, Adam state included."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

from . import safetensors as st
from .config import MaskNetConfig, ModelConfig, TrainConfig
from .model import Decomposer
from .objective import calibrate, clip_gradients, drop_step_statistics, evaluate, images, learning_rate, reconstruction_loss
from .rng import batch_indices
from .weights import header, read_model, restore_adam, write_model

CHECKPOINT, BEST, FINAL, METRICS = "checkpoint.safetensors", "best.safetensors", "model.safetensors", "metrics.jsonl"
ARCHITECTURE = ("T", "K", "encoder", "channels", "pool", "norm", "encoder_norm", "stop_canvas_grad")


def parse_args(argv=None):
    d, m = TrainConfig(), ModelConfig()
    ap = argparse.ArgumentParser(prog="stratum_torch.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder written by `stratum export-data`")
    ap.add_argument("-o", "--output", default="runs/torch", help="run folder")
    ap.add_argument("--resume", action="store_true", help="continue RUN/checkpoint.safetensors")
    ap.add_argument("--init", help="start from this model's weights (architecture from the file; fresh optimiser)")
    ap.add_argument("--steps", type=int, default=d.steps)
    ap.add_argument("--batch", type=int, default=d.batch, help="global batch (split over the processes)")
    ap.add_argument("--lr", type=float, default=d.lr)
    # architecture (None: not given, so --init and --resume can tell a clash from a default)
    ap.add_argument("--T", type=int)
    ap.add_argument("--K", type=int)
    ap.add_argument("--encoder", choices=["resnet18", "small"])
    ap.add_argument("--channels", help=f"small encoder's channels (default {','.join(map(str, m.smallChannels))})")
    ap.add_argument("--pool", choices=["mean", "flatten"])
    ap.add_argument("--norm", choices=["image", "pixel"], help="mask-MLP GroupNorm")
    ap.add_argument("--encoder-norm", choices=["batch", "group"])
    ap.add_argument("--stop-canvas-grad", action="store_true", default=None)
    ap.add_argument("--eval-every", type=int, default=d.evalEvery)
    ap.add_argument("--save-every", type=int, default=d.saveEvery)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--schedule", choices=["constant", "cosine"], default=d.schedule)
    ap.add_argument("--warmup", type=int, default=d.warmup)
    ap.add_argument("--clip", type=float, default=d.clip)
    ap.add_argument("--ls-loss", type=float, default=d.lsLoss)
    ap.add_argument("--step-loss", type=float, default=d.stepLoss)
    ap.add_argument("--coverage-loss", type=float, default=d.coverageLoss)
    ap.add_argument("--no-sync-bn", action="store_true", help="each process normalises its own share of the batch (faster on many GPUs; no longer equal to one process)")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--threads", type=int, help="CPU threads per process (torch.set_num_threads)")
    ap.add_argument("--max-seconds", type=float, default=0, help="stop after this much wall time (evaluated and saved at the step reached; 0: no limit)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    for name, lo in (("steps", 1), ("batch", 1), ("eval_every", 1), ("save_every", 1), ("warmup", 0), ("seed", 0)):
        if getattr(a, name) < lo:
            ap.error(f"--{name.replace('_', '-')} must be an integer ≥ {lo}")
    if not (0 <= a.ls_loss <= 1):
        ap.error(f"--ls-loss must be a weight in [0, 1], got {a.ls_loss}")
    if not (a.max_seconds >= 0 and math.isfinite(a.max_seconds)):
        ap.error(f"--max-seconds must be a number of seconds ≥ 0, got {a.max_seconds}")
    if a.lr <= 0 or a.clip < 0 or a.step_loss < 0 or a.coverage_loss < 0:
        ap.error("--lr must be > 0; --clip, --step-loss and --coverage-loss ≥ 0")
    return a


def train_config(a):
    return TrainConfig(lr=a.lr, batch=a.batch, steps=a.steps, evalEvery=a.eval_every, saveEvery=a.save_every, seed=a.seed, schedule=a.schedule, warmup=a.warmup, clip=a.clip, lsLoss=a.ls_loss, stepLoss=a.step_loss, coverageLoss=a.coverage_loss)


def model_config(a, size):
    m = ModelConfig()
    cfg = ModelConfig(
        mask=MaskNetConfig(K=a.K or m.mask.K, norm=a.norm or m.mask.norm),
        T=a.T or m.T,
        size=size,
        encoder=a.encoder or m.encoder,
        smallChannels=[int(c) for c in a.channels.split(",")] if a.channels else m.smallChannels,
        stopCanvasGrad=bool(a.stop_canvas_grad),
        encoderNorm=a.encoder_norm or m.encoderNorm,
        smallPool=a.pool or m.smallPool,
    )
    problem = cfg.problem()
    if problem:
        raise ValueError(problem)
    return cfg


def check_architecture(a, cfg, path):
    """an architecture flag given with --init or --resume must agree with the model file"""
    have = {"T": cfg.T, "K": cfg.mask.K, "encoder": cfg.encoder, "channels": ",".join(map(str, cfg.smallChannels)), "pool": cfg.smallPool, "norm": cfg.mask.norm, "encoder_norm": cfg.encoderNorm, "stop_canvas_grad": cfg.stopCanvasGrad}
    for k in ARCHITECTURE:
        v = getattr(a, k)
        if v is not None and str(v) != str(have[k]):
            raise ValueError(f"--{k.replace('_', '-')} {v} differs from the model in {path} ({have[k]}); leave it out")


class Metrics:
    """metrics.jsonl, cut back to the resumed step (as Stratum's MetricsLog)"""

    def __init__(self, path, up_to):
        self.path = path
        rows = []
        if up_to > 0 and os.path.exists(path):
            with open(path) as f:
                for line in f:
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut off by a kill
                    if r.get("step", math.inf) <= up_to:
                        rows.append(r)
        with open(path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)

    def add(self, row):
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")


def load_data(folder):
    """data.json, train.npy (memory-mapped) and test.npy of a folder written by `stratum export-data`"""
    paths = [os.path.join(folder, f) for f in ("data.json", "train.npy", "test.npy")]
    for p in paths:
        if not os.path.isfile(p):
            raise ValueError(f"{p}: no such file (write the data folder with `stratum export-data --data SPEC -o {folder}`)")
    try:
        with open(paths[0]) as f:
            meta = json.load(f)
        size = int(meta["size"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ValueError(f"{paths[0]}: not a data description of `stratum export-data`") from None
    arrays = []
    for p, mmap in ((paths[1], "r"), (paths[2], None)):
        try:
            arr = np.load(p, mmap_mode=mmap, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{p}: not a .npy array ({e})") from None
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1:] != (size, size, 3) or len(arr) < 1:
            raise ValueError(f"{p}: expected uint8 [N, {size}, {size}, 3] images, got {arr.dtype} {list(arr.shape)}")
        arrays.append(arr)
    return meta, arrays[0], arrays[1]


def fast_cuda():
    """on a GPU: cuDNN picks its fastest convolution per shape, and float32 matrix products may use TF32"""
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True


def setup_distributed(want):
    """(rank, world, device); a process group when torchrun started several processes"""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = want != "cpu" and torch.cuda.is_available()
    if want == "cuda" and not cuda:
        raise RuntimeError("--device cuda: no CUDA device is visible to PyTorch")
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
        fast_cuda()
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device


def main(argv=None):
    a = parse_args(argv)
    rank, world, device = setup_distributed(a.device)
    if a.threads:
        torch.set_num_threads(a.threads)
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if rank == 0 and not a.quiet else (lambda msg: None)
    if a.batch % world:
        raise ValueError(f"--batch {a.batch} does not split into {world} equal shares (one per process)")
    meta, train_u8, test_u8 = load_data(a.data)
    cfg_t = train_config(a)
    os.makedirs(a.output, exist_ok=True)
    ckpt_path = os.path.join(a.output, CHECKPOINT)
    start, adam, elapsed_before = 0, None, 0.0
    if a.resume and os.path.exists(ckpt_path):
        model, head, adam = read_model(ckpt_path, a.seed)
        check_architecture(a, model.cfg, ckpt_path)
        start, adam_step = head["step"], head["adamStep"]
        elapsed_before = float((head.get("info") or {}).get("elapsed") or 0)
    elif os.path.exists(ckpt_path):
        raise ValueError(f"{ckpt_path} exists: pass --resume to continue it or choose another -o/--output folder")
    elif a.init:
        model, _, _ = read_model(a.init, a.seed)
        check_architecture(a, model.cfg, a.init)
        if model.cfg.size != meta["size"]:
            raise ValueError(f"{a.init}: a {model.cfg.size}² model, the data in {a.data} is {meta['size']}²")
        drop_step_statistics(model)  # they belong to the weights as they were
    else:
        model = Decomposer(model_config(a, meta["size"]), a.seed)
    if model.shapes is not None:
        say("the model's shape bank is dropped: training changes the mask network it was chosen for (rebuild it with `stratum shapes`)")
        model.shapes = None
    if model.edge_shapes is not None:
        say("the model's edge shapes are dropped: training changes the mask network they were fitted for (refit them with `stratum shapes --edges`)")
        model.edge_shapes = None
    model.to(device)
    cfg = model.cfg
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=cfg_t.lr, betas=(cfg_t.beta1, cfg_t.beta2), eps=cfg_t.eps)
    if adam:
        restore_adam(model, opt, adam, adam_step)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        # buffers are not broadcast: every process computes the same (synchronised) statistics itself
        net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)
    say(f"model: {cfg.encoder} encoder, T={cfg.T}, K={cfg.mask.K}, {cfg.size}², GroupNorm {cfg.mask.norm}, {sum(p.numel() for p in params)} parameters; {len(train_u8)} train / {len(test_u8)} held out; {world} process(es) on {device.type}")
    if start:
        say(f"resumed from {ckpt_path} at step {start}")
    metrics = Metrics(os.path.join(a.output, METRICS), start) if rank == 0 else None
    score_key = "psnrLs" if cfg_t.lsLoss > 0 else "psnr"
    best_path = os.path.join(a.output, BEST)
    best = -math.inf
    if start and os.path.exists(best_path):
        best = float((read_model(best_path)[1].get("info") or {}).get("heldOutPsnr", -math.inf))
    t_start = time.time()
    elapsed = lambda: round(elapsed_before + time.time() - t_start)
    data_name = meta.get("data")

    def evaluate_now(step):
        nonlocal best
        if cfg.encoderNorm == "batch":
            calibrate(model, train_u8, cfg_t.batch, device=device)
        r = evaluate(model, test_u8, device=device)
        metrics.add({"step": step, **r})
        if r[score_key] > best:
            best = r[score_key]
            info = {"heldOutPsnr": best, "heldOutPsnrEncoderColours": r["psnr"], "heldOutPsnrLs": r["psnrLs"], "heldOutImages": len(test_u8), "trainConfig": cfg_t.to_dict(), "engine": "stratum_torch"}
            write_model(best_path, model, header(model, step, 0, data_name, info))
        return r

    def adam_count():
        s = [v["step"] for v in opt.state.values() if "step" in v]
        return int(s[0]) if s else 0

    def save(step):
        info = {"lastPsnr": last.get("psnr"), "elapsed": elapsed(), "engine": "stratum_torch", "processes": world}
        write_model(ckpt_path, model, header(model, step, adam_count(), data_name, info, cfg_t.to_dict()), opt)

    def rank0(work):
        """work done by the first process while the others wait for it"""
        out = work() if rank == 0 else None
        if world > 1:
            torch.distributed.barrier()
        return out

    last = {}
    if start == 0:
        last = rank0(lambda: evaluate_now(0)) or {}
    t0 = time.time()
    share = cfg_t.batch // world
    final_step = max(start, cfg_t.steps)
    for step in range(start + 1, cfg_t.steps + 1):
        # a time limit ends the run at this step as if it were the last: evaluated and saved
        out_of_time = bool(a.max_seconds) and time.time() - t_start >= a.max_seconds
        if world > 1 and a.max_seconds:  # every process stops at the same step
            flag = torch.tensor([1.0 if out_of_time else 0.0], device=device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            out_of_time = bool(flag.item())
        last_step = step == cfg_t.steps or out_of_time
        lr = learning_rate(cfg_t, step)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = batch_indices(len(train_u8), cfg_t.batch, cfg_t.seed, step)[rank * share:(rank + 1) * share]
        x = images(train_u8[idx], device)
        model.set_mode(True, update_stats=True, sync=world > 1 and not a.no_sync_bn, momentum=cfg_t.bnMomentum)
        opt.zero_grad(set_to_none=True)
        loss = reconstruction_loss(net, x, cfg_t.lsLoss, cfg_t.stepLoss, cfg_t.coverageLoss)
        loss.backward()
        value = loss.detach().clone()
        if world > 1:
            torch.distributed.all_reduce(value)
            value /= world
        value = value.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"loss is {value} (not finite) at step {step}: training diverged; lower --lr or resume from the last checkpoint")
        norm = clip_gradients(params, cfg_t.clip)
        opt.step()
        if rank == 0:
            metrics.add({"step": step, "loss": value, "lr": lr, "gradNorm": norm, "secPerStep": (time.time() - t0) / (step - start), "elapsed": elapsed()})
            if not a.quiet and (step % 10 == 0 or last_step):
                say(f"step {step}/{cfg_t.steps}: loss {value:.5f}, lr {lr:.2e}, {(time.time() - t0) / (step - start):.3f} s/step")
        if step % cfg_t.evalEvery == 0 or last_step:
            last = rank0(lambda: evaluate_now(step)) or last
            if rank == 0:
                say(f"step {step}: held-out PSNR {last['psnr']:.2f} dB (least-squares colours {last['psnrLs']:.2f} dB)")
        if step % cfg_t.saveEvery == 0 or last_step:
            rank0(lambda: save(step))
        if out_of_time:
            say(f"--max-seconds {a.max_seconds:g} reached: stopped at step {step} of {cfg_t.steps} (--resume continues it)")
            final_step = step
            break
    rank0(lambda: write_model(os.path.join(a.output, FINAL), model, header(model, final_step, 0, data_name, {"heldOutPsnr": last.get("psnr"), "heldOutPsnrLs": last.get("psnrLs"), "heldOutImages": len(test_u8), "trainConfig": cfg_t.to_dict(), "engine": "stratum_torch"})))
    if rank == 0 and not a.quiet:
        print(f"held-out PSNR {last.get('psnr', float('nan')):.2f} dB after {final_step} steps ({len(test_u8)} images); run folder {a.output}")
    if world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    try:
        main()
    except (st.FormatError, ValueError, OSError, FloatingPointError, RuntimeError) as e:
        print(f"stratum_torch.train: {str(e).splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
