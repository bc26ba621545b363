"""Accuracy of any artifact (Keras, TFLite, ONNX) on a set of faces, with batched inference."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edgefer.core.backends import open_runner
from edgefer.core.evaluation import classification_metrics


def evaluate_artifact(path: Path, images: np.ndarray, labels: np.ndarray, classes, batch_size: int = 64,
                      num_threads: int | None = None) -> dict:
    """classification_metrics of the artifact on `images` (N, 48, 48) uint8, plus runtime and timing."""
    runner = open_runner(Path(path), num_threads)
    start = time.perf_counter()
    probs = runner.predict(images[..., None], batch_size=batch_size)
    seconds = time.perf_counter() - start
    metrics = classification_metrics(labels, probs.argmax(axis=1), classes)
    return {**metrics, "runtime": runner.runtime, "seconds": seconds, "predictions": probs.argmax(axis=1)}
