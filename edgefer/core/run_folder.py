"""The run folder's contract, below every stage: what `edgefer train` puts in a run folder and how the others find it.

`runs/<model>-<mode>[-N]`, auto-numbered and never overwritten; the names of the files in it; run.json as one
typed record (`RunRecord`: train writes it; export, bench and `--resume` read it, with its defaults for records of
older versions and the errors a damaged file gets); and the `export/<run>` convention for where a run's artifacts
go by default. Training, export and bench all import it from here, so no stage reaches into another for it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path

from edgefer.core.fileio import write_json
from edgefer.errors import ModelError

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion_matrix.png"
CHECKPOINT_DIR = "checkpoint"


def new_run_dir(out: Path, model: str, mode: str) -> Path:
    """Create and return the first free `out/model-mode[-N]` (atomic mkdir: safe against races)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = out / (f"{model}-{mode}" if n == 1 else f"{model}-{mode}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run folder name under {out}")


def package_versions() -> dict[str, str]:
    names = ("edgefer", "keras", "tensorflow-cpu", "tensorflow", "jax", "numpy", "pillow")
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


RUN_FILE = "run.json"
EXPORT_ROOT = Path("export")
RECORD_VERSION = 1
EXPECTED = "the run record edgefer train writes"


RECORD_FIX = "restore the file, or train the run again"


def read_json_object(path: Path, expected: str, fix: str = RECORD_FIX, required: tuple[str, ...] = ()) -> dict:
    """A JSON object from `path` holding the `required` keys, or a one-line ModelError naming the file, what was
    `expected` and what to do (`fix`): damaged records are never guessed around."""
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelError(f"{path}: damaged, not valid JSON ({error}); expected {expected}; {fix}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: a JSON {type(data).__name__}; expected {expected} (an object); {fix}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ModelError(f"{path}: no {', '.join(repr(k) for k in missing)} (written by another edgefer version?); "
                         f"expected {expected}; {fix}")
    return data


@dataclass(kw_only=True)
class RunRecord:
    edgefer_run: int = RECORD_VERSION
    complete: bool = False
    config: dict  # TrainConfig.as_dict(): every option the run was started with
    classes: list[str]
    label_source: str = "fer2013"
    input: dict = field(default_factory=dict)
    preprocessing_in_model: list[str] = field(default_factory=list)
    features_layer: str = "features"
    weights: str | None = None  # in words: "imagenet", "none (random initialisation)", "file: ..."
    data: dict = field(default_factory=dict)  # source, format, content hash, split sizes
    phase_epochs: dict = field(default_factory=dict)
    backend: str | None = None
    distribution: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    wall_seconds: float = 0.0
    feature_extraction_seconds: float | None = None

    @property
    def model(self) -> str:
        return self.config["model"]

    @property
    def img_size(self) -> int:
        return self.config["img_size"]

    @property
    def alpha(self) -> float:
        return self.config.get("alpha", 1.0)

    @classmethod
    def read(cls, run_dir: Path) -> RunRecord:
        """The record of a run folder, with a one-line error naming the file for anything unusable."""
        path = Path(run_dir) / RUN_FILE
        if not path.is_file():
            raise ModelError(f"{run_dir}: not a run folder (no {RUN_FILE}); expected a folder made by edgefer train")
        saved = read_json_object(path, EXPECTED)
        for key, kind, word in (("config", dict, "object"), ("classes", list, "list")):
            if not isinstance(saved.get(key), kind):
                raise ModelError(f"{path}: no '{key}' {word}; expected {EXPECTED}; {RECORD_FIX}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})

    def write(self, run_dir: Path) -> Path:
        return write_json(Path(run_dir) / RUN_FILE, asdict(self))


def default_export_dir(run_dir: Path) -> Path:
    """Where `edgefer export RUN` puts RUN's artifacts and where `edgefer bench RUN` looks for them."""
    return EXPORT_ROOT / Path(run_dir).name


# The CPU facts every benchmark and analysis records (`machine_info`), and the vector extensions they name.
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "neon", "asimd", "asimddp")


def _cpuinfo_field(lines: list[str], *names: str) -> str | None:
    return next((s.split(":", 1)[1].strip() for s in lines if s.split(":", 1)[0].strip() in names), None)


def machine_info() -> dict:
    """CPU model, the vector extensions of VECTOR_FLAGS it has, cores, OS and Python of this machine."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    cpu = _cpuinfo_field(lines, "model name") or platform.processor()
    flags = set((_cpuinfo_field(lines, "flags", "Features") or "").split())
    return {"cpu": cpu, "vector_extensions": [f for f in VECTOR_FLAGS if f in flags], "cores": os.cpu_count(),
            "os": platform.platform(), "python": platform.python_version()}
