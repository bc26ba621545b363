"""`export_run()`: convert a trained run to the chosen formats, check each against Keras, keep the good.

Calibration faces come from the run's training split (stratified, never the test set); check
faces from its validation split. Each artifact is written under a temporary name, verified
(top-1 agreement >= 99% with Keras for float formats; accuracy within 1 pp of Keras for quantized
ones, widened to two standard deviations of the flip noise on small check sets; see `allowed_drop`) and only then renamed into place; a failing artifact goes to `rejected/` so no predictor
picks it up.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgefer import __version__
from edgefer.core.backends import KerasRunner, open_runner
from edgefer.core.fileio import write_json
from edgefer.core.run_folder import MODEL_FILE, RUN_FILE, RunRecord, default_export_dir
from edgefer.data.loading import load_dataset
from edgefer.data.splits import run_splits, stratified_subset
from edgefer.errors import ModelError, first_line
from edgefer.export.accelerators import placement
from edgefer.export.bundle import write_bundle
from edgefer.export.formats import EXPORT_FORMATS, ExportFormat
from edgefer.export.meta import read_export_record
from edgefer.predictor import BLAZEFACE_FILE, FACE_LIFT, FACE_MARGIN
from edgefer.train.backbones import get_backbone

AGREEMENT_FLOOR = 0.99
QUANTIZED_ACCURACY_DROP = 0.01
QUANTIZED_AGREEMENT_FLOOR = 0.9
MAX_PROBABILITY_DISTANCE = 0.1


@dataclass
class ArtifactResult:
    format: str
    file: str | None
    status: str  # "ok" | "failed"
    size_mb: float = 0.0
    agreement: float | None = None
    accuracy: float | None = None
    keras_accuracy: float | None = None
    seconds: float = 0.0
    reason: str = ""
    meta: dict = field(default_factory=dict)
    accelerators: dict | None = None  # ONNX: share of nodes NNAPI / CoreML would run (edgefer.export.accelerators)


@dataclass
class RunSource:
    run_dir: Path
    model_path: Path
    run: RunRecord

    @property
    def classes(self) -> list[str]:
        return self.run.classes

    @property
    def name(self) -> str:
        return self.run_dir.name


def resolve_run(source: Path) -> RunSource:
    source = Path(source)
    model_path = source / MODEL_FILE if source.is_dir() else source
    run_file = model_path.parent / RUN_FILE
    if not model_path.is_file():
        raise ModelError(f"{source}: no {MODEL_FILE} here; expected a run folder from edgefer train or its model.keras")
    if not run_file.is_file():
        raise ModelError(f"{model_path}: no {RUN_FILE} beside it; export needs the run's classes and data split")
    return RunSource(model_path.parent, model_path, RunRecord.read(model_path.parent))


def _faces(images: np.ndarray) -> np.ndarray:
    return images[..., None]


def artifact_meta(fmt: ExportFormat, io_facts: dict, source: RunSource) -> dict:
    rgb = fmt.filename.endswith(".tflite")  # every TFLite format gets the RGB front (edgefer.export.rgb_input)
    meta = {
        "format": fmt.name,
        "description": fmt.description,
        "classes": source.classes,
        "label_source": source.run.label_source,
        "model": source.run.model,
        "img_size": source.run.img_size,
        "alpha": source.run.alpha,
        "weights": source.run.weights,
        "run": source.name,
        "edgefer_version": __version__,
        "input": {"shape": [fmt.batch, 48, 48, 3 if rgb else 1], "layout": "NHWC",
                  "range": [0, 255], "crop": {"margin": FACE_MARGIN, "lift": FACE_LIFT},
                  "meaning": ("raw 48x48 face, RGB (gray in three equal channels gives the same); gray conversion, "
                              "resizing and scaling are inside the model" if rgb else
                              "raw 48x48 grayscale face; resizing and scaling are inside the model")},
    }
    meta["input"].update(io_facts["input"])
    meta["output"] = {**io_facts["output"], "meaning": "class probabilities"}
    return meta


def allowed_drop(n: int, disagreements: int) -> float:
    """How far a quantized artifact's accuracy may fall under Keras's on `n` check faces.

    1 pp; never less than one face (on fewer than 100 faces 1 pp is below one face); and never less than
    two standard deviations of the noise that flipped predictions alone cause: if `disagreements`
    faces changed their prediction with no systematic loss, the net accuracy change has a standard
    deviation of about sqrt(disagreements) faces (a paired, McNemar-style bound). A real collapse
    (EfficientNetB0 int8: 25% against 42%) is far outside it; a 3% prediction churn on 300 faces is not.
    """
    return max(QUANTIZED_ACCURACY_DROP, 1 / n, 2 * math.sqrt(disagreements) / n)


def verify(path: Path, fmt: ExportFormat, faces: np.ndarray, labels: np.ndarray, keras_probs: np.ndarray) -> dict:
    """Agreement with Keras and accuracy on the check faces, and whether the artifact passes."""
    return judge(fmt.quantized, open_runner(path).predict(faces), keras_probs, labels)


def judge(quantized: bool, probs: np.ndarray, keras_probs: np.ndarray, labels: np.ndarray) -> dict:
    """Float formats: top-1 agreement >= 99%. Quantized: accuracy within `allowed_drop` of Keras AND the
    same model (top-1 agreement >= 90%, or mean total-variation distance of the probabilities <= 0.1,
    for near-ties of an undertrained model): equal accuracy alone passes a constant model."""
    if probs.shape != keras_probs.shape or not np.isfinite(probs).all():
        return {"passed": False, "reason": f"output shape {probs.shape} or non-finite values", "agreement": 0.0,
                "accuracy": 0.0}
    predicted, reference = probs.argmax(1), keras_probs.argmax(1)
    agreement = float((predicted == reference).mean())
    accuracy, keras_accuracy = float((predicted == labels).mean()), float((reference == labels).mean())
    distance = float(0.5 * np.abs(probs - keras_probs).sum(axis=1).mean())
    reason = ""
    if quantized:
        allowed = allowed_drop(len(labels), int((predicted != reference).sum()))
        if accuracy < keras_accuracy - allowed - 1e-9:
            reason = f"accuracy {accuracy:.1%} is more than {allowed:.1%} under Keras {keras_accuracy:.1%}"
        elif agreement < QUANTIZED_AGREEMENT_FLOOR and distance > MAX_PROBABILITY_DISTANCE:
            reason = (f"top-1 agreement with Keras {agreement:.1%} < {QUANTIZED_AGREEMENT_FLOOR:.0%} and probabilities "
                      f"{distance:.2f} apart (total variation; at most {MAX_PROBABILITY_DISTANCE} allowed)")
    elif agreement < AGREEMENT_FLOOR:
        reason = f"top-1 agreement with Keras {agreement:.1%} < {AGREEMENT_FLOOR:.0%}"
    return {"passed": not reason, "reason": reason, "agreement": agreement, "accuracy": accuracy}


def export_one(fmt: ExportFormat, model, source: RunSource, out: Path, calibration, check) -> ArtifactResult:
    faces, labels, keras_probs = check
    keras_accuracy = float((keras_probs.argmax(1) == labels).mean())
    staging = out / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    temp = staging / fmt.filename
    start, artifact = time.perf_counter(), None
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the converters print every captured tensor
            artifact = fmt.convert(model, calibration)
        meta = artifact_meta(fmt, fmt.io(artifact), source)
        fmt.write(artifact, temp, meta)  # written once, metadata inside
        check_result = verify(temp, fmt, faces, labels, keras_probs)
    except OSError:  # disk full or unwritable: nothing half-written stays, and the export stops
        temp.unlink(missing_ok=True)
        raise
    except ModelError as error:  # the artifact does not load: kept in rejected/, reason without the staging path
        if artifact is not None and not temp.exists():
            fmt.write(artifact, temp, None)
        reason = str(error).replace(f"{temp}: ", "").replace(str(temp), fmt.filename)
        check_result, meta = {"passed": False, "reason": f"does not load: {reason}", "agreement": None,
                              "accuracy": None}, {}
    except Exception as error:  # a converter failure is reported per format, not fatal to the others
        reason = f"conversion failed: {type(error).__name__}: {first_line(error, 300)}"
        check_result, meta = {"passed": False, "reason": reason.replace(str(temp), fmt.filename),
                              "agreement": None, "accuracy": None}, {}
    note = get_backbone(source.run.config["model"]).int8_note if fmt.name == "int8" else ""
    if not check_result["passed"] and note:
        check_result["reason"] = f"{check_result['reason']}; {note}"
    final = out / fmt.filename if check_result["passed"] else out / "rejected" / fmt.filename
    if temp.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
    stale = (out / "rejected" / fmt.filename) if check_result["passed"] else (out / fmt.filename)
    stale.unlink(missing_ok=True)  # an earlier export's verdict on this format no longer holds
    with contextlib.suppress(OSError):
        (out / "rejected").rmdir()  # only if empty
    accelerators = placement(final) if final.exists() and final.suffix == ".onnx" and check_result["passed"] else None
    return ArtifactResult(
        format=fmt.name, file=str(final) if final.exists() else None,
        status="ok" if check_result["passed"] else "failed",
        size_mb=final.stat().st_size / 1e6 if final.exists() else 0.0, agreement=check_result["agreement"],
        accuracy=check_result["accuracy"], keras_accuracy=keras_accuracy, seconds=time.perf_counter() - start,
        reason=check_result["reason"], meta=meta, accelerators=accelerators,
    )


def calibration_and_check_faces(source: RunSource, data: str | None, calib_samples: int, check_samples: int):
    """The faces export calibrates on (stratified Training rows) and checks against (validation rows)."""
    config = source.run.config
    dataset = load_dataset(data if data is not None else config["data"], labels=config["labels"],
                           ferplus=config.get("ferplus"), cache_dir=config.get("cache_dir"))
    if list(dataset.classes) != source.classes:
        raise ModelError(f"data classes {list(dataset.classes)} differ from the model's {source.classes}")
    splits = run_splits(dataset, config)
    calibration = _faces(splits.train.images[stratified_subset(splits.train.labels, calib_samples, config["seed"])])
    check_rows = stratified_subset(splits.val.labels, check_samples, config["seed"] + 1)
    return calibration, _faces(splits.val.images[check_rows]), splits.val.labels[check_rows]


def export_run(source: Path, formats: list[str], *, out: Path | None = None, data: str | None = None,
               calib_samples: int = 300, check_samples: int = 300) -> tuple[Path, list[ArtifactResult]]:
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise ModelError(f"unknown format(s) {', '.join(unknown)}; expected {', '.join(EXPORT_FORMATS)}")
    run = resolve_run(source)
    out = Path(out) if out else default_export_dir(run.run_dir)
    # the folder's record of earlier artifacts, read before any work: a damaged one stops the export at once
    existing = read_export_record(out / "model.json") if (out / "model.json").is_file() else {}

    keras_model = KerasRunner(run.model_path)
    calibration, faces, labels = calibration_and_check_faces(run, data, calib_samples, check_samples)
    keras_probs = keras_model.predict(faces)
    out.mkdir(parents=True, exist_ok=True)
    try:  # Ctrl-C or a full disk leave no .staging/ behind
        results = [export_one(EXPORT_FORMATS[f], keras_model.model, run, out, calibration,
                              (faces, labels, keras_probs)) for f in formats]
    finally:
        shutil.rmtree(out / ".staging", ignore_errors=True)
    _write_sidecars(out, run, results, len(calibration), len(faces), existing)
    kept = sorted(p.name for p in [*out.glob("*.tflite"), *out.glob("*.onnx")] if p.name != BLAZEFACE_FILE)
    write_bundle(out, kept, run.classes)
    return out, results


def _write_sidecars(out: Path, run: RunSource, results: list[ArtifactResult], n_calib: int, n_check: int,
                    existing: dict) -> None:
    write_json(out / "labels.json", {"classes": run.classes, "label_source": run.run.label_source})
    model_json = out / "model.json"
    artifacts = existing.get("artifacts", {})
    for r in results:
        name = EXPORT_FORMATS[r.format].filename
        if r.status == "ok":
            artifacts[name] = {**r.meta, "check": {k: v for k, v in asdict(r).items() if k not in ("meta", "file")},
                               "calibration_faces": n_calib, "check_faces": n_check}
        else:
            artifacts.pop(name, None)
    write_json(model_json, {"classes": run.classes, "run": str(run.run_dir), "model": run.run.model,
                            "img_size": run.run.img_size, "artifacts": artifacts})


def results_table(folder: Path, results: list[ArtifactResult], check_samples: int):
    """The rich table `edgefer export` prints: each artifact, its size and its check against Keras."""
    from rich.table import Table

    table = Table(title=f"export to {folder}  (checked on {check_samples} validation faces against Keras)")
    for column in ("format", "file", "size MB", "agreement", "accuracy (Keras)", "NNAPI / CoreML nodes", "status"):
        table.add_column(column, overflow="fold")
    pct = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
    for r in results:
        status = "[green]ok[/]" if r.status == "ok" else f"[red]failed[/]: {r.reason}"
        placed = "-" if not r.accelerators else f"{r.accelerators['nnapi']:.0%} / {r.accelerators['coreml']:.0%}"
        table.add_row(r.format, Path(r.file).name if r.file else "-", f"{r.size_mb:.2f}", pct(r.agreement),
                      f"{pct(r.accuracy)} ({pct(r.keras_accuracy)})", placed, status)
    return table
