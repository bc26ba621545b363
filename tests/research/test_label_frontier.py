"""research/label_frontier.py: mixtures of recorded teachers scored against both label sources, and the verdict on a
target no mixture reaches."""

import json

import numpy as np
import pytest

from edgefer.data.classes import FER2013_CLASSES, FERPLUS_CLASSES
from helpers import research_script


@pytest.fixture(scope="module")
def frontier():
    return research_script("label_frontier")


def one_hot(labels, n=7, sure=0.9):
    probs = np.full((len(labels), n), (1 - sure) / (n - 1))
    probs[np.arange(len(labels)), labels] = sure
    return probs


def test_two_experts_mix_along_the_line_and_a_target_beyond_it_is_not_reached(frontier):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 400)
    majority = np.where(rng.random(400) < 0.6, labels, (labels + 1) % 7)  # the sources agree on about 60%
    majority[:10] = -1  # no majority among the seven emotions: left out of the FER+ column
    probs = {"fer13": one_hot(labels), "plus": one_hot(np.where(majority >= 0, majority, labels), sure=0.6)}
    score = frontier.scorer(labels, majority)
    result = frontier.frontier(probs, score, samples=200, seed=0, targets=[("easy", 50, 50), ("hard", 99, 99)])

    assert result["singles"]["fer13"]["fer2013"] == 100 and result["singles"]["plus"]["ferplus"] == 100
    assert result["fer2013_side"] == ["fer13"] and result["ferplus_side"] == ["plus"]
    sweep = result["sweep"]
    assert sweep[0]["ferplus"] == 100 and sweep[-1]["fer2013"] == 100  # w = 0: the FER+ side alone; w = 1: FER2013's
    # a face can be right for both sources only where they agree: no mixture passes the agreement's ceiling
    voted = majority >= 0
    per_face = np.where(~voted, 1 / len(labels), np.where(labels == majority, 1 / len(labels) + 1 / voted.sum(),
                                                           1 / voted.sum()))
    assert result["best_sum"]["sum_pp"] <= 100 * per_face.sum() + 1e-9
    assert result["best_sum"]["sum_pp"] >= 200 - 100 * (labels != majority)[voted].mean() - 1  # the sweep's ends
    assert result["closest_to_target"]["easy"]["margin_pp"] >= 0
    assert result["closest_to_target"]["hard"]["margin_pp"] < 0
    assert len(result["cloud"]) == 200


def recording(path, rows, probs, classes):
    np.savez(path, row_ids=np.array(rows), probs=np.asarray(probs, np.float32), tta=np.array("flip"),
             source=np.array(path.name), classes=np.array(classes))


def test_a_recording_without_the_test_faces_is_one_line_naming_the_file(frontier, tmp_path):
    path = tmp_path / "short.npz"
    recording(path, [1, 2], np.full((2, 7), 1 / 7), FER2013_CLASSES)
    with pytest.raises(SystemExit, match=r"short.npz: no recorded targets for data row 3 \(1 rows missing\)"):
        frontier.recorded_on(path, np.array([1, 2, 3]))


def test_an_eight_class_ferplus_recording_is_scored_on_the_seven_emotions(frontier, tmp_path):
    path = tmp_path / "ferplus.npz"
    probs = np.array([[0.1, 0, 0, 0.2, 0, 0, 0.2, 0.5], [0, 0, 0, 0.5, 0, 0, 0, 0.5]])
    recording(path, [7, 9], probs, FERPLUS_CLASSES)
    seven = frontier.recorded_on(path, np.array([9, 7]))
    np.testing.assert_allclose(seven, [[0, 0, 0, 1, 0, 0, 0], [0.2, 0, 0, 0.4, 0, 0, 0.4]], atol=1e-6)


def test_bench_points_take_the_artifacts_with_both_label_sources(frontier, tmp_path):
    bench = {"artifacts": [
        {"name": "a.tflite", "status": "ok", "accuracy": 0.65, "ferplus_majority": {"accuracy": 0.8}},
        {"name": "b.tflite", "status": "ok", "accuracy": 0.6},
        {"name": "c.tflite", "status": "failed"}]}
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    assert frontier.bench_points(tmp_path / "bench.json") == [{"name": "a.tflite", "fer2013": 65.0, "ferplus": 80.0}]
