"""Knowledge distillation: a trained teacher's soft targets for a smaller, faster student.

`edgefer train --teacher RUN` loads RUN's model.keras (or a .keras file, or an exported .tflite/.onnx
artifact of it) and trains the student on

    loss = (1 - w) * CE(hard labels, student) + w * T^2 * KL(teacher_T || student_T)

where `_T` means softmax(log p / T) (the student's output is a softmax, so log p are its logits up to a
constant), T = `--kd-temperature` (default 4) and w = `--kd-weight` (default 0.7): Hinton et al.'s form.

Where the teacher runs: once per epoch, in the input path, on exactly the augmented faces the student
will see that epoch (batched inference, cached for the epoch). Not inside the compiled train step:
that keeps the student's step (and its XLA compile on a GPU) the student's alone, works the same on
every backend, and costs one teacher inference pass per epoch, about a third of a teacher training
epoch. Targets travel as one array per batch: [one-hot labels | teacher probabilities at T]. With
`--teacher-tta flip` the teacher's probabilities are the mean over each face and its mirror image (the
predictor's own flip averaging, which makes the MobileNetV2-96 teacher 0.9 pp more accurate), at twice the pass.

On a CPU that pass is not small: a MobileNetV2-96 teacher over 25,837 faces takes 52 s per epoch in Keras
(compiled predict) but 21 s as its fp32 TFLite (2-core AVX-512 EPYC), next to 50-90 s of training for a
small student. So a Keras teacher is converted once to fp32 TFLite (cached in the run's checkpoint folder,
keyed by the teacher file's SHA-256, so a resumed run reuses it) and used only if it gives the Keras
model's probabilities on random faces; otherwise (no TensorFlow converter, e.g. on the JAX backend, or
a mismatch) the Keras model runs the pass. An int8 teacher is faster still (9 s) but its outputs are
quantized to 1/256 steps, which erases the small probabilities that temperature softening is there to
show; prefer fp32.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from edgefer.core.backends import open_runner
from edgefer.core.conversion import tflite_fp32
from edgefer.core.extras import require
from edgefer.core.fileio import atomic_path, discard_damaged
from edgefer.core.keras_env import import_keras
from edgefer.core.progress import note
from edgefer.core.run_folder import RUN_FILE, RunRecord
from edgefer.data.loading import load_dataset
from edgefer.errors import ModelError, first_line
from edgefer.predictor import read_model_meta, with_tta

TEACHER_BATCH = 256


TEACHER_SUFFIXES = (".keras", ".tflite", ".onnx", ".npz")


class _KerasTeacher:
    """A Keras teacher run through the compiled `predict` (1.7x faster than eager calls on a CPU)."""

    def __init__(self, model):
        self.model = model
        self.input_shape, self.outputs = tuple(model.input_shape[1:]), model.output_shape[-1]

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return self.model.predict(faces.astype(np.float32), batch_size=TEACHER_BATCH, verbose=0)


class _ArtifactTeacher:
    """An exported teacher (.tflite, .onnx): an fp32 TFLite runs about 4x faster than Keras on a CPU."""

    def __init__(self, path: Path):

        self.runner = open_runner(path, num_threads=os.cpu_count())  # runtimes default to fewer threads
        probe = self.runner.predict(np.zeros((1, 48, 48, 1), np.uint8), batch_size=1)
        self.input_shape, self.outputs = (48, 48, 1), probe.shape[-1]

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return self.runner.predict(faces, batch_size=TEACHER_BATCH)


TFLITE_AGREEMENT = 1e-3  # max |p_tflite - p_keras| on random faces for the converted teacher to stand in


class _RecordedTeacher:
    by_rows = True  # its targets are looked up by the faces' row ids, not computed from the faces

    """A teacher's probabilities recorded once per face (`record_teacher`), for a teacher too costly to run every epoch
    on the CPU (a ResNet-18 pass over the training faces takes minutes there). It gives each face's recorded targets
    whatever augmentation the student sees (offline distillation); live members of an ensemble still see the augmented
    faces. Looked up by the faces' row ids in the data, so it serves any split of the data it was recorded on."""

    def __init__(self, path: Path):
        try:
            with np.load(path, allow_pickle=False) as saved:
                rows, self.probs = saved["row_ids"], saved["probs"].astype(np.float32)
                self.tta, self.source = str(saved["tta"]), str(saved["source"])
                self.classes = [str(c) for c in saved["classes"]] if "classes" in saved else None
        except Exception as error:
            raise ModelError(f"{path}: not a recorded teacher ({first_line(error)}); expected the .npz that "
                             f"`edgefer teacher record` writes") from None
        self.path, self.index = path, {int(r): i for i, r in enumerate(rows)}
        self.input_shape, self.outputs = (48, 48, 1), self.probs.shape[1]

    def recorded(self, rows: np.ndarray) -> np.ndarray:
        missing = [int(r) for r in rows if int(r) not in self.index]
        if missing:
            raise ModelError(f"{self.path}: no recorded targets for data row {missing[0]} ({len(missing)} rows "
                             f"missing); record the teacher on the data you train on")
        return self.probs[[self.index[int(r)] for r in rows]]

    def predict(self, faces: np.ndarray) -> np.ndarray:
        raise ModelError(f"{self.path}: a recorded teacher gives the targets of the faces it recorded, looked up by "
                         f"their rows; it cannot run on other faces")


