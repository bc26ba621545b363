"""research/detector_views.py: the detector of an earlier commit loads from git beside the shipped one, and the
variants it measures change only what they name."""

import numpy as np
from PIL import Image

from edgefer.data.sample import SAMPLE_PATH
from edgefer.predictor import BlazeFaceDetector
from helpers import research_script


def test_the_earlier_detector_and_the_shipped_one_find_the_astronaut():
    before = research_script("detector_views").detector_at("361fb34")
    assert hasattr(before, "windows") and not hasattr(before, "views")  # whole view + squares: the old design
    frame = np.asarray(Image.open(SAMPLE_PATH.parent / "astronaut.jpg").convert("RGB"))
    old, new = before(num_threads=1).detect(frame), BlazeFaceDetector(num_threads=1).detect(frame)
    assert old and new
    assert abs(old[0].box[0] - new[0].box[0]) < 0.1 * old[0].box[2]


def test_variants_change_the_view_they_name():
    variant = research_script("detector_views").variant
    assert variant(size=96).views(100, 150)[0].view_h == 96
    assert variant(large_short=128).views(480, 640)[0].view_h == 128
    assert BlazeFaceDetector.views(480, 640)[0].view_h == 144
