"""FER+ relabelling (`fer2013new.csv`): majority-vote labels for the row-aligned FER2013 CSV.

Each row holds 10 annotator votes over neutral, happiness, surprise, sadness, anger, disgust,
fear, contempt, unknown and NF (not a face). The label is the class with the most votes (ties go
to the earlier column, as `numpy.argmax` does). Rows are dropped when the top vote is `unknown`
or `NF`, or when `Image name` is empty (FERPlus's own export skips those images).
The class list becomes FER2013's seven plus Contempt as id 7 (see `edgefer.data.classes`).
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgefer.data.classes import FERPLUS_CLASSES
from edgefer.data.csv_format import open_text
from edgefer.data.dataset import FERDataset
from edgefer.errors import DataError

VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# FER+ vote column -> class id in FERPLUS_CLASSES (-1: not an emotion, row is dropped).
VOTE_TO_CLASS = np.array([6, 3, 5, 4, 0, 1, 2, 7, -1, -1])
FERPLUS_FILE_NAMES = ("fer2013new.csv", "fer2013new.csv.gz")


def find_ferplus_file(csv_path: Path) -> Path:
    folder = csv_path.parent if csv_path.is_file() else csv_path
    for name in FERPLUS_FILE_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"FER+ labels requested but no {' or '.join(FERPLUS_FILE_NAMES)} found in {folder}; "
        "pass its path with --ferplus"
    )


def read_ferplus_votes(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(votes (N, 10) int, has_image_name (N,) bool, usage (N,) str) from fer2013new.csv."""
    with open(path, "rb") as raw:
        reader = csv.reader(open_text(raw))
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in ("Usage", "Image name", *VOTE_COLUMNS) if c not in header]
        if missing:
            raise DataError(f"{path}: line 1: missing column(s) {', '.join(missing)}; expected the FER+ header")
        vote_idx = [header.index(c) for c in VOTE_COLUMNS]
        name_idx, usage_idx = header.index("Image name"), header.index("Usage")
        votes, named, usage = [], [], []
        for line, row in enumerate(reader, start=2):
            if len(row) < len(header):
                raise DataError(f"{path}: line {line}: expected {len(header)} fields, found {len(row)}")
            try:
                votes.append([int(row[i]) for i in vote_idx])
            except ValueError:
                raise DataError(f"{path}: line {line}: vote counts must be integers") from None
            named.append(bool(row[name_idx].strip()))
            usage.append(row[usage_idx].strip())
    return np.array(votes, dtype=np.int64).reshape(-1, len(VOTE_COLUMNS)), np.array(named), np.array(usage)


def apply_ferplus_labels(dataset: FERDataset, ferplus_path: Path) -> FERDataset:
    """Replace labels by FER+ majority votes, dropping rows without a usable vote."""
    votes, named, usage = read_ferplus_votes(ferplus_path)
    rows = dataset.row_ids
    if len(rows) and rows.max() >= len(votes):
        raise DataError(
            f"{ferplus_path}: has {len(votes)} rows but the image file has row {rows.max() + 1}; "
            "expected the fer2013new.csv that is row-aligned with this fer2013.csv"
        )
    mismatch = np.flatnonzero(usage[rows] != dataset.usage)
    if len(mismatch):
        i = mismatch[0]
        raise DataError(
            f"{ferplus_path}: line {rows[i] + 2}: Usage {str(usage[rows[i]])!r} differs from the image file's "
            f"{str(dataset.usage[i])!r}; expected a row-aligned fer2013new.csv"
        )
    top = VOTE_TO_CLASS[np.argmax(votes[rows], axis=1)]
    has_name = named[rows]
    reasons = {
        "no image name": int((~has_name).sum()),
        "top vote unknown": int((has_name & (np.argmax(votes[rows], axis=1) == 8)).sum()),
        "top vote NF": int((has_name & (np.argmax(votes[rows], axis=1) == 9)).sum()),
    }
    keep = has_name & (top >= 0)
    kept = dataset.subset(keep)
    report = replace(dataset.report, label_source="ferplus", dropped=int((~keep).sum()), dropped_reasons=reasons)
    return replace(kept, labels=top[keep], classes=FERPLUS_CLASSES, report=report)
