"""Training configuration: one dataclass holding every knob, recorded verbatim in run.json.

Two recipes (`RECIPES`) give the knobs their defaults:
- scratch: a randomly initialised network trained in one phase, every layer trainable: AdamW
  (2e-3, weight decay 0.05), warm-up then cosine to 0 over the whole run, batch 128, label
  smoothing 0.1, flip + shift + random-erasing augmentation, GAP -> Dropout(0.2) -> softmax head.
- finetune: ImageNet (or other pretrained) weights: a head on the frozen base, then (advanced mode)
  the top base layers unfrozen at a lower rate; Adam, a dense head.
`recipe="auto"` picks scratch for `weights="none"` and finetune otherwise (ImageNet, a file, or a packaged
model's name: `default` or `fast` start from the model edgefer ships, at its own width and input size, with a
linear head; edgefer.train.packaged_start). Any knob given
explicitly wins over its recipe's default; `resolved()` fills the rest and is what run.json records.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from edgefer.cli_support import option
from edgefer.core.fileio import regenerate
from edgefer.data.loading import DataSource
from edgefer.errors import ConfigError
from edgefer.predictor import TTA_MODES
from edgefer.train.augment import AUGMENT_PRESETS
from edgefer.train.backbones import BACKBONE_NAMES, BACKBONES, get_backbone
from edgefer.train.packaged_start import is_packaged, packaged_source

MODES = ("simple", "advanced")
LR_SCHEDULES = ("cosine", "constant")
OPTIMIZERS = ("adam", "adamw", "sgd")
FERPLUS_TARGETS = ("votes", "majority")

# Defaults each recipe gives to the knobs left as None.
RECIPES: dict[str, dict] = {
    "scratch": dict(optimizer="adamw", weight_decay=0.05, warmup_epochs=2, learning_rate=2e-3, batch_size=128,
                    label_smoothing=0.1, augment="standard", dropout=0.2, dense_units=(), bn_momentum=0.99),
    "finetune": dict(optimizer="adam", weight_decay=0.0, warmup_epochs=0, learning_rate=1e-3, batch_size=64,
                     label_smoothing=0.0, augment="light", dropout=0.3, dense_units=(256,), bn_momentum=None),
}
MIN_IMG_SIZE, MAX_IMG_SIZE = 32, 224
DEFAULT_IMG_SIZE = 224
DEFAULT_MODEL = "mobilenetv2"  # the backbone when neither --model nor a packaged start names one


def expand_choice(value: str | None, choices: tuple[str, ...], every: str) -> list[str | None]:
    """`--model all` / `--mode both` -> every choice; one choice -> itself; None (not given: the configuration's own
    default) -> [None]; anything else a ConfigError."""
    if value is None:
        return [None]
    if value == every:
        return list(choices)
    if value not in choices:
        raise ConfigError(f"expected one of {', '.join(choices + (every,))}, got {value!r}")
    return [value]


@dataclass
class TrainConfig:
    """Every knob of a training run. A field with a flag in its metadata is an option of `edgefer train`, with this
    default and this help; the recipes (RECIPES) fill the knobs left as None."""

    model: str | None = field(default=None, metadata=option(
        "--model", f"{', '.join(BACKBONE_NAMES)} (the backbone registry), or all. Default {DEFAULT_MODEL}, or the "
        "packaged model's own with --weights default/fast/ferplus."))
    mode: str = field(default="simple", metadata=option(
        "--mode", "finetune recipe: simple (frozen base + head), advanced (augmentation, then fine-tuning), or both. "
        "Ignored by the scratch recipe."))
    data: str | None = field(default=None, metadata=option(
        "--data", "FER2013 in any form `data info` reads. Default: the embedded sample.", metavar="PATH"))
    labels: str = field(default="fer2013", metadata=option("--labels", DataSource.__dataclass_fields__["labels"].metadata["help"]))
    ferplus: str | None = field(default=None, metadata=option(
        "--ferplus", "fer2013new.csv[.gz]; default: found beside the CSV.", metavar="PATH"))
    # Measured on the full data, the same 10-epoch fine-tune from the packaged default: majority 82.13% vs votes
    # 81.85% on FER+ PublicTest (val 83.87% vs 83.66%), so majority is the default (docs/history/RESULTS.md).
    label_blend: float = field(default=0.5, metadata=option(
        "--label-blend", "With --labels blend: FER2013's share of each face's target; the rest is the face's FER+ "
        "votes over the same 7 classes (0: the annotators alone, 1: FER2013's label alone).", min=0.0, max=1.0))
    ferplus_target: str = field(default="majority", metadata=option(
        "--ferplus-target", "With --labels ferplus: majority (one-hot majority label; measured 0.3 pp better) or votes "
        "(cross-entropy against each face's distribution of the 10 annotators' votes). Evaluation is against the "
        "majority either way."))
    epochs: int = field(default=25, metadata=option(
        "--epochs", "Epochs in all (advanced: head epochs + fine-tuning epochs). With --resume: a new total (more to "
        "extend; the epochs done to finish now).", min=1))
    time_budget: float | None = field(default=None, metadata=option(
        "--time-budget", "Minutes for the whole run (scratch recipe): once the warm-up is over and at least two epochs "
        "are timed, --epochs becomes the number of epochs that fit (never more than --epochs) and the cosine decay "
        "is fitted to it. run.json records that number, so --epochs N repeats the schedule. For a lent GPU or a fixed "
        "slot.", min=0.1, metavar="MINUTES"))
    img_size: int | None = field(default=None, metadata=option(
        "--img-size", "Side the 48x48 face is resized to inside the model (32-224). Default 224, or the packaged "
        "model's own size with --weights default/fast/ferplus."))
    alpha: float | None = field(default=None, metadata=option(
        "--alpha", "Width multiplier: MobileNetV2 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4, resnet18 0.5 or 1.0, plaincnn and "
        "plaincnn-deep 0.5, 0.625, 0.75, 1.0 or 1.5 (narrower: faster, less accurate). Default 1.0, or the packaged "
        "model's."))
    weights: str = field(default="imagenet", metadata=option(
        "--weights", "imagenet (Keras cache, downloads if missing), none (from scratch), default, fast or ferplus "
        "(start from that packaged model: offline, knows faces already; a new head when your classes differ), a "
        "no-top weights .h5, or an earlier run's model.keras (its backbone)."))
    recipe: str = field(default="auto", metadata=option(
        "--recipe", "scratch (one phase, every layer, AdamW + warm-up + cosine, label smoothing, flip/shift/erasing), "
        "finetune (head on the frozen base, then top layers unfrozen), or auto: scratch with --weights none, else "
        "finetune. The options left unset take the recipe's defaults."))
    batch_size: int | None = field(default=None, metadata=option(
        "--batch-size", "Default: scratch 128, finetune 64.", min=1))
    learning_rate: float | None = field(default=None, metadata=option(
        "--lr", "Peak learning rate (scratch, default 2e-3) or that of the head phase (finetune, default 1e-3)."))
    fine_tune_learning_rate: float = field(default=1e-4, metadata=option(
        "--fine-tune-lr", "Learning rate of the fine-tuning phase."))
    lr_schedule: str = field(default="cosine", metadata=option(
        "--lr-schedule", "cosine (each phase decays from its rate towards 0) or constant."))
    optimizer: str | None = field(default=None, metadata=option(
        "--optimizer", "adam, adamw or sgd (Nesterov momentum 0.9). Default: scratch adamw, finetune adam."))
    weight_decay: float | None = field(default=None, metadata=option(
        "--weight-decay", "Decoupled weight decay (adamw, sgd). Default: scratch 0.05.", min=0.0))
    warmup_epochs: int | None = field(default=None, metadata=option(
        "--warmup-epochs", "Epochs of linear warm-up before the cosine decay. Default: scratch 2, finetune 0.", min=0))
    augment: str | None = field(default=None, metadata=option(
        "--augment", "Augmentation strength: none, light (flip, +-3 px shifts), standard (flip, +-5 px shifts, random "
        "erasing), strong, photo (what cameras do: rotation, crop jitter, resolution loss, blur, JPEG, noise, exposure, on "
        "half the faces) or photo-all (on every face). Default: scratch standard, finetune light (advanced) / none "
        "(simple)."))
    head_epochs: int | None = field(default=None, metadata=option(
        "--head-epochs", "Advanced: epochs on the frozen base before fine-tuning (default: a fifth)."))
    unfreeze: str = field(default="default", metadata=option(
        "--unfreeze", "Advanced: top base layers to unfreeze: a number, 'all', or 'default' (about two blocks)."))
    dropout: float | None = None  # recipe default: scratch 0.2, finetune 0.3
    dense_units: tuple[int, ...] | None = None  # the head's hidden layers; recipe default: scratch none, finetune 256
    label_smoothing: float | None = field(default=None, metadata=option(
        "--label-smoothing", "Default: scratch 0.1, finetune 0.", min=0.0, max=0.5))
    # BatchNorm moving-average momentum of the backbone. Keras' MobileNetV2 uses 0.999, far too slow
    # for a network whose weights change fast from scratch: its inference-mode statistics lag and
    # validation collapses to one class (measured: 15% vs 46% with batch statistics after 5 epochs).
    bn_momentum: float | None = None
    teacher: str | None = field(default=None, metadata=option(
        "--teacher", "Distil from a trained run (its model.keras), a .keras file (run as its fp32 TFLite when that "
        "agrees: faster on a CPU), or an exported .tflite/.onnx: soft targets once per epoch on the augmented "
        "faces; or a teacher's recorded targets (.npz from `edgefer teacher record`: each face's own, for a "
        "teacher too slow to run every epoch). Several, separated by commas or listed one per line in a .txt file: an "
        "ensemble teacher (the mean of their probabilities; --teacher-tta flip applies to each live one).", metavar="PATH"))
    kd_temperature: float = field(default=4.0, metadata=option(
        "--kd-temperature", "With --teacher: softmax temperature of the soft targets."))
    kd_weight: float = field(default=0.7, metadata=option(
        "--kd-weight", "With --teacher: weight of the teacher's loss (the rest: hard labels).", min=0.0, max=1.0))
    kd_tta: str = field(default="none", metadata=option(
        "--teacher-tta", "With --teacher: none, or flip (the teacher's targets averaged over each face and its mirror "
        "image: a more accurate teacher, twice its pass per epoch)."))
    keep: str = field(default="best", metadata=option(
        "--keep", "Which epoch model.keras holds: best (the highest validation accuracy) or last (the end of the "
        "schedule: for a fine-tune whose aim is not measured by clean validation faces alone, e.g. --augment photo)."))
    class_weights: bool = field(default=False, metadata=option(
        "--class-weights", "Weight classes inversely to their frequency (Disgust is 1.5% of Training)."))
    cache_features: bool = field(default=True, metadata=option(
        "--no-feature-cache", "Simple mode: run the frozen base every epoch instead of caching its features (slow; "
        "for comparison).", invert=True))
    val_fraction: float = field(default=0.2, metadata=option(
        "--val-fraction", "Share of the training split held out (stratified) for validation, model selection and "
        "early reports.", min=0.01, max=0.5))
    test_split: str = "PublicTest"
    seed: int = field(default=0, metadata=option(
        "--seed", "Seeds the split, the batch order, augmentation and initialisation."))
    split_seed: int | None = field(default=None, metadata=option(
        "--split-seed", "Seeds only the validation split (default: --seed), so that runs with different --seed hold "
        "out the same faces: members of a teacher ensemble, or seeds of one recipe compared on one split."))
    out: str = field(default="runs", metadata=option("--out", "Parent folder of the run folders.", metavar="PATH"))
    cache_dir: str | None = field(default=None, metadata=option(
        "--cache-dir", "Parse cache folder (default $EDGEFER_CACHE_DIR or ~/.cache/edgefer).", metavar="PATH"))
    distribute: bool = field(default=False, metadata=option(
        "--distribute", "Data-parallel over all local GPUs (TensorFlow MirroredStrategy / JAX DataParallel); "
        "--batch-size is per device."))

    @property
    def recipe_name(self) -> str:
        if self.recipe != "auto":
            return self.recipe
        return "scratch" if self.weights == "none" else "finetune"

    def resolved(self) -> TrainConfig:
        """This configuration with the recipe chosen and every knob left as None set from it."""
        if self.recipe_name not in RECIPES:
            raise ConfigError(f"unknown recipe {self.recipe!r}; expected one of auto, {', '.join(RECIPES)}")
        defaults = RECIPES[self.recipe_name]
        filled = {k: v for k, v in defaults.items() if getattr(self, k) is None and v is not None}
        source = self.packaged_source
        architecture = {"model": source.model if source else DEFAULT_MODEL,
                        "img_size": source.img_size if source else DEFAULT_IMG_SIZE,
                        "alpha": source.alpha if source else 1.0,
                        # a packaged model's features already tell expressions apart: a linear head on them
                        "dense_units": () if source else filled.get("dense_units", self.dense_units)}
        filled.update({k: v for k, v in architecture.items() if getattr(self, k) is None})
        if self.split_seed is None:
            filled["split_seed"] = self.seed
        if "warmup_epochs" in filled:  # a short run gets a shorter warm-up (at most a fifth of it)
            filled["warmup_epochs"] = min(filled["warmup_epochs"], self.epochs // 5)
        if self.recipe_name == "finetune" and "augment" in filled and self.mode == "simple":
            filled["augment"] = "none"  # simple mode trains on cached features of unaugmented faces
        return replace(self, recipe=self.recipe_name, **filled)

    @property
    def packaged_source(self):
        """The packaged model `weights` names (edgefer.train.packaged_start.PackagedSource), else None."""

        return packaged_source(self.weights) if is_packaged(self.weights) else None

    def validate(self) -> TrainConfig:
        """The resolved configuration (see `resolved`), or a ConfigError naming the option that is wrong."""

        self = self.resolved()
        source = self.packaged_source
        if source is not None and (self.model, float(self.alpha)) != (source.model, source.alpha):
            raise ConfigError(f"--weights {self.weights} is a {source.model} with --alpha {source.alpha:g}; give that "
                             f"--model and --alpha, or leave them out (got {self.model}, alpha {self.alpha:g})")
        if source is not None and self.recipe == "scratch":
            raise ConfigError(f"--weights {self.weights} starts from trained weights; the scratch recipe would "
                             f"re-learn BatchNorm statistics that were folded away: use --recipe finetune (the default)")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"--optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        if self.keep not in ("best", "last"):
            raise ConfigError(f"--keep {self.keep!r}; expected best or last")
        if self.augment not in AUGMENT_PRESETS:
            raise ConfigError(f"--augment {self.augment!r}; expected one of {', '.join(AUGMENT_PRESETS)}")
        if self.weight_decay < 0 or self.warmup_epochs < 0 or self.learning_rate <= 0:
            raise ConfigError("--weight-decay and --warmup-epochs must be >= 0 and --lr > 0")
        if self.recipe == "scratch" and self.warmup_epochs >= self.epochs:
            raise ConfigError(f"--warmup-epochs {self.warmup_epochs} must be less than --epochs {self.epochs}")
        if self.time_budget is not None and (self.recipe != "scratch" or self.time_budget <= 0):
            raise ConfigError(f"--time-budget {self.time_budget:g} fits the epochs of the scratch recipe's single phase; "
                              f"expected minutes > 0 with --recipe scratch (or --weights none), got recipe {self.recipe}")
        if self.model not in BACKBONES:  # the registry as it is now (an added backbone included)
            raise ConfigError(f"unknown model {self.model!r}; expected one of {', '.join(BACKBONES)}")
        alphas = get_backbone(self.model).alphas
        if float(self.alpha) not in alphas:
            raise ConfigError(f"--alpha {self.alpha} for {self.model}; expected one of {', '.join(map(str, alphas))}")
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if not MIN_IMG_SIZE <= self.img_size <= MAX_IMG_SIZE:
            raise ConfigError(f"--img-size {self.img_size} outside {MIN_IMG_SIZE}..{MAX_IMG_SIZE}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("--epochs and --batch-size must be at least 1")
        if self.recipe == "finetune" and self.mode == "advanced" and self.epochs < 2:
            raise ConfigError("advanced mode needs at least 2 epochs (head, then fine-tuning)")
        if self.teacher is not None:
            if self.recipe == "finetune" and self.mode == "simple":
                raise ConfigError("--teacher needs a student that trains on faces: --recipe scratch or --mode advanced")
            if self.kd_temperature <= 0 or not 0.0 <= self.kd_weight <= 1.0:
                raise ConfigError("--kd-temperature must be > 0 and --kd-weight within 0..1")

            if self.kd_tta not in TTA_MODES:
                raise ConfigError(f"--teacher-tta {self.kd_tta!r}; expected one of {', '.join(TTA_MODES)}")
        elif self.kd_tta != "none":
            raise ConfigError(f"--teacher-tta {self.kd_tta} averages a teacher's targets; give the teacher with --teacher")
        if self.ferplus_target not in FERPLUS_TARGETS:
            raise ConfigError(f"--ferplus-target {self.ferplus_target!r}; expected one of {', '.join(FERPLUS_TARGETS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"--lr-schedule {self.lr_schedule!r}; expected one of {', '.join(LR_SCHEDULES)}")
        if self.unfreeze not in ("default", "all") and not str(self.unfreeze).isdigit():
            raise ConfigError(f"--unfreeze must be 'default', 'all' or a number of layers, got {self.unfreeze!r}")
        return self

    @property
    def run_model_name(self) -> str:
        """The first part of the run folder's name: the model, with its width when not 1.0."""
        return self.model if float(self.alpha) == 1.0 else f"{self.model}_a{float(self.alpha):g}"

    @property
    def run_label(self) -> str:
        """The second part of the run folder's name: the mode (finetune) or "scratch"."""
        return "scratch" if self.recipe == "scratch" else self.mode

    @property
    def phase_epochs(self) -> dict[str, int]:
        """Epochs per phase: scratch = one "train" phase over every layer; simple = all on the head;
        advanced = head first, then fine-tuning."""
        if self.recipe == "scratch":
            return {"train": self.epochs}
        if self.mode == "simple":
            return {"head": self.epochs}
        head = self.head_epochs if self.head_epochs is not None else max(1, round(self.epochs / 5))
        head = min(max(head, 1), self.epochs - 1)
        return {"head": head, "fine_tune": self.epochs - head}

    def learning_rate_at(self, phase: str, epoch: int, first_epoch: int, last_epoch: int) -> float:
        """The rate for 0-based `epoch` of a phase spanning [first_epoch, last_epoch): a pure function of the
        epoch, so a resumed run follows the same schedule."""
        base = self.fine_tune_learning_rate if phase == "fine_tune" else self.learning_rate
        warmup = self.warmup_epochs or 0
        if epoch - first_epoch < warmup:  # linear warm-up: base/warmup, 2*base/warmup, ... base
            return base * (epoch - first_epoch + 1) / warmup
        if self.lr_schedule == "constant":
            return base
        first_epoch += warmup
        position = (epoch - first_epoch) / max(1, last_epoch - first_epoch)
        return base * 0.5 * (1.0 + math.cos(math.pi * position))

    def as_dict(self) -> dict:
        return asdict(self)


