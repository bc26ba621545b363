"""research/teacher_views.py: the views a teacher is scored on are the faces moved, mirrored and zoomed, not others."""

import numpy as np
import pytest

from helpers import research_script


@pytest.fixture(scope="module")
def views():
    return research_script("teacher_views")


def test_a_shift_moves_the_face_and_repeats_the_edge(views):
    faces = np.arange(2 * 48 * 48, dtype=np.uint8).reshape(2, 48, 48, 1)
    down = views.shifted(faces, 2, 0)  # content from 2 rows further down
    np.testing.assert_array_equal(down[:, :46], faces[:, 2:])
    np.testing.assert_array_equal(down[:, 46:], np.repeat(faces[:, 47:], 2, axis=1))
    np.testing.assert_array_equal(views.shifted(faces, 0, 0), faces)


def test_twelve_views_of_the_same_faces_in_the_model_input_shape(views):
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 1), dtype=np.uint8)
    made = views.views_of(faces)
    assert len(made) == 12 and all(v.shape == faces.shape and v.dtype == np.uint8 for v in made.values())
    np.testing.assert_array_equal(made["flip"], faces[:, :, ::-1])
    np.testing.assert_array_equal(made["shift +0,+2 flip"], views.shifted(faces[:, :, ::-1], 0, 2))
    flat = np.full((1, 48, 48, 1), 77, np.uint8)  # a zoom of a flat face is the same flat face
    np.testing.assert_array_equal(views.zoomed(flat, 1.1), flat)
