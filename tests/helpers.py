"""Helpers the tests share (importable as `helpers`: tests/ is on pytest's path), beside conftest.py's fixtures."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HEADER = "emotion,pixels,Usage"
SAMPLE = REPO / "edgefer" / "assets" / "fer2013_sample.npz"
FAST_BENCH = ["--runs", "3", "--warmup", "1", "--threads", "1"]


def real_data_dir() -> Path | None:
    """EDGEFER_DATA, else ../shared/data/fer2013 beside the checkout; None when absent."""
    candidate = Path(os.environ.get("EDGEFER_DATA", REPO.parent / "shared" / "data" / "fer2013"))
    return candidate if candidate.exists() else None


def faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 48), dtype=np.uint8)


def csv_line(label, pixels: np.ndarray | str, usage: str) -> str:
    text = pixels if isinstance(pixels, str) else " ".join(map(str, pixels.reshape(-1).tolist()))
    return f"{label},{text},{usage}"


def write_csv(path: Path, lines: list[str], header: str | None = HEADER) -> Path:
    text = "\n".join(([header] if header else []) + lines) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt", newline="") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def separable_faces(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class k is a bright cross: rows and columns 6k..6k+5 on a noisy background: easy to tell apart."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(7), per_class)
    images = rng.integers(0, 60, size=(len(labels), 48, 48)).astype(np.uint8)
    for i, k in enumerate(labels):
        images[i, 6 * k : 6 * k + 6, :] = 230
        images[i, :, 6 * k : 6 * k + 6] = 230
    return images, labels


def one_line_error(result, *needles):
    """Exit 2, no traceback, and one 'error:' line naming every needle."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert str(needle) in lines[0], (needle, lines[0])
    return lines[0]


def research_script(name: str):
    """A script of research/ (not an installed module) loaded as a module, for testing its functions (those tests run
    only with `pytest -m research`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "research" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def benchmark_script(name: str):
    """A script of benchmarks/ (not an installed module) loaded as a module, for testing its functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_BACKBONE = "tiny-cnn"


def register_test_backbone() -> None:
    """A three-convolution backbone in the registry, for the tests of training's machinery (resume, checkpoints,
    time budgets, faults, distillation): a tiny MobileNetV2 run costs about 30 s, nearly all of it graph tracing of
    its 150 layers, whatever its epochs; this one a few seconds. It is added to BACKBONES only (not BACKBONE_NAMES,
    so `--model all` and the registry-wide tests never see it); the real backbones keep their own tests."""
    from dataclasses import replace

    from edgefer.core.keras_env import import_keras
    from edgefer.train.backbones import BACKBONES

    def tiny_cnn(input_shape, include_top=False, weights=None, **_):
        keras = import_keras()
        x = face = keras.Input(input_shape)
        for i, filters in enumerate((8, 16, 32)):
            x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False, name=f"conv_{i}")(x)
            x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
            x = keras.layers.ReLU(6.0, name=f"relu_{i}")(x)
        return keras.Model(face, x, name="tiny_cnn")

    # the ResNet-18's entry (input scaled to [-1, 1], no ImageNet weights) with this network in it
    BACKBONES.setdefault(TEST_BACKBONE, replace(
        BACKBONES["resnet18"], name=TEST_BACKBONE, constructor=tiny_cnn, alphas=(1.0,), default_unfreeze=3,
        imagenet_file=lambda size, alpha=1.0: "none: a test backbone"))
