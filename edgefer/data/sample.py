"""The embedded FER2013 sample: a few hundred real faces shipped in the package.

It lets every command run on a fresh machine with no download and no data path. It is drawn
stratified from the real FER2013 file by `make_sample` (see edgefer/assets/README.md for the
exact command and origin); `row_ids` keep each face's row in the source CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgefer.data.dataset import FERDataset
from edgefer.data.splits import stratified_pick

SAMPLE_PATH = Path(__file__).resolve().parents[1] / "assets" / "fer2013_sample.npz"


def stratified_sample(dataset: FERDataset, per_class: dict[str, int], seed: int = 0) -> FERDataset:
    """Up to `per_class[split]` rows of every class from each named split, seeded; source order kept."""
    rng = np.random.default_rng(seed)
    chosen = []
    for split, count in per_class.items():
        rows = np.flatnonzero(dataset.usage == split)
        chosen.append(rows[stratified_pick(dataset.labels[rows], lambda n: count, rng)])
    return dataset.subset(np.sort(np.concatenate(chosen)))
