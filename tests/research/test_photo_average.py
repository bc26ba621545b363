"""research/photo_average.py: one model scores as edgefer bench --photos does, and a model averaged with itself is
that model."""

import pytest

from helpers import research_script


@pytest.fixture(scope="module")
def photo_average():
    return research_script("photo_average")


def test_a_model_averaged_with_itself_scores_as_the_model(photo_average, tmp_path):
    result = photo_average.score("sample", ["default", "default", "fast"], [0, 1], None, 5, tmp_path)
    accuracy = result["accuracy"]
    assert result["labelled"] > 30
    assert accuracy["average of default (0) + default (1)"] == accuracy["default (0)"] == accuracy["default (1)"]
    assert 0.2 < accuracy["default (0)"] <= 1 and 0.2 < accuracy["fast"] <= 1
