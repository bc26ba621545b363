"""Seconds per training step of the same batches fed to Keras three ways (TensorFlow backend).

generator - edgefer's PyDataset handed to `fit` as is: Keras wraps it in tf.data.Dataset.from_generator
            (what `edgefer train` did until 2026-12-02).
feed      - edgefer.train.data_feed.keras_feed: Dataset.range(n).map(numpy_function) over the same
            PyDataset, plus the callback that moves it to the next epoch (what it does now).
arrays    - the epoch's faces as one in-memory array (`fit(x, y)`): the reference, no Python per batch.

The model is the real one (edgefer.train.model, from scratch, every layer trainable, AdamW, label
smoothing) on random uint8 faces; weights and data values do not change the speed. Each way runs in
its own process (one after another in one process, a later way was slowed by the earlier ones' threads),
with one warm-up epoch, then `--steps` timed steps. Usage:

    python research/feed_speed.py --alpha 0.35 --img-size 64 [--steps 20] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np


def build(alpha: float, size: int):
    from edgefer.core.keras_env import import_keras
    from edgefer.train.config import TrainConfig
    from edgefer.train.model import build_model

    keras = import_keras()
    fer = build_model(TrainConfig(weights="none", recipe="scratch", img_size=size, alpha=alpha), 7)
    fer.base.trainable = True
    fer.full.compile(keras.optimizers.AdamW(1e-3), keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                     metrics=["accuracy"])
    return fer.full


def seconds_per_step(way: str, alpha: float, size: int, steps: int, batch: int) -> float:
    from edgefer.train.augment import augment_spec
    from edgefer.train.data_feed import keras_feed, make_batches

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (steps * batch, 48, 48), dtype=np.uint8)
    labels = np.eye(7, dtype=np.float32)[rng.integers(0, 7, len(faces))]
    model = build(alpha, size)
    if way == "arrays":
        x = faces[..., None].astype(np.float32)
        model.fit(x[: 2 * batch], labels[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(x, labels, batch_size=batch, epochs=1, verbose=0)
        return (time.perf_counter() - start) / steps
    batches = make_batches(faces, labels, batch_size=batch, shuffle=True, augment=augment_spec("standard"))
    data, callbacks = (batches, []) if way == "generator" else keras_feed(batches)
    model.fit(data, epochs=1, callbacks=callbacks, shuffle=False, verbose=0)  # warm-up: tracing
    start = time.perf_counter()
    model.fit(data, initial_epoch=1, epochs=2, callbacks=callbacks, shuffle=False, verbose=0)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--ways", nargs="+", default=["generator", "feed", "arrays"])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: time this way in this process
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.one:
        print(f"{seconds_per_step(args.one, args.alpha, args.img_size, args.steps, args.batch_size):.3f}")
        return
    from edgefer.core.run_folder import machine_info

    print(f"MobileNetV2 a{args.alpha:g} at {args.img_size} px, batch {args.batch_size}, {args.steps} steps, "
          f"backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, {os.cpu_count()} CPUs, {machine_info()['cpu']}")
    for way in args.ways:
        cmd = [sys.executable, __file__, "--one", way, "--alpha", str(args.alpha), "--img-size", str(args.img_size),
               "--steps", str(args.steps), "--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
        print(f"{way:9s} {float(out[-1]):.3f} s/step", flush=True)


if __name__ == "__main__":
    main()
