"""Model files of the twin: safetensors in the layout of `stratum export-torch`
(src/research/model/torchWeights.ts). Tensor names are the Decomposer's state_dict names (Stratum's
parameter names with PyTorch's last part), plus

  ….step_mean, ….step_var   per-step BatchNorm statistics [T, C], when calibrated
  shapes.p                   the shape bank's parameter vectors [D, K] (kept, never trained)
  shapes.edges               the edge shapes' parameter vectors [E, K] (kept, never trained)
  adam.m.NAME, adam.v.NAME   Adam's moments of parameter NAME (training checkpoints)

and __metadata__["stratum.header"] is the Stratum checkpoint header without its tensor table: the
architecture (`model`), step, adamStep, data, info, train. `stratum import-torch` turns such a
file into a Stratum model file."""
import json

import torch

from . import safetensors as st
from .config import ModelConfig
from .model import Decomposer

HEADER_KEY = "stratum.header"
ADAM_PREFIXES = ("adam.m.", "adam.v.")


def read_model(path, seed=0):
    """(model, header, adam) from a safetensors model file; adam is {'m': {name: array}, 'v': {...}}. Errors are one line naming the file."""
    tensors, meta = st.read(path)
    if HEADER_KEY not in meta:
        raise st.FormatError(f"{path}: no {HEADER_KEY} in its __metadata__: the architecture is unknown (write it with stratum export-torch or this package)")
    try:
        header = json.loads(meta[HEADER_KEY])
    except json.JSONDecodeError:
        raise st.FormatError(f"{path}: {HEADER_KEY} in its __metadata__ is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != "stratum-checkpoint":
        raise st.FormatError(f"{path}: {HEADER_KEY} is not a Stratum checkpoint header")
    if header.get("kind") is not None:
        raise st.FormatError(f"{path}: a {header['kind']} checkpoint, not a reconstruction model")
    try:
        cfg = ModelConfig.from_dict(header.get("model"), path)
    except ValueError as e:
        raise st.FormatError(str(e)) from None
    model = Decomposer(cfg, seed)
    own = model.state_dict()
    for name, t in own.items():
        if name not in tensors:
            raise st.FormatError(f"{path}: lacks {name} (a {cfg.encoder} encoder, T={cfg.T}, K={cfg.mask.K}, {cfg.size}² model needs it)")
        if list(tensors[name].shape) != list(t.shape):
            raise st.FormatError(f"{path}: {name} has shape {list(tensors[name].shape)}, expected {list(t.shape)} for this architecture")
    model.load_state_dict({k: torch.from_numpy(tensors[k]) for k in own})
    norms = dict(model.batch_norms())
    adam = {"m": {}, "v": {}}
    for name, a in tensors.items():
        if name in own:
            continue
        layer, _, leaf = name.rpartition(".")
        if leaf in ("step_mean", "step_var") and layer in norms:
            C = norms[layer].running_mean.numel()
            twin = tensors.get(f"{layer}.{'step_var' if leaf == 'step_mean' else 'step_mean'}")
            if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] != C or twin is None or twin.shape != a.shape:
                raise st.FormatError(f"{path}: per-step BatchNorm statistics {name} of shape {list(a.shape)} do not fit the model")
            setattr(norms[layer], leaf, torch.from_numpy(a.copy()))
        elif name == "shapes.p":
            if a.ndim != 2 or a.shape[1] != cfg.mask.K:
                raise st.FormatError(f"{path}: shape bank shapes.p has shape {list(a.shape)}, expected [D, {cfg.mask.K}]")
            model.shapes = a.copy()
        elif name == "shapes.edges":
            if a.ndim != 2 or a.shape[1] != cfg.mask.K:
                raise st.FormatError(f"{path}: edge shapes shapes.edges has shape {list(a.shape)}, expected [E, {cfg.mask.K}]")
            model.edge_shapes = a.copy()
        elif name.startswith(ADAM_PREFIXES) and name[7:] in own:
            adam[name[5]][name[7:]] = a
        else:
            raise st.FormatError(f"{path}: unexpected tensor {name} (not a parameter, statistic, shape bank or optimiser moment of this model)")
    return model, header, adam


def model_tensors(model, shapes=True):
    """[(name, float32 array)]: parameters and running statistics, then per-step statistics, then the shape bank and the edge shapes (Stratum's order)"""
    out = [(k, v.detach().cpu().numpy()) for k, v in model.state_dict().items() if not k.endswith((".step_mean", ".step_var"))]
    for name, layer in model.batch_norms():
        if layer.step_mean is not None:
            out += [(f"{name}.step_mean", layer.step_mean.cpu().numpy()), (f"{name}.step_var", layer.step_var.cpu().numpy())]
    if shapes and model.shapes is not None:
        out.append(("shapes.p", model.shapes))
    if shapes and model.edge_shapes is not None:
        out.append(("shapes.edges", model.edge_shapes))
    return out


def adam_tensors(model, opt):
    """Adam's moments under Stratum's names (adam.m.NAME then adam.v.NAME), for parameters that have them"""
    names = {p: n for n, p in model.named_parameters()}
    m, v = [], []
    for p, s in opt.state.items():
        if "exp_avg" in s:
            m.append((f"adam.m.{names[p]}", s["exp_avg"].detach().cpu().numpy()))
            v.append((f"adam.v.{names[p]}", s["exp_avg_sq"].detach().cpu().numpy()))
    order = {n: i for i, (n, _) in enumerate(model.named_parameters())}
    key = lambda e: order[e[0][7:]]
    return sorted(m, key=key) + sorted(v, key=key)


def restore_adam(model, opt, adam, step):
    """put Adam's moments back (a checkpoint's), with its step count"""
    for n, p in model.named_parameters():
        if n in adam["m"] and n in adam["v"]:
            opt.state[p] = {"step": torch.tensor(float(step)), "exp_avg": torch.from_numpy(adam["m"][n].copy()).to(p.device), "exp_avg_sq": torch.from_numpy(adam["v"][n].copy()).to(p.device)}


def header(model, step=0, adam_step=0, data=None, info=None, train=None):
    """a Stratum checkpoint header (without its tensor table) in Stratum's field order"""
    h = {"format": "stratum-checkpoint", "version": 1, "model": model.cfg.to_dict()}
    if train is not None:
        h["train"] = train
    h.update(step=int(step), adamStep=int(adam_step))
    if data is not None:
        h["data"] = data
    if info is not None:
        h["info"] = info
    return h


def write_model(path, model, head, opt=None, shapes=True):
    """write the model (and Adam's moments) with `head` as its Stratum header, atomically"""
    tensors = model_tensors(model, shapes) + (adam_tensors(model, opt) if opt is not None else [])
    st.write(path, tensors, {"format": "pt", HEADER_KEY: json.dumps(head, separators=(",", ":"), ensure_ascii=False)})


def state_arrays(model):
    """every tensor of the model by name, as float32 arrays (tests, probes)"""
    return dict(model_tensors(model))

