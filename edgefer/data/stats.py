"""Dataset statistics for `edgefer data info`: counts per split and class, duplicates, blanks.

Duplicates are exact pixel copies (hash of the 2,304 bytes). Cross-split copies matter: a
PublicTest face that also sits in Training inflates test accuracy.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np

from edgefer.data.dataset import FERDataset


@dataclass
class DuplicateStats:
    groups: int
    rows: int
    conflicting_label_groups: int
    cross_split_rows: dict[str, int]


@dataclass
class DatasetStats:
    classes: list[str]
    counts: dict[str, list[int]]
    totals: dict[str, int]
    duplicates: DuplicateStats
    blank_images: int
    all_zero_images: int

    def as_dict(self) -> dict:
        return asdict(self)


def duplicate_stats(dataset: FERDataset) -> DuplicateStats:
    groups: dict[bytes, list[int]] = defaultdict(list)
    for i, image in enumerate(dataset.images):
        groups[hashlib.blake2b(image.tobytes(), digest_size=16).digest()].append(i)
    repeated = [rows for rows in groups.values() if len(rows) > 1]
    conflicting = sum(len(set(dataset.labels[rows].tolist())) > 1 for rows in repeated)
    cross = defaultdict(int)
    for rows in repeated:
        splits = dataset.usage[rows]
        for split in set(splits.tolist()):
            if split != "Training" and "Training" in splits:
                cross[split] += int((splits == split).sum())
    return DuplicateStats(
        groups=len(repeated),
        rows=sum(len(r) for r in repeated),
        conflicting_label_groups=int(conflicting),
        cross_split_rows=dict(cross),
    )


def dataset_stats(dataset: FERDataset) -> DatasetStats:
    flat = dataset.images.reshape(len(dataset), -1)
    constant = flat.min(axis=1) == flat.max(axis=1) if len(dataset) else np.zeros(0, bool)
    counts = {split: c.tolist() for split, c in dataset.counts_by_split().items()}
    return DatasetStats(
        classes=list(dataset.classes),
        counts=counts,
        totals={split: int(sum(c)) for split, c in counts.items()},
        duplicates=duplicate_stats(dataset),
        blank_images=int(constant.sum()),
        all_zero_images=int((constant & (flat[:, 0] == 0)).sum()) if len(dataset) else 0,
    )


def counts_table(stats: DatasetStats):
    """Images per split and class, as the rich table `edgefer data info` prints."""
    from rich.table import Table

    table = Table(title="images per split and class")
    table.add_column("split")
    for name in stats.classes:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right", style="bold")
    for split, counts in stats.counts.items():
        table.add_row(split, *(f"{c:,}" for c in counts), f"{stats.totals[split]:,}")
    return table


def summary_lines(stats: DatasetStats) -> list[str]:
    """The duplicates and blank-image lines of `edgefer data info`."""
    dup = stats.duplicates
    cross = ", ".join(f"{n:,} {split} rows have an exact copy in Training" for split, n in dup.cross_split_rows.items())
    return [f"duplicates: {dup.groups:,} groups of identical images, {dup.rows:,} rows in all; "
            f"{dup.conflicting_label_groups:,} groups with conflicting labels" + (f"; {cross}" if cross else ""),
            f"blank images (one constant value): {stats.blank_images:,}, all zeros: {stats.all_zero_images:,}"]
