"""`edgefer bench`: accuracy and latency of every artifact on the same faces and the same clock.

Each artifact is measured in its own subprocess (`edgefer.bench.worker`); this module gathers the
artifacts, prepares the test faces (raw for edgefer artifacts, resized/normalised for external
models), scores the predictions and writes bench.json / .csv / .md and the plots.

Latency is timed in rounds (`--rounds`): in each round every artifact takes its turn with its share of
the runs, and the percentiles are over all rounds. On a shared or throttling machine a slow spell then
falls on every row a little instead of on one row wholly: in one round of 300 runs on a 2-core cloud VM,
two copies of the same network read 0.69 and 1.09 ms.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgefer.bench.external import ExternalSpec
from edgefer.bench.jobs import run_in_worker
from edgefer.bench.options import ROUNDS, RUNS, THREADS, WARMUP, thread_counts
from edgefer.bench.results import BenchReport, BenchRow
from edgefer.bench.worker import latency_stats
from edgefer.core.backends import open_runner
from edgefer.core.evaluation import accuracy_where, classification_metrics
from edgefer.core.progress import note
from edgefer.core.run_folder import RUN_FILE, RunRecord, default_export_dir, machine_info, package_versions
from edgefer.data.classes import FER2013_CLASSES
from edgefer.data.ferplus import find_ferplus_file, majority_labels, original_labels
from edgefer.data.loading import load_dataset
from edgefer.errors import DataError, ModelError, first_line
from edgefer.export.meta import read_meta
from edgefer.predictor import BLAZEFACE_FILE, PACKAGED_MODELS, TTA_MODES, packaged_model_path

ARTIFACT_SUFFIXES = (".keras", ".tflite", ".onnx")


@dataclass
class BenchConfig:
    paths: list[Path]
    data: str | None = None
    split: str = "PublicTest"
    threads: list[int] = field(default_factory=lambda: thread_counts(THREADS))
    runs: int = RUNS
    warmup: int = WARMUP
    batch_size: int = 64
    throughput_batches: tuple[int, ...] = (1, 8, 32, 64)
    min_accuracy: float | None = None
    out: Path = Path("bench")
    input_size: int | None = None
    normalize: str = "none"
    labels: list[str] | None = None
    timeout_s: int = 1800
    tta: list[str] = field(default_factory=lambda: ["none"])  # a row per artifact and mode
    rounds: int = ROUNDS  # latency rounds, the artifacts taking turns in each; `runs` is split between them
    label_source: str = "fer2013"  # or "ferplus": scored against the FER+ majority (8 classes; 7-class models map on)
    ferplus: str | None = None  # fer2013new.csv[.gz]; default: beside the data

    @property
    def latency_rounds(self) -> int:
        """The rounds actually run: at most one per timed run."""
        return max(1, min(self.rounds, self.runs))

    def runs_in_round(self, r: int) -> int:
        """Round r's share of `runs` (the shares add up to `runs`; every round has at least one)."""
        return self.runs // self.latency_rounds + (1 if r < self.runs % self.latency_rounds else 0)


