"""Simple-mode training speed: cached backbone features vs. running the frozen base every epoch.

For each input size:
  cached   - the real pipeline, `edgefer train --mode simple` on the full data, in a subprocess:
             one-off feature extraction time, seconds per head epoch, peak RSS of the process.
  uncached - the same frozen-base model fitted on images (`--no-feature-cache` path): time of
             --steps real batches, extrapolated to one epoch of the full training split.
Weights are random (`--weights none`: no ImageNet download here); speed and memory do not depend
on the weight values. Usage:

    python research/train_speed.py --data ../shared/data/fer2013 --sizes 224 96 [--model mobilenetv2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cached_run(data: Path, model: str, size: int, epochs: int, out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cmd = [sys.executable, "-m", "edgefer.cli", "train", "--data", str(data), "--model", model, "--mode", "simple",
           "--weights", "none", "--img-size", str(size), "--epochs", str(epochs), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    run_dir = next(out.glob(f"{model}-simple*"))
    run = json.loads((run_dir / "run.json").read_text())
    lines = (run_dir / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    seconds = [float(line.split(",")[header.index("seconds")]) for line in lines[1:]]
    return {"wall": wall, "extract": run["feature_extraction_seconds"], "epoch": min(seconds),
            "peak_rss_mb": peak_mb if peak_mb > before / 1024 else float("nan"), "train_n": run["data"]["train"]}


def uncached_epoch(data: Path, model: str, size: int, steps: int, batch: int) -> float:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from edgefer.data.loading import load_dataset
    from edgefer.data.splits import split_dataset
    from edgefer.train.config import TrainConfig
    from edgefer.train.data_feed import make_batches, one_hot
    from edgefer.train.model import build_model

    splits = split_dataset(load_dataset(data), seed=0)
    fer = build_model(TrainConfig(model=model, img_size=size, weights="none"), 7)
    fer.full.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    n = (steps + 2) * batch
    batches = make_batches(splits.train.images[:n], one_hot(splits.train.labels[:n], 7), batch_size=batch, shuffle=True)
    fer.full.fit(batches, steps_per_epoch=2, epochs=1, verbose=0)  # warm-up: graph tracing
    start = time.perf_counter()
    fer.full.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    per_step = (time.perf_counter() - start) / steps
    return per_step * math.ceil(len(splits.train) / batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="FER2013 in any form edgefer reads")
    parser.add_argument("--model", default="mobilenetv2")
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 96])
    parser.add_argument("--epochs", type=int, default=3, help="head epochs of the cached run")
    parser.add_argument("--steps", type=int, default=30, help="batches timed for the uncached estimate")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    print(f"model {args.model}, data {args.data}, batch {args.batch_size}, {os.cpu_count()} CPUs")
    print("size | uncached s/epoch | cached s/epoch (head) | speed-up | one-off extraction s | peak RSS MB (cached run)")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as out:
            cached = cached_run(args.data, args.model, size, args.epochs, Path(out))
        uncached = uncached_epoch(args.data, args.model, size, args.steps, args.batch_size)
        print(f"{size:4d} | {uncached:16.1f} | {cached['epoch']:21.2f} | {uncached / cached['epoch']:7.0f}x "
              f"| {cached['extract']:20.1f} | {cached['peak_rss_mb']:8.0f}", flush=True)


if __name__ == "__main__":
    main()