class _ClassSubset:
    """A teacher whose classes include the student's and more (the FER+ model's eight for a seven-class student),
    matched by name: its probabilities of the student's classes, in the student's order, renormalised to sum to 1."""

    def __init__(self, inner, index: list[int]):
        self.inner, self.index = inner, np.asarray(index)
        self.input_shape, self.outputs = inner.input_shape, len(index)
        self.by_rows, self.path = getattr(inner, "by_rows", False), getattr(inner, "path", None)

    def _select(self, probs: np.ndarray) -> np.ndarray:
        kept = probs[:, self.index]
        return kept / np.clip(kept.sum(axis=1, keepdims=True), 1e-12, None)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return self._select(self.inner.predict(faces))

    def recorded(self, rows: np.ndarray) -> np.ndarray:
        return self._select(self.inner.recorded(rows))


def teacher_classes(path: Path, teacher) -> list[str] | None:
    """The class names of a teacher's outputs, where its file says them (an edgefer export's metadata, a run
    folder's run.json, a recording's `classes`), else None."""
    if isinstance(teacher, _RecordedTeacher):
        return teacher.classes
    if path.suffix.lower() == ".keras":
        return RunRecord.read(path.parent).classes if (path.parent / RUN_FILE).is_file() else None
    meta = read_model_meta(path) if path.suffix.lower() == ".tflite" else None  # an export's embedded facts
    return list(meta["classes"]) if meta and meta.get("classes") else None


def record_teacher(source: str | Path, dataset, out: Path, tta: str = "flip", batch: int = 2048) -> Path:
    """Record `source`'s probabilities (flip-averaged with tta="flip") for every face of `dataset`, by row id."""
    teacher = load_teacher(source, len(dataset.classes), classes=dataset.classes)
    faces = dataset.images[..., None]
    probs = np.concatenate([with_tta(teacher.predict, faces[i:i + batch], tta) for i in range(0, len(faces), batch)])
    return write_recording(out, dataset.row_ids, probs, tta, str(source), dataset.classes)


def record_command(teacher: str, output: Path, config, out) -> Path:
    """`edgefer teacher record`: the data `config` (a RecordConfig) names, recorded, and one line on `out`."""
    if Path(str(teacher)).suffix.lower() == ".keras" or Path(str(teacher)).is_dir():
        require("teacher record", "train", ("keras",))
    dataset = load_dataset(config.data, labels=config.labels)
    start = time.perf_counter()
    record_teacher(teacher, dataset, output, tta=config.tta)
    out.print(f"recorded {len(dataset.labels):,} faces ({config.tta}) of {teacher} in "
              f"{time.perf_counter() - start:.0f} s -> {output}", highlight=False)
    return output


