"""Shared fixtures: small generated FER2013 files in every form, and the real data when present."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
HEADER = "emotion,pixels,Usage"


def real_data_dir() -> Path | None:
    """EDGEFER_DATA, else ../shared/data/fer2013 beside the checkout; None when absent."""
    candidate = Path(os.environ.get("EDGEFER_DATA", REPO.parent / "shared" / "data" / "fer2013"))
    return candidate if candidate.exists() else None


@pytest.fixture
def real_data() -> Path:
    path = real_data_dir()
    if path is None:
        pytest.skip("real FER2013 not found (set EDGEFER_DATA or place it at ../shared/data/fer2013)")
    return path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own parse cache so tests never see each other's (or the user's) entries."""
    monkeypatch.setenv("EDGEFER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


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


@pytest.fixture
def small_csv(tmp_path) -> tuple[Path, np.ndarray, np.ndarray, list[str]]:
    """A valid 21-row CSV: 3 rows per class, Training and PublicTest mixed."""
    images = faces(21)
    labels = np.arange(21) % 7
    usage = ["PublicTest" if i % 3 == 0 else "Training" for i in range(21)]
    path = write_csv(tmp_path / "fer2013.csv", [csv_line(y, im, u) for y, im, u in zip(labels, images, usage)])
    return path, images, labels, usage


def separable_faces(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class k is a bright cross: rows and columns 6k..6k+5 on a noisy background: easy to tell apart."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(7), per_class)
    images = rng.integers(0, 60, size=(len(labels), 48, 48)).astype(np.uint8)
    for i, k in enumerate(labels):
        images[i, 6 * k : 6 * k + 6, :] = 230
        images[i, :, 6 * k : 6 * k + 6] = 230
    return images, labels


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A MobileNetV2 that really separates 7 synthetic classes, so agreement checks mean something."""
    from edgefer import FERDataset
    from edgefer.data.npz_format import save_npz
    from edgefer.train.config import TrainConfig
    from edgefer.train.training import train

    root = tmp_path_factory.mktemp("export")
    train_x, train_y = separable_faces(60, seed=1)
    test_x, test_y = separable_faces(10, seed=2)
    data = save_npz(FERDataset(images=np.concatenate([train_x, test_x]), labels=np.concatenate([train_y, test_y]),
                               usage=["Training"] * len(train_y) + ["PublicTest"] * len(test_y)), root / "sep.npz")
    config = TrainConfig(recipe="finetune", img_size=32, weights="none", mode="advanced", unfreeze="all", epochs=10, head_epochs=1,
                         fine_tune_learning_rate=2e-3, batch_size=16, data=str(data), out=str(root / "runs"))
    result = train(config)
    assert result.metrics["validation"]["accuracy"] > 0.9  # the checks below need a model that discriminates
    return result.run_dir


@pytest.fixture(scope="session")
def exported(trained_run, tmp_path_factory):
    from edgefer.export.formats import EXPORT_FORMATS
    from edgefer.export.run import export_run

    out = tmp_path_factory.mktemp("artifacts")
    folder, results = export_run(trained_run, list(EXPORT_FORMATS), out=out, calib_samples=200, check_samples=84)
    return folder, {r.format: r for r in results}


def _shared_fixture_group(item) -> str | None:
    """The xdist group of a test that uses one of this suite's costly shared fixtures: "session" for a
    session-scoped one (the trained and exported model, built once), else its module for a module-scoped one."""
    scopes = {defs[-1].scope for defs in item._fixtureinfo.name2fixturedefs.values()
              if defs and defs[-1].baseid.startswith("tests")}  # this suite's fixtures, not pytest's own
    if "session" in scopes:
        return "session"
    if "module" in scopes:
        return item.module.__name__
    return None


def pytest_collection_modifyitems(config, items):
    """With `pytest -n 2 --dist loadgroup` (the README's command), the tests that share a costly fixture run on
    one worker, so each such fixture is built once, not once per worker; the other tests spread over both."""
    for item in items:
        group = _shared_fixture_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
