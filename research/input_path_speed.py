"""Input path of a training epoch, before and after: per-batch Keras augmentation layers vs numpy per epoch.

before - what `edgefer train --mode advanced` did until the scratch recipe: a one-worker PyDataset ran
         Keras preprocessing layers (flip, rotation, zoom, translation, brightness, contrast) on every
         batch of 48x48 faces (the layers are rebuilt here exactly as they were).
after  - edgefer.train.data_feed today: edgefer.train.augment's numpy flip / shift / erasing once per epoch on the
         whole uint8 array, then a slice and a cast per batch.

Both are timed over one epoch of the training faces, without the model. The share of an epoch is taken
against the model's own time per epoch, from a run's history.csv (`--run`: its median `seconds`,
which already includes the after-path's input time recorded in `input_seconds`) or measured here on
`--steps` batches (`--img-size`). Usage:

    python research/input_path_speed.py --data ../shared/data/fer2013 --run RUN_DIR
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013"


def keras_layers_augmenter(seed: int):
    """The per-batch augmentation edgefer used before (edgefer/train/data_feed.py up to the scratch recipe)."""
    import keras

    layers = keras.layers
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(0.05, fill_mode="nearest", seed=seed + 1),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 2),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 3),
        layers.RandomBrightness(0.1, value_range=(0, 255), seed=seed + 4),
        layers.RandomContrast(0.1, value_range=(0, 255), seed=seed + 5),
    ])


def before_epoch(faces: np.ndarray, batch: int) -> float:
    import keras

    augmenter = keras_layers_augmenter(0)
    order = np.random.default_rng(0).permutation(len(faces))
    start = time.perf_counter()
    for i in range(0, len(faces), batch):
        x = faces[order[i : i + batch]][..., None].astype(np.float32)
        keras.ops.convert_to_numpy(augmenter(x, training=True))
    return time.perf_counter() - start


def after_epoch(faces: np.ndarray, batch: int, labels: np.ndarray) -> float:
    from edgefer.train.augment import AUGMENT_PRESETS
    from edgefer.train.data_feed import make_batches

    start = time.perf_counter()
    batches = make_batches(faces, labels, batch_size=batch, shuffle=True, seed=0, augment=AUGMENT_PRESETS["standard"])
    for i in range(len(batches)):
        batches[i]
    return time.perf_counter() - start


def model_epoch_from_run(run: Path) -> tuple[float, float]:
    with open(run / "history.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("seconds")]
    seconds = statistics.median(float(r["seconds"]) for r in rows[1:] or rows)  # epoch 1 includes tracing
    recorded = [float(r["input_seconds"]) for r in rows if r.get("input_seconds")]
    return seconds, statistics.median(recorded) if recorded else float("nan")


def model_epoch_measured(n: int, batch: int, img_size: int, steps: int) -> float:
    import keras

    from edgefer.train.config import TrainConfig
    from edgefer.train.model import build_model
    from edgefer.train.training import make_optimizer

    fer = build_model(TrainConfig(weights="none", img_size=img_size), 7)
    fer.base.trainable = True
    fer.full.compile(optimizer=make_optimizer(keras, "adamw", 2e-3, 0.05), loss="categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 256, (batch * (steps + 2), 48, 48, 1)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[np.arange(len(x)) % 7]
    fer.full.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0)  # tracing
    start = time.perf_counter()
    fer.full.fit(x[2 * batch :], y[2 * batch :], batch_size=batch, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps * -(-n // batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--run", type=Path, help="a run folder whose history.csv gives the model's epoch time")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from edgefer.core.run_folder import machine_info
    from edgefer.data.loading import load_dataset
    from edgefer.data.splits import split_dataset

    train = split_dataset(load_dataset(args.data), val_fraction=args.val_fraction, seed=0).train
    labels = np.eye(7, dtype=np.float32)[train.labels]
    cpu = machine_info()["cpu"]
    flags = open("/proc/cpuinfo").read()
    kind = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    print(f"{len(train):,} training faces, batch {args.batch_size}, {os.cpu_count()} CPUs ({cpu}, {kind})")
    before = before_epoch(train.images, args.batch_size)
    after = after_epoch(train.images, args.batch_size, labels)
    if args.run:
        model, recorded = model_epoch_from_run(args.run)
        source = f"median epoch of {args.run} (recorded input_seconds {recorded:.2f} s)"
        model -= recorded if np.isfinite(recorded) else 0.0  # the run's epochs already hold the after-path
    else:
        model = model_epoch_measured(len(train), args.batch_size, args.img_size, args.steps)
        source = f"{args.steps} steps at {args.img_size} px, extrapolated"
    print(f"model compute per epoch: {model:.1f} s ({source})")
    print("path   | input s/epoch | share of an epoch")
    for name, seconds in (("before", before), ("after", after)):
        print(f"{name:6s} | {seconds:13.2f} | {seconds / (seconds + model):.1%}")


if __name__ == "__main__":
    main()
