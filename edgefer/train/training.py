"""`train()`: one run of one backbone in one mode, resumable, writing a complete run folder.

Phases: "head" (frozen base; in simple mode on cached features) then, in advanced mode,
"fine_tune" (top base layers unfrozen, lower learning rate). After every epoch the trainable
model (with optimizer state) and a small state file are checkpointed, so Ctrl-C or a crash keeps
the last epoch and `resume_run()` continues to the same result. The best epoch by validation
accuracy is what `model.keras` holds at the end (with --keep last: the last epoch).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edgefer.core.evaluation import accuracy_where, classification_metrics
from edgefer.core.fileio import atomic_path, csv_text, discard_damaged, write_json, write_text
from edgefer.core.keras_env import backend_name, import_keras
from edgefer.core.progress import note
from edgefer.core.run_folder import (
    CHECKPOINT_DIR,
    CONFUSION_FILE,
    CURVES_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RUN_FILE,
    RunRecord,
    new_run_dir,
    package_versions,
    read_json_object,
)
from edgefer.data.cache import content_hash
from edgefer.data.ferplus import find_ferplus_file, majority_labels, original_labels
from edgefer.data.loading import load_dataset
from edgefer.data.splits import split_dataset
from edgefer.errors import ModelError, first_line
from edgefer.train.augment import augment_spec
from edgefer.train.backbones import BACKBONE_NAMES, get_backbone
from edgefer.train.config import MODES, TrainConfig, expand_choice
from edgefer.train.data_feed import keras_feed, make_batches, one_hot
from edgefer.train.distill import accuracy_metric, distillation_loss, load_teacher, teacher_targets
from edgefer.train.distribute import Distribution, local_distribution, single_device
from edgefer.train.model import FEATURES_LAYER, INPUT_SHAPE, build_model, unfreeze_top
from edgefer.train.packaged_start import load_packaged_weights
from edgefer.train.plots import plot_confusion, plot_curves
from edgefer.train.summary import summary_table
from edgefer.train.weights import weights_description


@dataclass
class RunResult:
    run_dir: Path
    config: TrainConfig
    metrics: dict
    epochs: int
    seconds: float

    def summary_row(self) -> dict:
        return {
            "run": str(self.run_dir),
            "model": self.config.model,
            "mode": self.config.mode,
            "recipe": self.config.run_label,
            "img_size": self.config.img_size,
            "weights": self.config.weights,
            "val_acc": self.metrics["validation"]["accuracy"],
            "test_acc": self.metrics["test"]["accuracy"],
            "test_n": self.metrics["test"]["n"],
            "epochs": self.epochs,
            "seconds": self.seconds,
        }


class _State:
    """checkpoint/state.json: which phase and epoch are done, and the best validation accuracy so far."""

    def __init__(self, folder: Path):
        self.path = folder / "state.json"
        fix = f"delete {folder} to restart the run from its first epoch, or start a new run"
        saved = (read_json_object(self.path, "the checkpoint state edgefer train writes", fix,
                                  required=("epochs_done", "phase_done", "history")) if self.path.exists() else {})
        self.phase_done: list[str] = saved.get("phase_done", [])
        self.epochs_done: int = saved.get("epochs_done", 0)
        self.best_val: float = saved.get("best_val", -1.0)
        self.best_epoch: int = saved.get("best_epoch", 0)
        self.history: list[dict] = saved.get("history", [])
        self.seconds: float = saved.get("seconds", 0.0)
        self.feature_seconds: float | None = saved.get("feature_seconds")
        self.budget_epochs: int | None = saved.get("budget_epochs")  # epochs fitted to --time-budget, once decided

    def save(self) -> None:
        write_json(self.path, {k: v for k, v in self.__dict__.items() if k != "path"})


@dataclass
class TrainingData:
    """What training reads, made once by `load_training_data` and passed on: the faces, their splits, the targets the
    loss compares with (per split), per-face weights, the teacher and the validation targets `fit` reports on."""

    dataset: object  # FERDataset
    splits: object  # DataSplits
    classes: tuple[str, ...]
    y: dict[str, np.ndarray]  # train / val / test targets (one-hot, or FER+ vote distributions)
    sample_weights: np.ndarray | None
    teacher: object | None  # edgefer.train.distill teacher, when distilling
    y_fit_val: np.ndarray  # validation targets as the loss takes them (with the teacher's when distilling)


def load_training_data(c: TrainConfig, checkpoint_dir: Path) -> TrainingData:
    dataset = load_dataset(c.data, labels=c.labels, ferplus=c.ferplus, cache_dir=c.cache_dir,
                           label_blend=c.label_blend)
    splits = split_dataset(dataset, val_fraction=c.val_fraction, seed=c.split_seed, test_split=c.test_split)
    k = len(dataset.classes)
    y = {name: fit_targets(getattr(splits, name), k, c) for name in ("train", "val", "test")}
    weights = class_weights(splits.train.labels, k) if c.class_weights else None
    teacher, y_fit_val = None, y["val"]
    if c.teacher:
        teacher = load_teacher(c.teacher, k, cache_dir=checkpoint_dir, classes=dataset.classes)
        flip = ", averaged with the mirrored faces" if c.kd_tta == "flip" else ""
        note(f"distilling from {c.teacher} (temperature {c.kd_temperature:g}, soft-loss weight "
             f"{c.kd_weight:g}); teacher targets computed once per epoch on the augmented faces{flip}")
        y_fit_val = teacher_targets(teacher, splits.val.images, y["val"], c.kd_temperature, c.kd_tta,
                                    rows=splits.val.row_ids)
    return TrainingData(dataset, splits, dataset.classes, y, weights, teacher, y_fit_val)


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-face weights inverse to each class's frequency (--class-weights)."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    per_class = np.divide(len(labels), num_classes * counts, out=np.zeros_like(counts), where=counts > 0)
    return per_class[labels].astype(np.float32)


class _Trainer:
    def __init__(self, config: TrainConfig, run_dir: Path, callbacks=(), distribution: Distribution | None = None):
        self.keras = import_keras()
        self.config, self.run_dir, self.user_callbacks = config, run_dir, list(callbacks)
        self.distribution = distribution or single_device()
        self.batch_size = config.batch_size * self.distribution.replicas  # global batch
        self.ckpt = run_dir / CHECKPOINT_DIR
        self.ckpt.mkdir(exist_ok=True)
        if config.teacher:  # its loss and metric must be registered before a checkpoint is loaded
            import edgefer.train.keras_parts  # noqa: F401
        self.state = _State(self.ckpt)
        self.start = self.began = time.perf_counter()
        self.last_epoch = config.epochs  # the train phase's end; --time-budget moves it once, after the warm-up
        self.first_end: tuple[float, int] | None = None  # (time, epochs done) at this process's first checkpoint

    # ---------- data ----------
    def load_data(self) -> None:
        self.data = load_training_data(self.config, self.ckpt)

    # ---------- model ----------
    def build(self) -> None:
        finetune_simple = self.config.recipe == "finetune" and self.config.mode == "simple"
        if finetune_simple and self.config.weights == "none":
            note("warning: simple mode on a randomly initialised frozen base is not meaningful "
                 "(its features carry almost no signal); use advanced mode with --unfreeze all "
                 "to train from scratch")
        weights = self.config.weights if not self.state.epochs_done else "none"  # a checkpoint holds the weights
        self.fer = build_model(self.config, len(self.data.classes), weights=weights)
        source = self.config.packaged_source
        if source is not None and not self.state.epochs_done:
            linear = self.config.dense_units == ()
            kept = list(self.data.classes) if linear and set(self.data.classes) <= set(source.classes) else None
            load_packaged_weights(self.fer, source, keep_classes=kept)
            note(f"starting from {source.describe()}; "
                 + (("its classifier kept (same classes)" if kept == source.classes else
                     f"its classifier's rows for {', '.join(kept)} kept") if kept else
                    f"a new head for {len(self.data.classes)} classes ({', '.join(self.data.classes)})"))
        best = self.ckpt / "best.weights.h5"
        if self.state.epochs_done and best.exists():  # resuming: the base's weights come from the checkpoint
            self._load_best(self.fer.full, best)
        self.use_features = finetune_simple and self.config.cache_features

    def _compile(self, model, learning_rate: float) -> None:
        c = self.config
        optimizer = make_optimizer(self.keras, c.optimizer, learning_rate, c.weight_decay)
        if self.data.teacher is not None and model is not self.fer.head:

            loss = distillation_loss(len(self.data.classes), c.kd_temperature, c.kd_weight, c.label_smoothing)
            model.compile(optimizer=optimizer, loss=loss, metrics=[accuracy_metric()])
            return
        loss = self.keras.losses.CategoricalCrossentropy(label_smoothing=c.label_smoothing)
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])

    def _features(self) -> dict[str, np.ndarray]:
        """Pooled backbone features of every split, computed once and kept in the checkpoint folder."""
        path = self.ckpt / "features.npz"
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as saved:
                    features = {k: saved[k] for k in saved.files}
                if all(len(features.get(n, ())) == len(getattr(self.data.splits, n)) for n in ("train", "val", "test")):
                    return features
                raise ValueError("its splits do not match this run's")
            except Exception as error:  # a disposable cache: computed again
                discard_damaged(path, "the cached backbone features", error)
        features, start = {}, time.perf_counter()
        for name in ("train", "val", "test"):
            split = getattr(self.data.splits, name)
            note(f"computing {self.config.model} features for {len(split):,} {name} faces (once)")
            batches = make_batches(split.images, self.data.y[name], batch_size=self.batch_size, shuffle=False)
            features[name] = self.fer.features.predict(keras_feed(batches)[0], verbose=self._verbose())
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **features)
        self.state.feature_seconds = round(time.perf_counter() - start, 1)
        self.state.save()
        return features

    def _verbose(self) -> int:

        return 1 if sys.stdout.isatty() else 2

    # ---------- phases ----------
    def run_phases(self) -> None:
        if self.use_features:
            self.features = self._features()
        first_epoch = 0
        for phase, n in self.config.phase_epochs.items():
            last_epoch = first_epoch + n
            if phase not in self.state.phase_done:
                model = self._phase_model(phase)
                self._fit(model, phase, first_epoch, last_epoch)
                self.state.phase_done.append(phase)
                self.state.save()
            first_epoch = last_epoch

    def _phase_model(self, phase: str):
        """The model this phase trains: restored from the checkpoint when it was mid-phase."""
        last = self.ckpt / "last.keras"
        resumable = last.exists() and self.state.epochs_done and self.state.history[-1]["phase"] == phase
        if resumable:
            model = self._load_checkpoint(last)
            if model.name == self.fer.full.name:
                self.fer.full = model
                self.fer.base = model.get_layer(self.fer.base.name)
            return model
        if phase == "head":
            model = self.fer.head if self.use_features else self.fer.full
            self._compile(model, self.config.learning_rate)
            return model
        if phase == "train":  # scratch recipe: every layer trainable from the first epoch
            self.fer.base.trainable = True
            self._compile(self.fer.full, self.config.learning_rate)
            return self.fer.full
        spec = get_backbone(self.config.model)
        if last.exists():  # head phase done: continue from its last epoch's weights
            self._restore_full(last)
        count = unfreeze_top(self.fer.base, self.config.unfreeze, spec.default_unfreeze,
                             freeze_batchnorm=self.config.weights != "none")
        note(f"fine-tuning: {count} top layers of {self.fer.base.name} unfrozen")
        self._compile(self.fer.full, self.config.fine_tune_learning_rate)
        return self.fer.full

    def _load_best(self, model, best: Path) -> None:
        try:
            model.load_weights(best)
        except Exception as error:  # h5py and Keras report a truncated or junk file in many ways
            raise ModelError(f"{best}: damaged checkpoint, Keras cannot load it ({first_line(error)}); start a new "
                             f"run, or delete the run's checkpoint folder to restart it") from None

    def _load_checkpoint(self, last: Path):
        fix = "start a new run, or delete the run's checkpoint folder to restart it"
        try:
            model = self.keras.saving.load_model(last, safe_mode=True)
        except Exception as error:  # Keras reports a truncated zip as "File not found" or a ValueError
            raise ModelError(f"{last}: damaged checkpoint, Keras cannot load it ({first_line(error)}); {fix}") from None
        if getattr(model, "optimizer", None) is None:  # a model file, but not a checkpoint edgefer train wrote
            raise ModelError(f"{last}: damaged checkpoint, a model without its optimizer state (not what edgefer "
                             f"train writes); {fix}")
        return model

    def _restore_full(self, last: Path) -> None:
        loaded = self._load_checkpoint(last)
        target = self.fer.head if loaded.name == self.fer.head.name else self.fer.full
        target.set_weights(loaded.get_weights())

    def _fit(self, model, phase: str, first_epoch: int, last_epoch: int) -> None:
        start = max(first_epoch, self.state.epochs_done)
        if start >= last_epoch:
            return
        c = self.config
        if model is self.fer.head or model.name == self.fer.head.name:
            train = make_batches(self.features["train"], self.data.y["train"], batch_size=self.batch_size, shuffle=True,
                                 seed=c.seed, sample_weights=self.data.sample_weights, start_epoch=start)
            val = (self.features["val"], self.data.y["val"])
            val_feed = val
        else:
            targets = None
            if self.data.teacher is not None:

                rows = self.data.splits.train.row_ids  # the batches keep the split's order: recorded members look up by row
                targets = lambda faces: teacher_targets(self.data.teacher, faces, self.data.y["train"], c.kd_temperature,  # noqa: E731
                                                        c.kd_tta, rows=rows)
            train = make_batches(self.data.splits.train.images, self.data.y["train"], batch_size=self.batch_size, shuffle=True,
                                 seed=c.seed, augment=augment_spec(c.augment), sample_weights=self.data.sample_weights,
                                 start_epoch=start, epoch_targets=targets)
            val = make_batches(self.data.splits.val.images, self.data.y_fit_val, batch_size=self.batch_size, shuffle=False)
            val_feed = keras_feed(val)[0]
        self.train_batches = train
        train_feed, next_epoch = keras_feed(train)
        from edgefer.train.keras_parts import Checkpoint

        checkpoint = Checkpoint(lambda epoch, logs, seconds: self.checkpoint(model, phase, epoch, logs, seconds))
        self.last_epoch = last_epoch
        schedule = self.keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: c.learning_rate_at(phase, epoch, first_epoch, self.last_epoch))
        warmup = f"{c.warmup_epochs} warm-up epochs, then " if c.warmup_epochs else ""
        budget = (f" (at most; fitted to --time-budget {c.time_budget:g} min after the warm-up)"
                  if self._budget_open(phase) else "")
        note(f"phase {phase}: epochs {start + 1}..{last_epoch}{budget}, {c.optimizer}, learning rate "
             f"{c.learning_rate_at(phase, start, first_epoch, last_epoch):.2g} ({warmup}{c.lr_schedule}), augment {c.augment}")
        model.fit(train_feed, validation_data=val_feed, initial_epoch=start, epochs=last_epoch, shuffle=False,
                  callbacks=[schedule, *next_epoch, checkpoint, *self.user_callbacks], verbose=self._verbose())

    # ---------- checkpoints ----------
    def full_model_from(self, model):
        """The full model with `model`'s current weights (the head-only model shares no layers after a resume)."""
        if model is self.fer.full:
            return model
        if model is not self.fer.head:
            self.fer.head.set_weights(model.get_weights())
        return self.fer.full

    def checkpoint(self, model, phase: str, epoch: int, logs: dict, seconds: float) -> None:
        with atomic_path(self.ckpt / "last.keras") as tmp:
            model.save(tmp)
        input_seconds, teacher_seconds = self.train_batches.take_seconds()
        row = {"epoch": epoch + 1, "phase": phase, **{k: float(v) for k, v in logs.items()},
               "seconds": round(seconds, 3), "input_seconds": round(input_seconds, 3)}
        if self.data.teacher is not None:
            row["teacher_seconds"] = round(teacher_seconds, 3)
        self.state.history = [r for r in self.state.history if r["epoch"] < epoch + 1] + [row]
        if self.config.keep == "last" or logs.get("val_accuracy", -1) > self.state.best_val:
            self.state.best_val, self.state.best_epoch = float(logs["val_accuracy"]), epoch + 1
            with atomic_path(self.ckpt / "best.weights.h5") as tmp:
                self.full_model_from(model).save_weights(tmp)
        self.state.epochs_done = epoch + 1
        self.state.seconds += time.perf_counter() - self.start
        self.start = time.perf_counter()
        if self._budget_open(phase):
            self._fit_to_budget(epoch + 1)
        write_text(self.run_dir / HISTORY_FILE, csv_text(self.state.history))
        self.state.save()
        if phase == "train" and epoch + 1 >= self.last_epoch:
            model.stop_training = True  # the budget's last epoch (fit was asked for the --epochs maximum)

    # ---------- --time-budget ----------
    def _budget_open(self, phase: str) -> bool:
        return phase == "train" and self.config.time_budget is not None and self.state.budget_epochs is None

    def _fit_to_budget(self, done: int) -> None:
        """After the warm-up, with two or more epochs timed in this process, fix the epoch count that fits the budget
        (the time per epoch measured after the first, which carries compilation; one epoch and 20 s kept for the
        final evaluation) and the cosine schedule with it."""
        now = time.perf_counter()
        if self.first_end is None:
            self.first_end = (now, done)
        timed = done - self.first_end[1]
        if timed < 1 or done < (self.config.warmup_epochs or 0):
            return
        per_epoch = (now - self.first_end[0]) / timed
        left = self.config.time_budget * 60 - (now - self.began) - per_epoch - 20.0
        fitted = int(min(self.config.epochs, max(done, done + left // per_epoch)))
        self.state.budget_epochs = self.last_epoch = fitted
        self.config = replace(self.config, epochs=fitted)
        self._write_run_json()
        note(f"--time-budget {self.config.time_budget:g} min: {fitted} epochs in all ({per_epoch:.1f} s per epoch, "
             f"{done} done in {(now - self.began) / 60:.1f} min); the cosine decay now ends at epoch {fitted}")

    # ---------- final outputs ----------
    def finish(self) -> RunResult:
        best = build_model(self.config, len(self.data.classes), weights="none")
        self._load_best(best.full, self.ckpt / "best.weights.h5")
        with atomic_path(self.run_dir / MODEL_FILE) as tmp:
            best.full.save(tmp)
        predicted = {name: self._probabilities(best, name).argmax(axis=1) for name in ("val", "test")}
        metrics = {name: classification_metrics(getattr(self.data.splits, name).labels, predicted[name], self.data.classes)
                   for name in predicted}
        if self.config.labels == "ferplus":  # common ground with FER2013 models: faces whose two labels agree
            metrics["test"]["where_fer2013_agrees"] = self._where_fer2013_agrees(predicted["test"])
        if self.config.labels == "blend":  # scored against each label source: FER2013's (above) and the FER+ majority
            for name in predicted:
                metrics[name]["ferplus_majority"] = self._against_ferplus_majority(name, predicted[name])
        metrics = {"validation": metrics["val"], "test": metrics["test"], "best_epoch": self.state.best_epoch,
                   "test_split": self.config.test_split, "weights": weights_description(self.config.weights)}
        write_json(self.run_dir / METRICS_FILE, metrics)

        weights = self.config.weights
        weights = weights if weights in ("imagenet", "none") else f"file {Path(weights).name}"
        title = f"{self.config.model} {self.config.run_label} {self.config.img_size}px, weights: {weights}"
        plot_curves(self.state.history, self.run_dir / CURVES_FILE, title)
        test = metrics["test"]
        plot_confusion(np.array(test["confusion_matrix"]), self.data.classes, self.run_dir / CONFUSION_FILE,
                       f"{title}\n{self.config.test_split}: accuracy {test['accuracy']:.1%}, n={test['n']}")
        self._write_run_json(final=True)
        shutil.rmtree(self.ckpt)  # model.keras holds the best epoch; checkpoints are only for resuming
        return RunResult(self.run_dir, self.config, metrics, self.state.epochs_done, self.state.seconds)

    def _against_ferplus_majority(self, name: str, predicted: np.ndarray) -> dict:
        split = getattr(self.data.splits, name)
        dataset = self.data.dataset
        votes_file = Path(self.config.ferplus) if self.config.ferplus else find_ferplus_file(Path(dataset.report.source))
        majority = majority_labels(split, votes_file)
        return accuracy_where(majority, predicted, majority >= 0)

    def _where_fer2013_agrees(self, predicted: np.ndarray) -> dict:
        test = self.data.splits.test
        agree = original_labels(test, load_dataset(self.config.data, cache_dir=self.config.cache_dir)) == test.labels
        return accuracy_where(test.labels, predicted, agree)

    def _probabilities(self, fer, name: str) -> np.ndarray:
        if self.use_features:
            return fer.head.predict(self.features[name], batch_size=256, verbose=0)
        batches = make_batches(getattr(self.data.splits, name).images, self.data.y[name], batch_size=self.batch_size,
                               shuffle=False)
        return fer.full.predict(keras_feed(batches)[0], verbose=0)

    def _write_run_json(self, final: bool = False) -> None:
        spec = get_backbone(self.config.model)
        source = self.data.dataset.report.source
        RunRecord(
            complete=final,
            config=self.config.as_dict(),
            classes=list(self.data.classes),
            label_source=self.config.labels,
            input={"shape": list(INPUT_SHAPE), "dtype": "float32", "range": [0, 255],
                   "meaning": "raw 48x48 grayscale face, pixel values 0..255"},
            preprocessing_in_model=[f"bilinear resize to {self.config.img_size}x{self.config.img_size}",
                                    "gray to 3 channels", spec.input_scaling],
            features_layer=FEATURES_LAYER,
            weights=weights_description(self.config.weights),
            data={"source": source, "format": self.data.dataset.report.format,
                  "content_hash": content_hash(self.config.data) if self.config.data else "embedded-sample",
                  "train": len(self.data.splits.train), "val": len(self.data.splits.val), "test": len(self.data.splits.test)},
            phase_epochs=self.config.phase_epochs,
            backend=backend_name(),
            distribution={"engine": self.distribution.engine, "devices": self.distribution.devices,
                          "global_batch_size": self.batch_size},
            versions=package_versions(),
            wall_seconds=round(self.state.seconds, 1),
            feature_extraction_seconds=self.state.feature_seconds,
        ).write(self.run_dir)


def fit_targets(split, num_classes: int, config: TrainConfig) -> np.ndarray:
    """What the loss compares with: one-hot labels, with --labels ferplus --ferplus-target votes each face's
    distribution of the annotators' votes (argmax: the majority label, what accuracy counts), with --labels blend
    each face's FER2013 label blended with its FER+ votes (accuracy counts the blend's top class)."""
    votes = config.labels == "blend" or (config.labels == "ferplus" and config.ferplus_target == "votes")
    return split.targets if votes and split.targets is not None else one_hot(split.labels, num_classes)


def make_optimizer(keras, name: str, learning_rate: float, weight_decay: float):
    """The Keras optimizer `name` (config.OPTIMIZERS); weight decay is decoupled (AdamW / SGD's own)."""
    factories = {
        "adam": lambda: keras.optimizers.Adam(learning_rate),
        "adamw": lambda: keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay),
        "sgd": lambda: keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True,
                                            weight_decay=weight_decay or None),
    }
    return factories[name]()


def _run(config: TrainConfig, run_dir: Path, callbacks) -> RunResult:
    keras = import_keras()
    keras.utils.set_random_seed(config.seed)
    distribution = local_distribution() if config.distribute else single_device()
    if config.distribute:
        note(f"data-parallel over {distribution.replicas} device(s) with {distribution.engine}: "
             f"{', '.join(distribution.devices)}")
    with distribution.scope():
        trainer = _Trainer(config, run_dir, callbacks, distribution)
        trainer.load_data()
        trainer._write_run_json()
        trainer.build()
        trainer.run_phases()
        return trainer.finish()


def train(config: TrainConfig, callbacks=()) -> RunResult:
    """Train one model in one mode into a new run folder under config.out."""
    config = config.validate()
    run_dir = new_run_dir(Path(config.out), config.run_model_name, config.run_label)
    with _keep_or_clean(run_dir):
        return _run(config, run_dir, callbacks)


@contextlib.contextmanager
def _keep_or_clean(run_dir: Path):
    """A run that stops before its first epoch is checkpointed leaves nothing behind (the next run keeps the
    name); one that stops later keeps its checkpoint and says how to resume it."""
    try:
        yield
    except BaseException as stop:
        if _epochs_done(run_dir):
            _say_how_to_resume(run_dir, stop)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _say_how_to_resume(run_dir: Path, stop: BaseException) -> None:
    why = "interrupted" if isinstance(stop, KeyboardInterrupt) else "stopped"
    note(f"{why} after {_epochs_done(run_dir)} epoch(s); continue with: edgefer train --resume {run_dir}")


def _epochs_done(run_dir: Path) -> int:
    try:
        return int(json.loads((run_dir / CHECKPOINT_DIR / "state.json").read_text()).get("epochs_done", 0))
    except (OSError, ValueError, AttributeError):
        return 0


def resume_run(run_dir: str | Path, callbacks=(), epochs: int | None = None) -> RunResult:
    """Continue an interrupted run from its last checkpoint, with the arguments it was started with.

    `epochs` changes the total: more to train longer, or the epochs already done to finish now
    (model.keras then holds the best epoch so far)."""
    run_dir = Path(run_dir)
    saved = RunRecord.read(run_dir)
    run_file = run_dir / RUN_FILE
    fields = {k: (tuple(v) if k == "dense_units" and v is not None else v) for k, v in saved.config.items()}
    fields.setdefault("recipe", "finetune")  # runs from before the recipes existed were all head-then-fine-tune
    try:
        config = TrainConfig(**fields)
    except TypeError as error:
        raise ModelError(f"{run_file}: config does not fit this edgefer ({error}); expected a run edgefer train wrote") from None
    if saved.complete and (run_dir / MODEL_FILE).exists():
        raise ModelError(f"{run_dir}: this run is complete; nothing to resume")
    if epochs is not None:
        done = _State(run_dir / CHECKPOINT_DIR).epochs_done
        if epochs < done:
            raise ModelError(f"{run_dir}: {done} epochs are already done; --epochs must be at least {done}")
        config = replace(config, epochs=epochs)
    try:
        return _run(config.validate(), run_dir, callbacks)
    except KeyboardInterrupt as stop:  # a resumed run's folder is kept whatever happens
        _say_how_to_resume(run_dir, stop)
        raise


def train_command(values: dict, resume: Path | None, epochs_given: bool, out) -> list[RunResult]:
    """`edgefer train`: resume one run, or train every model x mode the options name (`--model all`, `--mode both`);
    print the summary table on `out` (a rich console)."""
    if resume is not None:  # --epochs only when given: the run's own total otherwise
        results = [resume_run(resume, epochs=values["epochs"] if epochs_given else None)]
    else:
        results = [train(TrainConfig(**{**values, "model": name, "mode": run_mode}))
                   for name in expand_choice(values["model"], BACKBONE_NAMES, "all")
                   for run_mode in expand_choice(values["mode"], MODES, "both")]
    out.print(summary_table(results))
    if any(r.config.weights == "none" for r in results):
        out.print("note: weights none = trained from scratch, no ImageNet weights", highlight=False)
    return results
