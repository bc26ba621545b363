"""FER+ relabelling (`fer2013new.csv`): majority-vote labels for the row-aligned FER2013 CSV.

Each row holds 10 annotator votes over neutral, happiness, surprise, sadness, anger, disgust,
fear, contempt, unknown and NF (not a face). The label is the class with the most votes (ties go
to the earlier column, as `numpy.argmax` does). Rows are dropped when the top vote is `unknown`
or `NF`, or when `Image name` is empty (FERPlus's own export skips those images).
The class list becomes FER2013's seven plus Contempt as id 7 (see `edgefer.data.classes`). The votes themselves
travel too, as `FERDataset.targets`: each face's distribution over the 8 emotions, the training target of
`--ferplus-target votes`.

`--labels blend` keeps FER2013's seven classes and every face, and makes each face's target a blend of the two
sources: `share` x FER2013's one-hot label + (1 - share) x the FER+ votes over those seven classes (Contempt,
unknown and not-a-face votes left out). FER2013's labels agree with the annotators' majority on only about two
faces in three; a model that learns the blend learns where the annotators disagree with FER2013 instead of its
noise. Faces without a usable vote (no image name, no vote for one of the seven) keep their FER2013 one-hot.
`majority_labels` gives the FER+ majority in FER2013's classes for scoring a 7-class model against it.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgefer.data.classes import FER2013_CLASSES, FERPLUS_CLASSES
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
    votes, has_name = _checked_votes(dataset, ferplus_path)
    top = VOTE_TO_CLASS[np.argmax(votes, axis=1)]
    reasons = {
        "no image name": int((~has_name).sum()),
        "top vote unknown": int((has_name & (np.argmax(votes, axis=1) == 8)).sum()),
        "top vote NF": int((has_name & (np.argmax(votes, axis=1) == 9)).sum()),
    }
    keep = has_name & (top >= 0)
    kept = dataset.subset(keep)
    report = replace(dataset.report, label_source="ferplus", dropped=int((~keep).sum()), dropped_reasons=reasons)
    return replace(kept, labels=top[keep], classes=FERPLUS_CLASSES, report=report,
                   targets=vote_distributions(votes[keep], top[keep]))


TIE_BREAK = 1e-4  # added to the majority class's share, so that argmax(target) is the majority label


def vote_distributions(votes: np.ndarray, majority: np.ndarray) -> np.ndarray:
    """(N, 10) FER+ vote counts -> (N, 8) distributions over FERPLUS_CLASSES (ids 0-7): the emotion votes
    normalised, unknown and not-a-face left out (the FER+ paper's probability-distribution targets). Where two
    emotions tie, the one the majority label took (the earlier vote column) gets TIE_BREAK more, so that the
    accuracy Keras logs against these targets is accuracy against the majority labels."""
    emotions = np.flatnonzero(VOTE_TO_CLASS >= 0)
    out = np.zeros((len(votes), len(FERPLUS_CLASSES)), np.float32)
    out[:, VOTE_TO_CLASS[emotions]] = votes[:, emotions]
    out[np.arange(len(out)), majority] += TIE_BREAK * out.sum(axis=1)
    totals = out.sum(axis=1, keepdims=True)
    return np.divide(out, totals, out=np.zeros_like(out), where=totals > 0)


def original_labels(split: FERDataset, fer2013: FERDataset) -> np.ndarray:
    """The FER2013 label of each row of a FER+-labelled split, found by source row (ids 0-6 mean the same in both),
    so results can also be given on the faces where the two label sources agree."""
    position = np.full(int(max(fer2013.row_ids.max(initial=0), split.row_ids.max(initial=0))) + 1, -1)
    position[fer2013.row_ids] = np.arange(len(fer2013))
    found = position[split.row_ids]
    if (found < 0).any():
        raise DataError(f"{fer2013.report.source}: rows of the FER+ split are missing from the FER2013 labels")
    return fer2013.labels[found]


def _checked_votes(dataset: FERDataset, ferplus_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(votes (N, 10), has image name (N,)) of the dataset's rows, after checking the file lines up with it."""
    votes, named, usage = read_ferplus_votes(ferplus_path)
    rows = dataset.row_ids
    if len(rows) and rows.max() >= len(votes):
        raise DataError(f"{ferplus_path}: has {len(votes)} rows but the image file has row {rows.max() + 1}; "
                        "expected the fer2013new.csv that is row-aligned with this fer2013.csv")
    mismatch = np.flatnonzero(usage[rows] != dataset.usage)
    if len(mismatch):
        i = mismatch[0]
        raise DataError(f"{ferplus_path}: line {rows[i] + 2}: Usage {str(usage[rows[i]])!r} differs from the image "
                        f"file's {str(dataset.usage[i])!r}; expected a row-aligned fer2013new.csv")
    return votes[rows], named[rows]


def seven_class_votes(votes: np.ndarray, named: np.ndarray) -> np.ndarray:
    """(N, 10) vote counts -> (N, 7) distributions over FER2013's classes (only the seven emotions' votes, normalised);
    all zeros where a face has no image name or no vote for any of them."""
    out = np.zeros((len(votes), len(FER2013_CLASSES)), np.float32)
    for column, cls in enumerate(VOTE_TO_CLASS):
        if 0 <= cls < len(FER2013_CLASSES):
            out[:, cls] = votes[:, column]
    out[~named] = 0
    totals = out.sum(axis=1, keepdims=True)
    return np.divide(out, totals, out=np.zeros_like(out), where=totals > 0)


def majority_labels(dataset: FERDataset, ferplus_path: Path) -> np.ndarray:
    """The FER+ majority label of each row in FER2013's class ids, or -1 where there is none to score against: the
    top vote is Contempt, unknown or not-a-face, or the image has no name (FERPlus's export skips it)."""
    votes, named = _checked_votes(dataset, ferplus_path)
    top = VOTE_TO_CLASS[np.argmax(votes, axis=1)]
    return np.where(named & (top >= 0) & (top < len(FER2013_CLASSES)), top, -1)


def apply_blended_targets(dataset: FERDataset, ferplus_path: Path, share: float) -> FERDataset:
    """FER2013's labels and classes, with targets `share` x one-hot(FER2013) + (1 - share) x FER+ votes (7 classes)."""
    if not 0.0 <= share <= 1.0:
        raise DataError(f"--label-blend {share:g}: expected FER2013's share of the target, within 0..1")
    if tuple(dataset.classes) != FER2013_CLASSES:
        raise DataError(f"{dataset.report.source}: --labels blend mixes FER2013's labels with FER+ votes; this data has "
                        f"the classes {', '.join(dataset.classes)}")
    votes, named = _checked_votes(dataset, ferplus_path)
    spread = seven_class_votes(votes, named)
    one_hot = np.eye(len(FER2013_CLASSES), dtype=np.float32)[dataset.labels]
    has_votes = spread.sum(axis=1) > 0
    targets = np.where(has_votes[:, None], share * one_hot + (1.0 - share) * spread, one_hot)
    report = replace(dataset.report, label_source="blend",
                     dropped_reasons={"faces without a usable FER+ vote (FER2013 label alone)": int((~has_votes).sum())})
    return replace(dataset, targets=targets.astype(np.float32), report=report)
