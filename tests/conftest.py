"""Shared fixtures: small generated FER2013 files in every form, and the real data when present; the tests' own
three-convolution backbone (helpers.register_test_backbone) for the tests of training's machinery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgefer import FERDataset
from edgefer.data.npz_format import save_npz
from helpers import csv_line, faces, real_data_dir, register_test_backbone, separable_faces, write_csv

register_test_backbone()


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








@pytest.fixture
def small_csv(tmp_path) -> tuple[Path, np.ndarray, np.ndarray, list[str]]:
    """A valid 21-row CSV: 3 rows per class, Training and PublicTest mixed."""
    images = faces(21)
    labels = np.arange(21) % 7
    usage = ["PublicTest" if i % 3 == 0 else "Training" for i in range(21)]
    path = write_csv(tmp_path / "fer2013.csv", [csv_line(y, im, u) for y, im, u in zip(labels, images, usage)])
    return path, images, labels, usage




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


def pytest_itemcollected(item):
    """With `pytest -n 2 --dist loadgroup` (the README's command), the tests that share a costly fixture run on
    one worker, so each such fixture is built once, not once per worker; the other tests spread over both. The marker
    is set as each test is collected: xdist reads the markers in its own pytest_collection_modifyitems, which ran
    before a conftest's (the groups were silently not applied, and the shared model was trained on both workers)."""
    group = _shared_fixture_group(item)
    if group is not None:
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="module")
def faces_npz(tmp_path_factory):
    images, labels = separable_faces(4, seed=21)
    return save_npz(FERDataset(images=images, labels=labels, usage=["PublicTest"] * len(labels)),
                    tmp_path_factory.mktemp("bad") / "faces.npz")


@pytest.fixture
def blocker(tmp_path):
    """A regular file where the command would need a folder."""
    path = tmp_path / "blocker"
    path.write_text("I am a file")
    return path


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """xdist 3.8 schedules `--dist loadgroup` by a "@group" suffix it adds to each marked test's node id by setting
    `item._nodeid`, which pytest 9 no longer reads (it keeps the id in `item._id`): every group was silently ignored
    and each worker built the shared trained model itself. On an xdist worker with loadgroup, add the suffix where
    pytest 9 keeps it (nothing to do on pytest 8, where xdist's own suffix works)."""
    loadgroup = getattr(config.option, "loadgroup", False) or getattr(config.option, "dist", "no") == "loadgroup"
    if not loadgroup or not hasattr(items[0] if items else None, "_id"):
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")
