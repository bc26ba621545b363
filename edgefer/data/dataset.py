"""The in-memory FER dataset every reader produces: 48x48 uint8 faces, int labels, split names.

One container for all input formats keeps the rest of the package (splits, training, export
calibration, benchmarks) ignorant of where the faces came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from edgefer.data.classes import FER2013_CLASSES

IMAGE_SIZE = 48
SPLIT_NAMES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")


@dataclass
class LoadReport:
    """What happened while loading: format, cache use, skipped/converted/dropped counts, timing."""

    source: str = ""
    format: str = ""
    label_source: str = "fer2013"
    cache_hit: bool = False
    cache_file: str | None = None
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    converted: int = 0
    ignored_files: int = 0
    dropped: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def note_skip(self, message: str, keep: int = 5) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < keep:
            self.skipped_examples.append(message)

    def lines(self) -> list[str]:
        """Human-readable summary lines, only for things that happened."""
        out = [f"source: {self.source} ({self.format}, labels: {self.label_source})"]
        out.append(f"loaded in {self.seconds:.2f} s" + (" from cache" if self.cache_hit else ""))
        if self.converted:
            out.append(f"converted {self.converted} image(s) to 48x48 grayscale")
        if self.ignored_files:
            out.append(f"ignored {self.ignored_files} non-image file(s)")
        if self.skipped:
            out.append(f"skipped {self.skipped} bad row(s)/file(s), e.g.:")
            out.extend(f"  {m}" for m in self.skipped_examples)
        if self.dropped:
            why = ", ".join(f"{k}: {v}" for k, v in self.dropped_reasons.items())
            out.append(f"dropped {self.dropped} row(s) without a usable FER+ label ({why})")
        elif self.label_source == "blend":
            kept = sum(self.dropped_reasons.values())
            out.append("targets: each face's FER2013 label blended with its FER+ votes"
                       + (f" ({kept} face(s) without a usable vote keep their label alone)" if kept else ""))
        return out


@dataclass
class FERDataset:
    """Faces `(N, 48, 48)` uint8, labels `(N,)` int64 indexing `classes`, split name per row.

    `row_ids` are the rows' positions in the source file (0-based data rows), kept so that
    row-aligned label files (FER+) still line up after rows were skipped or subset.
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    classes: tuple[str, ...] = FER2013_CLASSES
    row_ids: np.ndarray | None = None
    report: LoadReport = field(default_factory=LoadReport)
    # Soft labels (N, classes), each row a distribution, where the source has them (FER+: the annotators' votes).
    targets: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.images = np.asarray(self.images)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.usage = np.asarray(self.usage, dtype=str)
        n = len(self.images)
        if self.row_ids is None:
            self.row_ids = np.arange(n, dtype=np.int64)
        self.row_ids = np.asarray(self.row_ids, dtype=np.int64)
        if self.images.dtype != np.uint8 or self.images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must be uint8 (N, 48, 48), got {self.images.dtype} {self.images.shape}")
        if not (len(self.labels) == len(self.usage) == len(self.row_ids) == n):
            raise ValueError("images, labels, usage and row_ids must have the same length")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError(f"labels must lie in 0..{len(self.classes) - 1}")
        if self.targets is not None:
            self.targets = np.asarray(self.targets, dtype=np.float32)
            if self.targets.shape != (n, len(self.classes)):
                raise ValueError(f"targets must be (N, {len(self.classes)}), got {self.targets.shape}")
        self.classes = tuple(self.classes)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, index: np.ndarray) -> FERDataset:
        """Rows selected by an index or boolean mask; the report is shared."""
        return replace(
            self,
            images=self.images[index],
            labels=self.labels[index],
            usage=self.usage[index],
            row_ids=self.row_ids[index],
            targets=None if self.targets is None else self.targets[index],
        )

    def split(self, name: str) -> FERDataset:
        return self.subset(self.usage == name)

    def split_names(self) -> list[str]:
        """Splits present, in canonical order (Training, PublicTest, PrivateTest, then others)."""
        present = set(np.unique(self.usage).tolist())
        ordered = [s for s in SPLIT_NAMES if s in present]
        return ordered + sorted(present - set(ordered))

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)

    def counts_by_split(self) -> dict[str, np.ndarray]:
        return {s: self.split(s).class_counts() for s in self.split_names()}
