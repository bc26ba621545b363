"""matplotlib, imported lazily (it comes with the [train] extra) and saved atomically."""

from __future__ import annotations

from pathlib import Path

from edgefer.core.fileio import atomic_path
from edgefer.errors import DataError


def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DataError("plots need matplotlib: pip install 'edgefer[train]' (or pip install matplotlib)") from None
    return plt


def save_figure(fig, path: Path) -> Path:
    """Write the figure (format from the suffix, PNG by default) via a temp file, then close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format=path.suffix.lstrip(".") or "png")
    pyplot().close(fig)
    return path
