"""research/blazeface_int8.py: the TensorFlow rebuild of BlazeFace does what the shipped TFLite file does."""

import numpy as np
import pytest

from edgefer.predictor import find_blazeface, load_interpreter
from helpers import research_script


def test_the_rebuilt_graph_gives_the_tflite_outputs():
    tf = pytest.importorskip("tensorflow")
    function = research_script("blazeface_int8").tf_graph(find_blazeface())
    x = np.random.default_rng(1).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
    interpreter, _ = load_interpreter(find_blazeface(), 1)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    reference = {int(d["shape"][-1]): interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
    boxes, logits = (t.numpy() for t in function(tf.constant(x)))
    assert np.abs(boxes - reference[16]).max() < 1e-3 and np.abs(logits - reference[1]).max() < 1e-3
