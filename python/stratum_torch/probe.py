"""Run the twin on a batch of images and write down everything it computes, in Stratum's layouts
(NHWC images, masks [T, B, S, S]), so it can be held against Stratum's own numbers
(test/torchTwin.e2e.test.ts) or inspected:

  python3 -m stratum_torch.probe MODEL.safetensors IMAGES.safetensors OUT.safetensors [--step JSON]

IMAGES holds `images` [B, S, S, 3] in [0, 1]. OUT holds, for inference statistics (`eval.`) and
for batch statistics (`train.`): p [T, B, K], c [T, B, 3], masks [T, B, S, S], canvases
[T, B, S, S, 3], least-squares colours ls4 / ls6 [B, T, 3] (ridge 1e-4 as in the loss, 1e-6 as
in evaluation). With --step (a JSON object of training settings: lr, clip, lsLoss, stepLoss,
coverageLoss, schedule, warmup, steps …) one training step from these weights: `loss`,
`gradNorm`, `grad.NAME` for every parameter and `after.NAME` for every tensor after Adam."""
import argparse
import json
import sys

import torch

from . import safetensors as st
from .config import TrainConfig
from .lsq import least_squares_blend
from .objective import clip_gradients, learning_rate, reconstruction_loss
from .weights import model_tensors, read_model


def forward_outputs(model, x, prefix):
    out = {}
    with torch.no_grad():
        _, steps = model(x, True)
    p, c, m, cv = (torch.stack([s[i] for s in steps]) for i in range(4))
    out[f"{prefix}p"], out[f"{prefix}c"] = p, c
    out[f"{prefix}masks"] = m[:, :, 0]
    out[f"{prefix}canvases"] = cv.permute(0, 1, 3, 4, 2)
    masks = m[:, :, 0].flatten(2).permute(1, 2, 0)  # [B, P, T]
    y = x.flatten(2).transpose(1, 2)
    for name, ridge in (("ls4", 1e-4), ("ls6", 1e-6)):
        out[f"{prefix}{name}"] = least_squares_blend(masks, y, ridge)[1]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m stratum_torch.probe", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("images")
    ap.add_argument("out")
    ap.add_argument("--step", metavar="JSON", help="training settings for one step (TrainConfig fields)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, _, _ = read_model(a.model)
    tensors, _ = st.read(a.images)
    if "images" not in tensors:
        raise st.FormatError(f"{a.images}: no tensor named images")
    x = torch.from_numpy(tensors["images"]).permute(0, 3, 1, 2).contiguous()
    out = {}
    out.update(forward_outputs(model.set_mode(False), x, "eval."))
    out.update(forward_outputs(model.set_mode(True), x, "train."))
    if a.step:
        cfg = TrainConfig(**json.loads(a.step))
        model.set_mode(True, update_stats=True, momentum=cfg.bnMomentum)
        opt = torch.optim.Adam(model.parameters(), lr=learning_rate(cfg, 1), betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
        loss = reconstruction_loss(model, x, cfg.lsLoss, cfg.stepLoss, cfg.coverageLoss)
        loss.backward()
        out["loss"] = loss.detach().reshape(1)
        for n, p in model.named_parameters():
            out[f"grad.{n}"] = p.grad.clone() if p.grad is not None else torch.zeros_like(p)  # a parameter the loss does not reach
        out["gradNorm"] = torch.tensor([clip_gradients(list(model.parameters()), cfg.clip)])
        opt.step()
        for n, v in model_tensors(model, shapes=False):
            out[f"after.{n}"] = torch.from_numpy(v)
    st.write(a.out, [(k, v.detach().cpu().float().numpy()) for k, v in out.items()])


if __name__ == "__main__":
    try:
        main()
    except (st.FormatError, ValueError, OSError) as e:
        print(f"stratum_torch.probe: {str(e).splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
