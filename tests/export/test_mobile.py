"""Artifacts phone toolchains load as they are: RGB input with gray inside (the same outputs as the gray network),
standard TFLite metadata with the labels, and a real client, MediaPipe Tasks' ImageClassifier, where it is installed.

MediaPipe cannot share a virtual environment with edgefer[train] (its OpenCV 5 replaces the 4.x that the Haar
detector needs), so it runs in an interpreter of its own: $EDGEFER_MEDIAPIPE_PYTHON, else .venv-mediapipe/bin/python
in the checkout (.ci/run makes it: `pip install mediapipe`); the test skips where neither exists.
"""

import json
import os
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgefer.data.sample import SAMPLE_PATH
from edgefer.export.rgb_input import LUMA, input_channels, rgb_input
from edgefer.export.tflite_metadata import COLOR_RGB, CONTENT_IMAGE, FILE_TENSOR_AXIS_LABELS, read_metadata
from edgefer.predictor import PACKAGED_MODELS, EmotionPredictor, TFLiteModel, packaged_model_path, read_model_meta

REPO = Path(__file__).resolve().parents[2]


def _run(model_bytes: bytes, batch: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    interpreter.allocate_tensors()
    model = TFLiteModel(interpreter)
    return np.concatenate([model.run(model.quantize(batch[i:i + 1])) for i in range(len(batch))])


def test_luma_weights_sum_to_one_and_are_close_to_itu_601():
    assert sum(LUMA) == pytest.approx(1.0, abs=1e-12)
    assert np.abs(np.array(LUMA) - [0.299, 0.587, 0.114]).max() < 0.006


@pytest.mark.parametrize("fmt", ["fp32", "int8", "dynamic", "fp16"])
def test_rgb_input_gives_the_gray_networks_outputs(trained_run, fmt):
    """The gray-input flatbuffer and its RGB copy on the same faces (gray in three equal channels)."""
    from edgefer.core.keras_env import import_keras
    from edgefer.export import formats

    keras = import_keras()
    model = keras.saving.load_model(trained_run / "model.keras", safe_mode=True)
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (24, 48, 48, 1), dtype=np.uint8)
    convert = {"fp32": lambda m, c: formats.tflite_fp32(m), "int8": formats.tflite_int8,
               "dynamic": formats.tflite_dynamic, "fp16": formats.tflite_fp16}[fmt]
    gray = convert(model, faces)
    rgb = rgb_input(gray)
    assert input_channels(gray) == 1 and input_channels(rgb) == 3 and rgb_input(rgb) == rgb
    before, after = _run(gray, faces), _run(rgb, np.repeat(faces, 3, axis=-1))
    if fmt == "int8":
        assert np.array_equal(before, after)  # bit for bit: 218 * g requantized by 1/218
    elif fmt == "dynamic":  # activations quantized per call from their range: float luma moves it by an ulp
        assert (before.argmax(1) == after.argmax(1)).mean() >= 0.95 and np.abs(before - after).mean() < 0.01
    else:
        assert np.allclose(before, after, atol=1e-4)


@pytest.mark.parametrize("name", list(PACKAGED_MODELS))
def test_packaged_models_take_rgb_and_carry_standard_metadata(name):
    path = packaged_model_path(name)
    data = path.read_bytes()
    assert input_channels(data) == 3
    meta = read_metadata(data)
    card = read_model_meta(path)
    assert meta["input"]["content"] == CONTENT_IMAGE and meta["input"]["color_space"] == COLOR_RGB
    assert meta["output"]["files"] == [("labels.txt", FILE_TENSOR_AXIS_LABELS)] and meta["files"] == ["model.json"]
    with zipfile.ZipFile(path) as archive:
        labels = archive.read("labels.txt").decode().split()
    assert labels == card["classes"] and card["input"]["shape"] == [None, 48, 48, 3]


def test_exported_tflite_artifacts_take_rgb_and_the_predictor_gives_gray_faces_the_same_labels(exported):
    folder, results = exported
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        faces = sample["images"][::20]
    for fmt in ("fp32", "int8", "dynamic", "fp16"):
        if results[fmt].status != "ok":
            continue
        path = folder / results[fmt].file
        data = path.read_bytes()
        assert input_channels(data) == 3 and read_metadata(data)["output"]["files"][0][0] == "labels.txt", fmt
        predictor = EmotionPredictor(path)
        assert predictor.channels == 3 and predictor.classes == read_model_meta(path)["classes"]
        as_rgb = [p.label for p in predictor.predict_batch([np.repeat(f[..., None], 3, -1) for f in faces])]
        assert [p.label for p in predictor.predict_batch(faces)] == as_rgb, fmt


