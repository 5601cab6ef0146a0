"""Seconds per training step of the twin on a random batch, the configuration of Stratum's
`npm run bench` (bench/train_step.ts: T=10, K=10, 32², batch 32, L1, Adam) unless told otherwise:

  python3 -m stratum_torch.bench --encoder small --threads 2 --reps 3
  python3 -m stratum_torch.bench --encoder small --pool flatten --stop-canvas-grad --ls-loss 0.9 --coverage-loss 1 --clip 1

--device cuda times it on a GPU (synchronised before each clock reading)."""
import argparse
import statistics
import time

import torch

from .config import MaskNetConfig, ModelConfig, TrainConfig
from .model import Decomposer
from .objective import clip_gradients, reconstruction_loss


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m stratum_torch.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", choices=["small", "resnet18"], default="small")
    ap.add_argument("--pool", choices=["mean", "flatten"], default="mean")
    ap.add_argument("--norm", choices=["image", "pixel"], default="image")
    ap.add_argument("--stop-canvas-grad", action="store_true")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--T", type=int, default=10)
    ap.add_argument("--K", type=int, default=10)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--ls-loss", type=float, default=0.0)
    ap.add_argument("--step-loss", type=float, default=0.0)
    ap.add_argument("--coverage-loss", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps (the first two are slow while PyTorch's allocator and oneDNN warm up)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--profile", action="store_true", help="after timing, profile 3 more steps and print where the time goes (host and device)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        from .train import fast_cuda
        fast_cuda()
    cfg = ModelConfig(mask=MaskNetConfig(K=a.K, norm=a.norm), T=a.T, size=a.size, encoder=a.encoder, smallPool=a.pool, stopCanvasGrad=a.stop_canvas_grad)
    model = Decomposer(cfg).to(dev)
    t = TrainConfig()
    opt = torch.optim.Adam(model.parameters(), lr=t.lr, betas=(t.beta1, t.beta2), eps=t.eps)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(a.batch, 3, a.size, a.size, generator=gen).to(dev)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    times, cpu = [], []

    def step():
        model.set_mode(True, update_stats=True)
        opt.zero_grad(set_to_none=True)
        loss = reconstruction_loss(model, x, a.ls_loss, a.step_loss, a.coverage_loss)
        loss.backward()
        clip_gradients(list(model.parameters()), a.clip)
        opt.step()

    for i in range(a.warmup + a.reps):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        sync()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)  # every thread of the process: steadier than wall time on a shared machine
    print(f"stratum_torch (torch {torch.__version__}, {torch.get_num_threads()} threads, {dev.type}) {a.encoder} encoder, batch {a.batch}, T={a.T}, K={a.K}, {a.size}²: median {statistics.median(times):.3f} s/step (all {', '.join(f'{v:.3f}' for v in times)}), CPU {statistics.median(cpu):.3f} s/step")
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
        with profile(activities=acts) as prof:
            for _ in range(3):
                step()
            sync()
        ev = prof.key_averages()
        launches = sum(e.count for e in ev if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC"))
        syncs = sum(e.count for e in ev if "Synchronize" in e.key or e.key in ("cudaMemcpyAsync", "cudaMemcpy"))
        # only the kernels themselves: an op's own row repeats the time of the kernels it launched
        on_device = [e for e in ev if str(getattr(e, "device_type", "")).endswith("CUDA")]
        dev_us = sum(getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0)) for e in on_device)
        print(f"profile, 3 steps: {launches / 3:.0f} kernel launches and {syncs / 3:.0f} copies/syncs per step; device busy {dev_us / 3e6:.3f} s per step")
        key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
        print(ev.table(sort_by=key, row_limit=15, max_name_column_width=40))


if __name__ == "__main__":
    main()