def write_recording(out: Path, row_ids, probs: np.ndarray, tta: str, source: str, classes) -> Path:
    """A recorded teacher's file (what `--teacher FILE.npz` reads), written atomically."""
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, row_ids=np.asarray(row_ids), probs=probs.astype(np.float32), tta=np.array(tta),
                 source=np.array(source), classes=np.array(classes))
    return out


class _EnsembleTeacher:
    """Several teachers as one: the mean of their probabilities (with --teacher-tta flip, of their flip-averaged ones)."""

    def __init__(self, members: list):
        self.members = members
        self.input_shape, self.outputs = members[0].input_shape, members[0].outputs

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return np.mean([member.predict(faces) for member in self.members], axis=0)


def teacher_sources(source: str | Path) -> list[str]:
    """The members of `--teacher`: one model, several separated by commas, or a .txt file listing one per line
    (blank lines and # comments ignored; relative paths are relative to the file)."""
    text = str(source)
    path = Path(text)
    if path.suffix.lower() == ".txt":
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise ModelError(f"{path}: cannot read the teacher list ({error.strerror or error})") from None
        members = [line.split("#", 1)[0].strip() for line in lines]
        members = [m if Path(m).is_absolute() else str(path.parent / m) for m in members if m]
        if not members:
            raise ModelError(f"{path}: lists no teacher; expected one model path per line")
        return members
    return [part.strip() for part in text.split(",") if part.strip()]


def load_teacher(source: str | Path, num_classes: int, cache_dir: Path | None = None, classes=None):
    """The teacher `--teacher` names (`teacher_sources`): one model, or an ensemble of several whose probabilities
    are averaged. Each is a run folder (its model.keras), a .keras file, or an exported .tflite/.onnx artifact; the
    result's `predict(uint8 faces (N, 48, 48, 1))` gives class probabilities. With the student's `classes`, a
    teacher with more classes whose names include them all is used on those (`_ClassSubset`)."""
    members = [_load_one_teacher(member, num_classes, cache_dir, classes) for member in teacher_sources(source)]
    if not members:
        raise ModelError(f"--teacher {source!r}: no teacher named")
    return members[0] if len(members) == 1 else _EnsembleTeacher(members)


def _load_one_teacher(source: str | Path, num_classes: int, cache_dir: Path | None = None, classes=None):
    """One teacher. With `cache_dir`, a Keras teacher runs as its fp32 TFLite conversion (faster on a CPU) when that
    agrees with it."""
    path = Path(source)
    path = path / "model.keras" if path.is_dir() else path
    if not path.is_file() or path.suffix.lower() not in TEACHER_SUFFIXES:
        raise ModelError(f"{source}: no teacher model here; expected a run folder with model.keras or a "
                         f"{', '.join(TEACHER_SUFFIXES)} file")
    if path.suffix.lower() == ".npz":
        teacher = _RecordedTeacher(path)
    elif path.suffix.lower() == ".keras":
        keras = import_keras()
        try:
            teacher = _KerasTeacher(keras.saving.load_model(path, safe_mode=True, compile=False))
        except Exception as error:
            raise ModelError(f"{path}: cannot load the teacher ({first_line(error)})") from None
        if cache_dir is not None and teacher.input_shape == (48, 48, 1):
            teacher = _as_tflite(teacher, path, Path(cache_dir))
    else:
        try:
            teacher = _ArtifactTeacher(path)
        except ModelError:
            raise
        except Exception as error:  # an artifact that loads but does not take a 48x48x1 face
            raise ModelError(f"{path}: cannot run the teacher on a (48, 48, 1) face "
                             f"({first_line(error)})") from None
    if classes is not None and teacher.outputs > num_classes:
        own = teacher_classes(path, teacher)
        if own is not None and len(own) == teacher.outputs and set(classes) <= set(own):
            note(f"teacher {path.name}: {len(own)} classes, used on the student's {num_classes} "
                 f"(without {', '.join(c for c in own if c not in classes)}, renormalised)")
            teacher = _ClassSubset(teacher, [own.index(c) for c in classes])
    if (teacher.input_shape, teacher.outputs) != ((48, 48, 1), num_classes):
        raise ModelError(f"{path}: teacher takes {teacher.input_shape} and gives {teacher.outputs} outputs; expected "
                         f"a raw (48, 48, 1) face in and {num_classes} class probabilities out")
    return teacher


