"""research/ferplus_posthoc.py: a weighted mixture of recorded teachers must load as one recorded teacher."""

from argparse import Namespace

import numpy as np
import pytest

from edgefer.train.distill import load_teacher
from helpers import research_script


@pytest.fixture(scope="module")
def posthoc():
    return research_script("ferplus_posthoc")


def test_a_weighted_mixture_is_a_recorded_teacher_with_the_weighted_targets(posthoc, tmp_path):
    from edgefer.data.loading import load_dataset
    from edgefer.predictor import packaged_model_path
    from edgefer.train.distill import record_teacher

    dataset = load_dataset(None)
    paths = [str(record_teacher(packaged_model_path(name), dataset, tmp_path / f"{name}.npz"))
             for name in ("default", "fast")]
    posthoc.save_mixture(paths, np.array([0.75, 0.25]), tmp_path / "mix.npz")
    rows = dataset.row_ids[[3, 0, 11]]
    members = [load_teacher(path, 7).recorded(rows) for path in paths]
    mixture = load_teacher(tmp_path / "mix.npz", 7)
    np.testing.assert_allclose(mixture.recorded(rows), 0.75 * members[0] + 0.25 * members[1], atol=1e-6)
    np.testing.assert_allclose(mixture.recorded(rows).sum(axis=1), 1.0, atol=2e-3)  # int8 outputs: steps of 1/256
    assert "0.750 x default.npz" in mixture.source and not list(tmp_path.glob("*.tmp*"))


def test_recordings_of_different_faces_are_not_mixed(posthoc, tmp_path):
    for name, rows in (("a", [0, 1, 2]), ("b", [0, 1, 3])):
        np.savez(tmp_path / f"{name}.npz", row_ids=np.array(rows), probs=np.full((3, 7), 1 / 7, np.float32),
                 tta=np.array("flip"), source=np.array(name), classes=np.array(list("ABCDEFG")))
    with pytest.raises(SystemExit, match="b.npz: rows or classes differ"):
        posthoc.save_mixture([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")], np.array([0.5, 0.5]),
                             tmp_path / "mix.npz")
    assert not (tmp_path / "mix.npz").exists()


@pytest.fixture(scope="module")
def sample_splits():
    from edgefer.data.loading import load_dataset
    from edgefer.data.splits import split_dataset

    return split_dataset(load_dataset(None), val_fraction=0.2, seed=0, test_split="PublicTest")


def test_an_ensemble_of_recordings_without_the_test_faces_is_scored_on_the_splits_they_cover(posthoc, sample_splits,
                                                                                              tmp_path, capsys):
    """Recordings made on the GPU machine carry only 300 test faces: validation decides, the test split is skipped."""
    splits = sample_splits
    covered = np.concatenate([splits.train.row_ids, splits.val.row_ids])
    truth = np.concatenate([splits.train.labels, splits.val.labels])
    paths = []
    for name, right in (("sure", truth), ("wrong", (truth + 1) % 7)):
        probs = np.full((len(covered), 7), 0.02, np.float32)
        probs[np.arange(len(covered)), right] = 0.88
        np.savez(tmp_path / f"{name}.npz", row_ids=covered, probs=probs, tta=np.array("flip"),
                 source=np.array(name), classes=np.array(splits.train.classes))
        paths.append(str(tmp_path / f"{name}.npz"))
    posthoc.ensemble(Namespace(models=paths, weights="3,1", save=tmp_path / "mix.npz"), splits)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "not recorded for every face, so not scored: test"
    assert "sure train 100.00% val 100.00%" in lines and "wrong train 0.00% val 0.00%" in lines
    assert any(line.startswith("weighted 3,1: train 100.00% val 100.00%") for line in lines)
    assert load_teacher(tmp_path / "mix.npz", 7).recorded(splits.val.row_ids).shape == (len(splits.val.row_ids), 7)


def test_an_ensemble_needs_the_validation_faces_recorded(posthoc, sample_splits, tmp_path):
    rows = sample_splits.train.row_ids
    np.savez(tmp_path / "a.npz", row_ids=rows, probs=np.full((len(rows), 7), 1 / 7, np.float32),
             tta=np.array("flip"), source=np.array("a"), classes=np.array(sample_splits.train.classes))
    with pytest.raises(SystemExit, match="do not cover the validation faces"):
        posthoc.ensemble(Namespace(models=[str(tmp_path / "a.npz")], weights=None, save=None), sample_splits)