def _models_in(folder: Path) -> list[Path]:
    """Model files in a folder, without the device bundle's face detector."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix in ARTIFACT_SUFFIXES and p.is_file() and p.name != BLAZEFACE_FILE)


def collect_artifacts(paths: list[Path]) -> list[Path]:
    """Files named directly (or a packaged model by name); from a run folder its model.keras and export/<run>/*; from
    an export folder its files."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.exists() and str(path) in PACKAGED_MODELS:  # a packaged model by name: default, fast, ferplus
            path = packaged_model_path(str(path))
        if path.is_file():
            if path.suffix not in ARTIFACT_SUFFIXES:
                raise ModelError(f"{path}: not a model file; expected {', '.join(ARTIFACT_SUFFIXES)}")
            found.append(path)
        elif path.is_dir():
            inside = _models_in(path)
            export_dir = default_export_dir(path)
            if (path / RUN_FILE).exists() and export_dir.is_dir():
                inside += _models_in(export_dir)
            if not inside:
                raise ModelError(f"{path}: no .keras, .tflite or .onnx files here")
            found.extend(inside)
        else:
            raise ModelError(f"{path}: no such file or folder")
    return found


def artifact_classes(path: Path) -> list[str] | None:
    if path.suffix == ".keras":
        return RunRecord.read(path.parent).classes if (path.parent / RUN_FILE).exists() else None
    meta = read_meta(path)
    return meta["classes"] if meta else None


def _model_channels(path: Path) -> int:

    runner = open_runner(path)
    if hasattr(runner, "input"):
        return int(runner.input["shape"][-1])
    if hasattr(runner, "session"):
        return int(runner.session.get_inputs()[0].shape[-1])
    return int(runner.model.input_shape[-1])


class BrokenArtifact(ModelError):
    """An artifact that cannot be opened: it gets a failed row, the others are still measured."""


def load_problem(path: Path) -> str | None:
    """Why `path` does not open in its runtime, or None when it does."""

    try:
        open_runner(path)
    except Exception as error:  # every runtime has its own error types
        text = first_line(error, 300)
        return text if text.startswith(str(path)) else f"does not load: {text}"
    return None


def prepare(path: Path, faces: np.ndarray, classes, config: BenchConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """(model inputs, output->our-class map, kind) for one artifact."""
    try:
        own = artifact_classes(path)
    except ModelError as error:  # a damaged run record beside a .keras: a failed row that names it
        raise BrokenArtifact(str(error)) from None
    except Exception:  # unreadable metadata: load_problem below says what is wrong with the file
        own = None
    if own is not None:  # edgefer's own artifact (labels inside or beside): raw faces, whatever the options
        spec = ExternalSpec(48, "none", own)
        return faces[..., None], spec.class_map(classes), "edgefer"
    problem = load_problem(path)
    if problem is not None:
        raise BrokenArtifact(problem)
    labels = config.labels
    if labels is None or config.input_size is None:
        raise ModelError(
            f"{path}: not an edgefer artifact; give --input-size, --normalize and --class-names (its class names in output order)"
        )
    spec = ExternalSpec(config.input_size, config.normalize, labels, channels=_model_channels(path))
    return spec.preprocess(faces), spec.class_map(classes), "external"


# Vector extensions that change int8/fp32 kernel speed (and onnxruntime's int8 numerics): latency rankings between
# models flip between an AVX2-only and an AVX-512 CPU of the same name, so a report says which it ran on.
def _run_worker(job: dict, workdir: Path) -> dict:
    return run_in_worker("edgefer.bench.worker", job, workdir)


def display_names(paths: list[Path]) -> list[str]:
    """File names, prefixed by as many of their folders as it takes to tell apart artifacts that share a
    name (two runs' export/model_int8.tflite become a-plain/export/model_int8.tflite, a-kd/export/...)."""
    parts = [Path(p).absolute().parts for p in paths]
    depth = [1] * len(paths)
    while True:
        names = ["/".join(q[-d:]) for q, d in zip(parts, depth)]
        clashing = [i for i, n in enumerate(names) if names.count(n) > 1 and depth[i] < len(parts[i])]
        if not clashing:
            return names
        for i in clashing:
            depth[i] += 1


def _row(path: Path, name: str, tta: str = "none") -> dict:
    """The columns every row has, measured or failed."""
    return {"name": name if tta == "none" else f"{name} +{tta}", "path": str(path), "format": path.suffix.lstrip("."),
            "size_mb": path.stat().st_size / 1e6, "tta": tta}


def bench_artifact(path: Path, prepared, labels, classes, config: BenchConfig, workdir: Path, name: str,
                   tta: str = "none", slot: int = 0, agree: np.ndarray | None = None,
                   majority: np.ndarray | None = None) -> dict:
    """Round 1 of one artifact: accuracy, throughput, memory and the first latency samples (`slot`: a
    number of its own among the rows, naming its files in `workdir`)."""
    row = _row(path, name, tta)
    inputs, class_map, kind = prepared
    np.save(workdir / "inputs.npy", inputs)
    first_face = workdir / f"first_face_{slot}.npy"  # what the later latency rounds feed it
    np.save(first_face, inputs[:1])
    job = {"artifact": str(path), "inputs": str(workdir / "inputs.npy"), "threads": config.threads,
           "runs": config.runs_in_round(0), "warmup": config.warmup, "batch_size": config.batch_size,
           "throughput_batches": list(config.throughput_batches), "timeout_s": config.timeout_s, "tta": tta}
    result = _run_worker(job, workdir)
    if "error" in result:
        return {**row, "kind": kind, "status": "failed", "error": result["error"]}
    outputs = result.pop("outputs")
    if outputs != len(class_map):
        if kind == "external":
            raise ModelError(f"--labels gives {len(class_map)} class names but {path} has {outputs} outputs")
        return {**row, "kind": kind, "status": "failed",
                "error": f"its class list names {len(class_map)} classes but the model has {outputs} outputs"}
    predicted = class_map[np.array(result.pop("predictions"))]
    other = predicted < 0  # an external model's class that we do not have: always wrong
    names = list(classes) + (["(other)"] if other.any() else [])
    scored = np.where(other, len(classes), predicted)
    metrics = classification_metrics(labels, scored, names)
    if agree is not None:  # FER+ labels: also on the faces where FER2013's label is the same
        metrics["where_fer2013_agrees"] = accuracy_where(labels, scored, agree)
    if majority is not None:  # FER2013 labels: also against the FER+ annotators' majority of the same faces
        metrics["ferplus_majority"] = {**accuracy_where(majority, scored, majority >= 0),
                                       "left_out": int((majority < 0).sum())}
    return {**row, "kind": kind, "status": "ok", **result, "job": {**job, "inputs": str(first_face)},
            **{k: metrics[k] for k in ("n", "accuracy", "macro_f1", "per_class_recall", "confusion_matrix",
                                       "where_fer2013_agrees", "ferplus_majority") if k in metrics}}


def more_latency_rounds(rows: list[dict], config: BenchConfig, workdir: Path) -> None:
    """Rounds 2..R: each measured row's artifact again, in turn, latency only; then the statistics."""
    for r in range(1, config.latency_rounds):
        for row in [row for row in rows if row["status"] == "ok"]:  # a row failing a round drops out
            job = {**row["job"], "runs": config.runs_in_round(r), "latency_only": True}
            result = _run_worker(job, workdir)
            if "error" in result:
                row.update(status="failed", error=f"latency round {r + 1}: {result['error']}")
                continue
            for n, samples in result["latency_samples"].items():
                row["latency_samples"][n] += samples
    for row in rows:
        row.pop("job", None)
        samples = row.pop("latency_samples", None)
        if row["status"] == "ok":
            row["latency"] = {n: latency_stats(s) for n, s in samples.items()}


def ferplus_majority(test, dataset, config: BenchConfig) -> np.ndarray | None:
    """With FER2013's labels: the FER+ majority of each test face in the seven classes (-1: left out), where the votes
    are found (--ferplus, or fer2013new.csv beside the data), else None (that column is then not shown)."""
    if config.label_source != "fer2013" or tuple(dataset.classes) != FER2013_CLASSES:
        return None
    try:
        source = Path(config.ferplus) if config.ferplus else find_ferplus_file(Path(dataset.report.source))
        return majority_labels(test, source)
    except (DataError, OSError) as error:
        if config.ferplus:  # asked for: its problem is an error
            raise DataError(f"--ferplus {config.ferplus}: {error}") from None
        return None  # no votes beside the data (the embedded sample, a folder tree): FER2013 labels alone


def run_bench(config: BenchConfig) -> BenchReport:
    artifacts = collect_artifacts(config.paths)
    dataset = load_dataset(config.data, labels=config.label_source, ferplus=config.ferplus)
    if config.split not in dataset.split_names():
        raise DataError(f"no {config.split} rows in {dataset.report.source}; it has {', '.join(dataset.split_names())}")
    test = dataset.split(config.split)
    agree = original_labels(test, load_dataset(config.data)) == test.labels if config.label_source == "ferplus" else None
    majority = ferplus_majority(test, dataset, config)
    # Prepare every artifact first: a missing option for an external model stops before any timing.
    prepared = []
    for path in artifacts:
        try:
            prepared.append(prepare(path, test.images, dataset.classes, config))
        except BrokenArtifact as broken:
            prepared.append(broken)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, inputs, name in zip(artifacts, prepared, display_names(artifacts)):
            if isinstance(inputs, BrokenArtifact):
                rows.append({**_row(path, name), "kind": "unknown", "status": "failed", "error": str(inputs)})
                note(f"  {name}: failed, {inputs}")
                continue
            for tta in config.tta:
                row = bench_artifact(path, inputs, test.labels, dataset.classes, config, Path(tmp), name, tta,
                                     slot=len(rows), agree=agree, majority=majority)
                rows.append(row)
                done = f"accuracy {row['accuracy']:.2%}" if row["status"] == "ok" else row.get("error", "")
                note(f"  {row['name']}: {row['status']}, {done}")
        if config.latency_rounds > 1 and any(row["status"] == "ok" for row in rows):
            note(f"latency: {config.latency_rounds - 1} more round(s), the artifacts taking turns")
        more_latency_rounds(rows, config, Path(tmp))

    return BenchReport(data=dataset.report.source, split=config.split, n=len(test), classes=list(dataset.classes),
                       label_source=config.label_source, threads=config.threads, runs=config.runs,
                       rounds=config.latency_rounds, tta=config.tta, warmup=config.warmup, machine=machine_info(),
                       versions=package_versions(), rows=[BenchRow.from_json(row) for row in rows])


def tta_modes(text: str) -> list[str]:
    """--tta for bench: the plain row always, plus one row per augmentation asked for."""
    modes = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [m for m in modes if m not in TTA_MODES]
    if unknown or not modes:
        raise DataError(f"--tta {text!r}; expected {' or '.join(TTA_MODES)} (comma-separated)")
    return ["none"] + [m for m in dict.fromkeys(modes) if m != "none"]