def _as_tflite(teacher: _KerasTeacher, path: Path, cache_dir: Path):
    """The Keras teacher's fp32 TFLite twin (converted once, cached by content), or the Keras teacher itself
    when conversion is impossible or the twin's probabilities differ."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cached = cache_dir / f"teacher-{digest}-fp32.tflite"
    if cached.is_file():
        try:
            _ArtifactTeacher(cached)
        except Exception as error:  # damaged (a crash, a full disk) or from another version: converted again
            discard_damaged(cached, "the teacher's cached TFLite conversion", error)
    try:
        if not cached.is_file():

            note(f"converting the teacher {path.name} to fp32 TFLite once (faster soft targets on a CPU)")
            with atomic_path(cached) as tmp:
                tmp.write_bytes(tflite_fp32(teacher.model, None))
        twin = _ArtifactTeacher(cached)
        faces = np.random.default_rng(0).integers(0, 256, (64, 48, 48, 1), dtype=np.uint8)
        gap = float(np.abs(twin.predict(faces) - teacher.predict(faces)).max())
    except Exception as error:  # no TF converter (JAX-only install) or an op TFLite lacks: Keras still works
        note(f"teacher stays in Keras: its TFLite conversion failed ({first_line(error)})")
        return teacher
    if gap > TFLITE_AGREEMENT:
        note(f"teacher stays in Keras: its fp32 TFLite differs by up to {gap:.2g} in probability")
        return teacher
    return twin


def soften(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same distribution, flatter for T > 1."""
    logits = np.log(np.clip(probabilities, 1e-7, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def teacher_targets(teacher, faces: np.ndarray, hard: np.ndarray, temperature: float, tta: str = "none",
                    rows: np.ndarray | None = None) -> np.ndarray:
    """[hard one-hot | teacher probabilities at T] for uint8 faces (N, 48, 48[, 1]); with tta="flip" the
    teacher's probabilities are averaged over each face and its mirror image (a better teacher, twice the pass).
    `rows`: the faces' row ids in the data, which recorded members look their targets up by."""

    x = faces[..., None] if faces.ndim == 3 else faces
    members = teacher.members if isinstance(teacher, _EnsembleTeacher) else [teacher]
    probs = [_member_probabilities(member, x, tta, rows) for member in members]
    return np.concatenate([hard, soften(np.mean(probs, axis=0), temperature)], axis=1)


def _member_probabilities(member, faces: np.ndarray, tta: str, rows: np.ndarray | None) -> np.ndarray:
    if not getattr(member, "by_rows", False):
        return with_tta(member.predict, faces, tta)
    if rows is None or len(rows) != len(faces):
        raise ModelError(f"{member.path}: a recorded teacher needs the faces' row ids")
    return member.recorded(rows)


def distillation_loss(num_classes: int, temperature: float, weight: float, label_smoothing: float):
    from edgefer.train.keras_parts import DistillationLoss

    return DistillationLoss(num_classes=num_classes, temperature=temperature, weight=weight,
                            label_smoothing=label_smoothing)


def accuracy_metric():
    """Top-1 accuracy against the hard labels, logged as "accuracy" (checkpoints select on val_accuracy)."""
    from edgefer.train.keras_parts import hard_label_accuracy, keras

    return keras.metrics.MeanMetricWrapper(hard_label_accuracy, name="accuracy")
