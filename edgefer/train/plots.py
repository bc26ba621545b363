"""Training plots: loss/accuracy curves and a confusion matrix, written atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgefer.core.plotting import pyplot, save_figure


def plot_curves(history: list[dict], path: Path, title: str) -> Path:
    plt = pyplot()
    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, [r[metric] for r in history], marker="o", label=f"train {metric}")
        ax.plot(epochs, [r[f"val_{metric}"] for r in history], marker="o", label=f"validation {metric}")
        switch = [r["epoch"] for a, r in zip(history, history[1:]) if a["phase"] != r["phase"]]
        for x in switch:
            ax.axvline(x - 0.5, color="gray", linestyle="--", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_confusion(cm: np.ndarray, classes, path: Path, title: str) -> Path:
    plt = pyplot()
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.0 * len(classes) + 2, 1.0 * len(classes) + 1.5), layout="constrained")
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{cm[i, j]}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    return save_figure(fig, path)