# docs/training.md's recipe table is generated from RECIPES (`python -m edgefer.train.config docs/training.md`) and a
# test checks it.
RECIPE_TABLE_BEGIN = ("<!-- recipes: generated from RECIPES in edgefer/train/config.py by "
                      "`python -m edgefer.train.config docs/training.md` -->")
RECIPE_TABLE_END = "<!-- /recipes -->"


def _shown(value) -> str:
    return "none" if value in ((), None) else ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def recipe_table() -> str:
    """Markdown: each recipe's default for each knob, with its flag (a knob without one is said so)."""
    flags = {f.name: f.metadata.get("flag") for f in fields(TrainConfig)}
    names = list(RECIPES)
    lines = [RECIPE_TABLE_BEGIN, "| knob | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|" + "---|" * len(names)]
    for knob in dict.fromkeys(k for recipe in RECIPES.values() for k in recipe):
        label = f"`{flags[knob]}`" if flags.get(knob) else f"{knob} (no flag)"
        lines.append(f"| {label} | " + " | ".join(_shown(RECIPES[n].get(knob)) for n in names) + " |")
    return "\n".join(lines + [RECIPE_TABLE_END])


def main(argv=None) -> int:
    import sys


    for path in (sys.argv[1:] if argv is None else argv) or ["docs/training.md"]:
        if regenerate(path, RECIPE_TABLE_BEGIN, RECIPE_TABLE_END, recipe_table()):
            print(f"updated the recipe table of {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


@dataclass
class RecordConfig:
    """`edgefer teacher record TEACHER OUT.npz`: a teacher's probabilities once per face of the data, by row id."""

    data: str | None = field(default=None, metadata=option(
        "--data", "FER2013 in any form `data info` reads (every split is recorded). Default: the embedded sample.",
        metavar="PATH"))
    labels: str = field(default="fer2013", metadata=option(
        "--labels", "Label source of the data (fer2013, ferplus, folders): the classes the teacher must have."))
    tta: str = field(default="flip", metadata=option(
        "--tta", "flip (each face's probabilities averaged with its mirror image's: a stronger teacher) or none."))

    def validate(self) -> "RecordConfig":
        if self.tta not in ("none", "flip"):
            raise ConfigError(f"--tta {self.tta!r}; expected none or flip")
        return self
