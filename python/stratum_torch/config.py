"""The twin's typed configurations, field for field Stratum's (src/config.ts): the model's
architecture as a Stratum model file records it, and the training run's settings with Stratum's
defaults. A model file's `model` object is kept as read (`raw`), so writing it back records the
architecture exactly as Stratum wrote it."""
from dataclasses import asdict, dataclass, field

NORM_EPS = 1e-5  # GroupNorm / BatchNorm epsilon (PyTorch's default, Stratum's NORM_EPS)
ENCODER_GN_GROUPS = 8  # groups of the encoder's GroupNorm
COVERAGE_FLOOR = 0.02  # mask coverage under which the coverage hinge pushes a mask back up
CALIBRATION_BATCHES = 8  # training batches measured per BatchNorm calibration


@dataclass
class MaskNetConfig:
    K: int = 10
    hidden: int = 128
    depth: int = 3
    groups: int = 32
    norm: str = "image"  # 'image' (authors' code) or 'pixel' (paper's table)


@dataclass
class ModelConfig:
    mask: MaskNetConfig = field(default_factory=MaskNetConfig)
    T: int = 10
    size: int = 32
    encoder: str = "resnet18"  # 'resnet18' or 'small'
    smallChannels: list = field(default_factory=lambda: [32, 64, 64, 64])
    stopCanvasGrad: bool = False
    encoderNorm: str = "batch"  # 'batch' or 'group'
    smallPool: str = "mean"  # 'mean' or 'flatten'
    raw: dict = field(default=None, repr=False, compare=False)

    @staticmethod
    def from_dict(d, where="model"):
        """the architecture of a Stratum header's `model` (absent fields take Stratum's defaults)"""
        if not isinstance(d, dict) or not isinstance(d.get("mask"), dict):
            raise ValueError(f"{where}: the model configuration must be an object with a mask object")
        mask = MaskNetConfig(**{k: d["mask"][k] for k in ("K", "hidden", "depth", "groups", "norm") if k in d["mask"]})
        keys = ("T", "size", "encoder", "smallChannels", "stopCanvasGrad", "encoderNorm", "smallPool")
        cfg = ModelConfig(mask=mask, **{k: d[k] for k in keys if k in d and d[k] is not None}, raw=d)
        problem = cfg.problem()
        if problem:
            raise ValueError(f"{where}: {problem}")
        return cfg

    def problem(self):
        """why this architecture is unusable, or ''"""
        m = self.mask
        for name, v, lo, hi in (("mask.K", m.K, 1, 256), ("mask.hidden", m.hidden, 1, 1024), ("mask.depth", m.depth, 1, 16), ("mask.groups", m.groups, 1, 256), ("T", self.T, 1, 1024), ("size", self.size, 4, 1024)):
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                return f"{name} must be an integer in [{lo}, {hi}], got {v!r}"
        if m.hidden % m.groups:
            return f"mask.groups {m.groups} does not divide mask.hidden {m.hidden}"
        if m.norm not in ("image", "pixel"):
            return f"mask.norm must be 'image' or 'pixel', got {m.norm!r}"
        if self.encoder not in ("resnet18", "small"):
            return f"encoder must be 'resnet18' or 'small', got {self.encoder!r}"
        if self.encoderNorm not in ("batch", "group"):
            return f"encoderNorm must be 'batch' or 'group', got {self.encoderNorm!r}"
        if self.smallPool not in ("mean", "flatten") or (self.smallPool == "flatten" and self.encoder != "small"):
            return f"smallPool {self.smallPool!r} is not a pooling of the {self.encoder} encoder"
        if not self.smallChannels or not all(isinstance(c, int) and 1 <= c <= 4096 for c in self.smallChannels):
            return f"smallChannels must be 1 to 8 integers in [1, 4096], got {self.smallChannels!r}"
        return ""

    def to_dict(self):
        """as a Stratum header records it: the file's own object when read from one, else in Stratum's field order"""
        if self.raw is not None:
            return self.raw
        d = asdict(self)
        d.pop("raw")
        return d


@dataclass
class TrainConfig:
    """Stratum's TrainConfig and defaults; the twin uses the optimiser, schedule and objective fields"""
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    batch: int = 32
    steps: int = 10000
    evalEvery: int = 200
    saveEvery: int = 100
    holdout: int = 256
    seed: int = 0
    bnMomentum: float = 0.1
    advLambda: float = 0.0
    gamma: float = 10.0
    criticWidth: int = 64
    schedule: str = "constant"  # 'constant' or 'cosine' (linear warm-up, then cosine to minLrShare·lr)
    warmup: int = 0
    minLrShare: float = 0.05
    clip: float = 0.0
    lsLoss: float = 0.0
    stepLoss: float = 0.0
    coverageLoss: float = 0.0
    guardDrop: float = 2.0
    guardLossJump: float = 2.0
    guardLrFactor: float = 0.5

    def to_dict(self):
        return asdict(self)
