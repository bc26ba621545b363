"""A FERDataset as a `.npz` file: the parse cache, the embedded sample, and user subsets.

Written atomically (temp file, then rename) and read with `allow_pickle=False`: only plain
arrays (uint8 images, int labels, unicode split and class names) go in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgefer.core.fileio import atomic_path
from edgefer.data.dataset import FERDataset, LoadReport
from edgefer.errors import DataError

NPZ_KEYS = ("images", "labels", "usage", "classes", "row_ids")


def save_npz(dataset: FERDataset, path: Path, *, compress: bool = False, **extra: np.ndarray) -> Path:
    path = Path(path)
    arrays = dict(
        images=dataset.images,
        labels=dataset.labels,
        usage=dataset.usage,
        classes=np.array(dataset.classes),
        row_ids=dataset.row_ids,
        **extra,
    )
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        (np.savez_compressed if compress else np.savez)(f, **arrays)
    return path


def read_npz(path: Path, *, report: LoadReport | None = None) -> FERDataset:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in NPZ_KEYS if k not in data.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)}; expected an edgefer dataset .npz")
            arrays = {k: data[k] for k in NPZ_KEYS}
    except (OSError, ValueError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz dataset ({error})") from None
    try:
        return FERDataset(
            images=arrays["images"],
            labels=arrays["labels"],
            usage=arrays["usage"],
            classes=tuple(arrays["classes"].tolist()),
            row_ids=arrays["row_ids"],
            report=report or LoadReport(source=str(path), format="npz"),
        )
    except ValueError as error:
        raise DataError(f"{path}: {error}") from None
