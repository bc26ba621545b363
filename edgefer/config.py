"""Training configuration: one dataclass holding every knob, recorded verbatim in run.json."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from edgefer.errors import ModelError

MODES = ("simple", "advanced")
LR_SCHEDULES = ("cosine", "constant")
MIN_IMG_SIZE, MAX_IMG_SIZE = 32, 224


@dataclass
class TrainConfig:
    model: str = "mobilenetv2"
    mode: str = "simple"  # simple: frozen base + head; advanced: augmentation, head then fine-tuning
    data: str | None = None  # None: the embedded sample
    labels: str = "fer2013"
    ferplus: str | None = None
    epochs: int = 25
    img_size: int = 224
    weights: str = "imagenet"  # imagenet | none | path to a no-top weights file
    batch_size: int = 64
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-4
    lr_schedule: str = "cosine"  # per phase: cosine decay from the phase's rate towards 0, or constant
    head_epochs: int | None = None  # advanced: epochs on the frozen base first (default: a fifth)
    unfreeze: str = "default"  # advanced: "default", "all", or a number of top base layers
    dropout: float = 0.3
    dense_units: tuple[int, ...] = (256,)
    label_smoothing: float = 0.0
    class_weights: bool = False
    cache_features: bool = True  # simple mode: compute the frozen base's features once
    val_fraction: float = 0.2
    test_split: str = "PublicTest"
    seed: int = 0
    out: str = "runs"
    cache_dir: str | None = None
    distribute: bool = False  # data-parallel over all local devices; batch_size is per replica

    def validate(self) -> TrainConfig:
        from edgefer.backbones import BACKBONE_NAMES

        if self.model not in BACKBONE_NAMES:
            raise ModelError(f"unknown model {self.model!r}; expected one of {', '.join(BACKBONE_NAMES)}")
        if self.mode not in MODES:
            raise ModelError(f"unknown mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if not MIN_IMG_SIZE <= self.img_size <= MAX_IMG_SIZE:
            raise ModelError(f"--img-size {self.img_size} outside {MIN_IMG_SIZE}..{MAX_IMG_SIZE}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ModelError("--epochs and --batch-size must be at least 1")
        if self.mode == "advanced" and self.epochs < 2:
            raise ModelError("advanced mode needs at least 2 epochs (head, then fine-tuning)")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ModelError(f"--lr-schedule {self.lr_schedule!r}; expected one of {', '.join(LR_SCHEDULES)}")
        if self.unfreeze not in ("default", "all") and not str(self.unfreeze).isdigit():
            raise ModelError(f"--unfreeze must be 'default', 'all' or a number of layers, got {self.unfreeze!r}")
        return self

    @property
    def phase_epochs(self) -> dict[str, int]:
        """Epochs per phase: simple = all on the head; advanced = head first, then fine-tuning."""
        if self.mode == "simple":
            return {"head": self.epochs}
        head = self.head_epochs if self.head_epochs is not None else max(1, round(self.epochs / 5))
        head = min(max(head, 1), self.epochs - 1)
        return {"head": head, "fine_tune": self.epochs - head}

    def learning_rate_at(self, phase: str, epoch: int, first_epoch: int, last_epoch: int) -> float:
        """The rate for 0-based `epoch` of a phase spanning [first_epoch, last_epoch): a pure function of the
        epoch, so a resumed run follows the same schedule."""
        base = self.learning_rate if phase == "head" else self.fine_tune_learning_rate
        if self.lr_schedule == "constant":
            return base
        position = (epoch - first_epoch) / max(1, last_epoch - first_epoch)
        return base * 0.5 * (1.0 + math.cos(math.pi * position))

    def as_dict(self) -> dict:
        return asdict(self)
