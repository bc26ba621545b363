"""Size, multiply-accumulates and batch-1 latency of the TFLite model at each input size and width, per format.

    python research/input_size_latency.py [--sizes 96,128,160,224] [--threads 1,2] [--runs 200]
    python research/input_size_latency.py --models mobilenetv2 --alphas 0.35,0.5,1.0 --sizes 64,96 --threads 1
    python research/input_size_latency.py --models mobilenetv2 --alphas 0.35,0.5,0.75,1.0 --sizes 48,64,80 \
        --formats int8,fp32 --threads 1 --out DIR      # the latency side of the student search, per CPU

Latency and size do not depend on the weight values, so each model is built with random weights
(`--weights none`), converted exactly as `edgefer export` does (int8: calibrated on the embedded sample's training
faces), and timed on LiteRT, batch 1, after warm-up. Which format is fastest depends on the CPU: int8 kernels gain
most where the CPU has int8 dot products (VNNI), fp32 XNNPACK kernels do not need them. MMAC: millions of
multiply-accumulates per face, counted from the file (`edgefer.core.compute`), the measure that carries across CPUs.
Accuracy per size needs a full training run per size; see docs/history/RESULTS.md for what was trained.
With --out DIR: input_size_latency.json and input_size_latency.png (latency and size against input size).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from edgefer.core.backends import TFLiteRunner
from edgefer.core.compute import count_macs
from edgefer.data.sample import SAMPLE_PATH
from edgefer.export.formats import EXPORT_FORMATS
from edgefer.train.backbones import BACKBONE_NAMES, get_backbone
from edgefer.train.config import TrainConfig
from edgefer.train.model import build_model


def sample_faces() -> tuple[np.ndarray, np.ndarray]:
    data = np.load(SAMPLE_PATH, allow_pickle=False)
    images = data["images"].reshape(-1, 48, 48, 1)
    train = data["usage"] == "Training"
    return images[train][:300], images[~train]


def latency(path: Path, faces: np.ndarray, threads: int, runs: int) -> float:
    runner = TFLiteRunner(path, num_threads=threads)
    for face in faces[:20]:
        runner.predict(face[None])
    times = []
    for i in range(runs):
        start = time.perf_counter()
        runner.predict(faces[i % len(faces)][None])
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="96,128,160,224")
    parser.add_argument("--models", default=",".join(BACKBONE_NAMES))
    parser.add_argument("--alphas", default="1.0", help="width multipliers (backbones that have them)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--formats", default="int8", help="export formats to time (int8, fp32, fp16, dynamic)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    calibration, faces = sample_faces()
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    alphas = [float(a) for a in args.alphas.split(",")]
    formats = args.formats.split(",")
    print(f"{'model':16s} {'alpha':>5s} {'size':>5s} {'format':>7s} {'MB':>6s} {'MMAC':>7s} "
          + " ".join(f"{f'p50 {t}T ms':>11s}" for t in threads))
    with tempfile.TemporaryDirectory() as tmp:
        for name, alpha in ((n, a) for n in args.models.split(",") for a in alphas):
            if alpha not in get_backbone(name).alphas:
                continue
            for size in (int(s) for s in args.sizes.split(",")):
                config = TrainConfig(model=name, img_size=size, weights="none", alpha=alpha)
                model = build_model(config, num_classes=7).full
                for fmt in formats:
                    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                        tflite = EXPORT_FORMATS[fmt].convert(model, calibration)
                    path = Path(tmp) / f"{name}_{alpha:g}_{size}_{fmt}.tflite"
                    path.write_bytes(tflite)
                    row = {"model": name, "alpha": alpha, "img_size": size, "format": fmt,
                           "mb": round(os.path.getsize(path) / 1e6, 3), "mmac": round(count_macs(path) / 1e6, 2),
                           "p50_ms": {str(t): round(latency(path, faces, t, args.runs), 3) for t in threads}}
                    rows.append(row)
                    print(f"{name:16s} {alpha:5g} {size:5d} {fmt:>7s} {row['mb']:6.2f} {row['mmac']:7.2f} "
                          + " ".join(f"{row['p50_ms'][str(t)]:11.3f}" for t in threads), flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "input_size_latency.json").write_text(json.dumps(rows, indent=1))
        plot(rows, threads, args.out / "input_size_latency.png")


def plot(rows: list[dict], threads: list[int], path: Path) -> None:
    from edgefer.core.plotting import pyplot, save_figure

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key in dict.fromkeys((r["model"], r.get("alpha", 1.0), r.get("format", "int8")) for r in rows):
        mine = [r for r in rows if (r["model"], r.get("alpha", 1.0), r.get("format", "int8")) == key]
        name, alpha, fmt = key
        name = (name if alpha == 1.0 else f"{name} a{alpha:g}") + f" {fmt}"
        sizes = [r["img_size"] for r in mine]
        for t in threads:
            left.plot(sizes, [r["p50_ms"][str(t)] for r in mine], marker="o", label=f"{name}, {t} thread(s)")
        right.plot(sizes, [r.get("mb", r.get("int8_mb")) for r in mine], marker="o", label=name)
    left.set(xlabel="input size (px)", ylabel="TFLite latency p50 (ms, batch 1)", title="latency vs input size")
    right.set(xlabel="input size (px)", ylabel="TFLite file (MB)", title="size vs input size")
    for ax in (left, right):
        ax.set_xticks(sorted({r["img_size"] for r in rows}))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, path)


if __name__ == "__main__":
    main()
