"""stratum_torch: Stratum's reconstruction model in PyTorch (the twin), for training at scale with
DistributedDataParallel (docs/scale.md). Weights move both ways as safetensors:
`stratum export-torch MODEL out.safetensors`, `stratum import-torch in.safetensors -o MODEL`."""
from .config import MaskNetConfig, ModelConfig, TrainConfig
from .model import Decomposer
from .weights import read_model, write_model

__all__ = ["MaskNetConfig", "ModelConfig", "TrainConfig", "Decomposer", "read_model", "write_model"]
