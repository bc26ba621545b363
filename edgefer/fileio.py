"""Atomic file writes: every model, report and plot is written to a temp name and renamed,
so an interrupted run never leaves a truncated file under the final name. Also the one CSV writer."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path in the target's folder; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep every suffix: Keras insists on names ending in .keras or .weights.h5.
    stem, *_ = path.name.split(".", 1)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix="".join(path.suffixes) or ".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; final files get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, data) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def csv_text(rows: list[dict]) -> str:
    """CSV of dict rows; the columns are every key of every row in first-seen order (a resumed run may log
    a column its older epochs lack; a failed bench row has fewer cells), missing cells empty."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(k for row in rows for k in row)), restval="")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