def test_standard_labels_alone_name_the_classes(tmp_path):
    """A model whose associated files hold only a label file (written by other tools) gets its class names."""
    data = packaged_model_path("default").read_bytes()
    end = data.index(b"PK\x03\x04")  # the flatbuffer, without edgefer's associated files
    path = tmp_path / "other.tflite"
    path.write_bytes(data[:end])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("labels.txt", "a\nb\nc\nd\ne\nf\ng\n")
    assert read_model_meta(path) == {"classes": list("abcdefg")}
    assert EmotionPredictor(path).classes == list("abcdefg")


def _mediapipe_python() -> str | None:
    for candidate in (os.environ.get("EDGEFER_MEDIAPIPE_PYTHON"), str(REPO / ".venv-mediapipe" / "bin" / "python")):
        if candidate and Path(candidate).is_file():
            probe = subprocess.run([candidate, "-c", "import mediapipe"], capture_output=True)
            if probe.returncode == 0:
                return candidate
    return None


MEDIAPIPE_CLASSIFY = r"""
import glob, json, sys
import mediapipe as mp
from mediapipe.tasks import python as mp_python
from mediapipe.tasks.python import vision
options = vision.ImageClassifierOptions(base_options=mp_python.BaseOptions(model_asset_path=sys.argv[1]), max_results=1)
out = {}
with vision.ImageClassifier.create_from_options(options) as classifier:
    for path in sorted(glob.glob(sys.argv[2] + "/*.png")):
        top = classifier.classify(mp.Image.create_from_file(path)).classifications[0].categories[0]
        out[path.rsplit("/", 1)[-1]] = top.category_name
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def sample_pngs(tmp_path_factory):
    """The sample's faces as RGB PNGs (MediaPipe takes SRGB images; a gray PNG becomes GRAY8 and is refused)."""
    folder = tmp_path_factory.mktemp("faces")
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        for i, face in enumerate(sample["images"][::2]):
            Image.fromarray(face).convert("RGB").save(folder / f"{i:03d}.png")
    return folder


def _agreement_with_mediapipe(model: Path, folder: Path) -> float:
    python = _mediapipe_python()
    if python is None:
        pytest.skip("MediaPipe not installed (set EDGEFER_MEDIAPIPE_PYTHON or make .venv-mediapipe: "
                    "python3 -m venv .venv-mediapipe && .venv-mediapipe/bin/pip install mediapipe)")
    done = subprocess.run([python, "-c", MEDIAPIPE_CLASSIFY, str(model), str(folder)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    predictor = EmotionPredictor(model)
    ours = {name: predictor.predict(folder / name).label for name in theirs}
    assert set(theirs.values()) <= set(predictor.classes)  # labels by name, from the metadata
    return float(np.mean([ours[n] == theirs[n] for n in theirs]))


@pytest.mark.parametrize("name", list(PACKAGED_MODELS))
def test_mediapipe_image_classifier_agrees_with_the_predictor_on_packaged_models(name, sample_pngs):
    assert _agreement_with_mediapipe(packaged_model_path(name), sample_pngs) >= 0.99


def test_mediapipe_image_classifier_loads_a_fresh_int8_export(exported, sample_pngs):
    folder, results = exported
    assert results["int8"].status == "ok"
    assert _agreement_with_mediapipe(folder / results["int8"].file, sample_pngs) >= 0.99


def test_onnx_for_accelerators_has_a_fixed_batch_and_the_qdq_form(exported):
    import onnx

    folder, results = exported
    for fmt in ("onnx-b1", "onnx-qdq"):
        assert results[fmt].status == "ok", results[fmt].reason
        model = onnx.load(folder / results[fmt].file)
        dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        assert dims == [1, 48, 48, 1], fmt
    ops = {node.op_type for node in onnx.load(folder / results["onnx-qdq"].file).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and not any(op.startswith("QLinear") for op in ops)
    qoperator = {node.op_type for node in onnx.load(folder / results["onnx-int8"].file).graph.node}
    assert any(op.startswith("QLinear") for op in qoperator)  # today's CPU form stays beside it
    # What ONNX Runtime's mobile check places on NNAPI / CoreML, as `edgefer export` reports it.
    dynamic, fixed = results["onnx"].accelerators, results["onnx-b1"].accelerators
    assert dynamic["nnapi"] == 0.0 and fixed["nnapi"] >= 0.9 and fixed["coreml"] >= 0.9
    assert results["onnx-qdq"].accelerators["nnapi"] > results["onnx-int8"].accelerators["nnapi"]
