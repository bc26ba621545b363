"""`edgefer data show`: one face per class, the same faces at training size, and class histograms.

The upscaled row uses bilinear resizing, as the model's own Resizing layer does, so users see
what the network sees. Needs matplotlib (installed with the [train] extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgefer.core.plotting import pyplot, save_figure
from edgefer.data.dataset import FERDataset
from edgefer.predictor import resize


def one_face_per_class(dataset: FERDataset, seed: int = 0) -> list[int | None]:
    """Index of one randomly chosen (seeded) face per class, preferring Training rows; None if absent."""
    rng = np.random.default_rng(seed)
    picks = []
    for class_id in range(dataset.num_classes):
        members = np.flatnonzero(dataset.labels == class_id)
        training = members[dataset.usage[members] == "Training"]
        pool = training if len(training) else members
        picks.append(int(rng.choice(pool)) if len(pool) else None)
    return picks


def upscale(face: np.ndarray, size: int) -> np.ndarray:
    return np.clip(np.round(resize(face, size, size)), 0, 255).astype(np.uint8)


def show_dataset(dataset: FERDataset, out: Path, *, img_size: int = 224, seed: int = 0) -> Path:
    plt = pyplot()
    picks = one_face_per_class(dataset, seed)
    n = dataset.num_classes
    fig = plt.figure(figsize=(1.9 * n, 7.6), layout="constrained")
    grid = fig.add_gridspec(3, n, height_ratios=[1, 1, 1.4])
    for col, (name, index) in enumerate(zip(dataset.classes, picks)):
        for row, (size, caption) in enumerate([(48, "48x48"), (img_size, f"{img_size}x{img_size}")]):
            ax = fig.add_subplot(grid[row, col])
            ax.set_xticks([]), ax.set_yticks([])
            if index is None:
                ax.text(0.5, 0.5, "none", ha="center", va="center")
                continue
            face = dataset.images[index]
            ax.imshow(face if size == 48 else upscale(face, size), cmap="gray", vmin=0, vmax=255,
                      interpolation="nearest")
            ax.set_title(f"{name}\n{caption}" if row == 0 else caption, fontsize=9)
    ax = fig.add_subplot(grid[2, :])
    splits = dataset.counts_by_split()
    width = 0.8 / max(len(splits), 1)
    for i, (split, counts) in enumerate(splits.items()):
        bars = ax.bar(np.arange(n) + i * width, counts, width, label=f"{split} ({counts.sum():,})")
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(np.arange(n) + width * (len(splits) - 1) / 2, dataset.classes)
    ax.set_ylabel("images")
    ax.set_title("images per class")
    ax.legend()
    fig.suptitle(f"{dataset.report.source}: one face per class; bottom row as the network sees it")
    return save_figure(fig, out)
