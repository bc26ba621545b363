"""Run folders: `runs/<model>-<mode>`, auto-numbered, never overwritten, and what goes in them."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

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
