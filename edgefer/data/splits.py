"""Train / validation / test splits: Training split 80/20 stratified and seeded; test = PublicTest.

The stratified split keeps each class's share in both parts (Disgust is 1.5% of Training), and the
same seed gives the same rows on every machine (numpy's PCG64 generator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgefer.data.dataset import FERDataset
from edgefer.errors import DataError

TEST_SPLITS = ("PublicTest", "PrivateTest")


@dataclass
class DataSplits:
    train: FERDataset
    val: FERDataset
    test: FERDataset | None


def stratified_pick(labels: np.ndarray, count_for_class: Callable[[int], int], rng: np.random.Generator) -> np.ndarray:
    """Sorted indices: from each class present, `count_for_class(its size)` members drawn at random.

    The one stratified sampler: validation splits, export calibration/check faces and the embedded
    sample all draw through it (one permutation per class, in class order, from `rng`)."""
    picked = []
    for class_id in np.unique(labels):
        members = np.flatnonzero(labels == class_id)
        picked.append(rng.permutation(members)[: count_for_class(len(members))])
    return np.sort(np.concatenate(picked)) if picked else np.array([], dtype=np.int64)


def stratified_indices(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held_out) index arrays; each class contributes round(fraction * its count) to held_out."""
    held = stratified_pick(labels, lambda n: int(round(fraction * n)), np.random.default_rng(seed))
    return np.setdiff1d(np.arange(len(labels)), held), held


def stratified_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """About `n` indices with the class proportions of `labels` (all of them when n >= len(labels))."""
    if n >= len(labels):
        return np.arange(len(labels))
    return stratified_indices(labels, n / len(labels), seed)[1]


def split_dataset(
    dataset: FERDataset, *, val_fraction: float = 0.2, seed: int = 0, test_split: str = "PublicTest"
) -> DataSplits:
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"validation fraction must be in (0, 1), got {val_fraction}")
    if test_split not in TEST_SPLITS:
        raise DataError(f"test split must be one of {', '.join(TEST_SPLITS)}, got {test_split!r}")
    present = dataset.split_names()
    if "Training" not in present:
        raise DataError(f"{dataset.report.source}: no Training rows (splits present: {', '.join(present)})")
    if test_split not in present:
        raise DataError(
            f"{dataset.report.source}: no {test_split} rows; this data has {', '.join(present)}"
        )
    training = dataset.split("Training")
    kept, held = stratified_indices(training.labels, val_fraction, seed)
    return DataSplits(train=training.subset(kept), val=training.subset(held), test=dataset.split(test_split))


def run_splits(dataset: FERDataset, config: dict) -> DataSplits:
    """The splits a finished run trained on, from its run.json `config`: its `split_seed`, or its `seed` for runs
    made before --split-seed existed (they split by the training seed)."""
    split_seed = config["seed"] if config.get("split_seed") is None else config["split_seed"]
    return split_dataset(dataset, val_fraction=config["val_fraction"], seed=split_seed,
                         test_split=config["test_split"])
