"""face-api.js's expression model as a peer: the conversion script and the photo bench's `faceapi` pipeline.

Needs the face-api.js weights (MIT), found at ../shared/models/faceapi-expression or $EDGEFER_FACEAPI_WEIGHTS; skips
without them (they are not part of edgefer)."""

import os
from pathlib import Path

import numpy as np
import pytest

from helpers import benchmark_script

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = Path(os.environ.get("EDGEFER_FACEAPI_WEIGHTS", ROOT.parent / "shared" / "models" / "faceapi-expression"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    if not (WEIGHTS / "face_expression_model-weights_manifest.json").is_file():
        pytest.skip(f"face-api.js weights not found at {WEIGHTS} (set EDGEFER_FACEAPI_WEIGHTS)")
    script = benchmark_script("faceapi_peer")
    out = tmp_path_factory.mktemp("faceapi")
    weights = script.read_weights(WEIGHTS)
    network = script.build_network(weights)
    rgb = script.to_tflite(network, out / "faceapi_expression_rgb112.tflite")
    gray = script.to_tflite(script.edgefer_interface(network), out / "faceapi_expression.tflite",
                            labels=script.FER2013_NAMES)
    return script, network, rgb, gray


@pytest.mark.slow
def test_the_conversion_gives_the_keras_rebuild_and_edgefer_reads_its_classes(converted):
    script, network, rgb, gray = converted
    from edgefer.core.backends import open_runner
    from edgefer.predictor import read_model_meta

    x = np.random.default_rng(0).uniform(0, 255, (3, 112, 112, 3)).astype(np.float32)
    np.testing.assert_allclose(open_runner(rgb).predict(x, 3), network.predict(x, verbose=0), atol=1e-4)
    assert read_model_meta(gray)["classes"] == list(script.FER2013_NAMES)
    # the 48x48 interface is the RGB network on the upsampled face, its outputs reordered to FER2013's classes
    face = np.random.default_rng(1).uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    ours = open_runner(gray).predict(face, 1)[0]
    theirs = network.predict(np.repeat(__import__("tensorflow").image.resize(face, (112, 112)).numpy(), 3, -1),
                             verbose=0)[0]
    order = [script.FACEAPI_CLASSES.index(name) for name in script.FER2013_ORDER]
    np.testing.assert_allclose(ours, theirs[order], atol=1e-4)


@pytest.mark.slow
def test_the_photo_bench_runs_it_on_edgefers_boxes(converted, monkeypatch):
    from edgefer.bench import frame_worker

    _, _, rgb, _ = converted
    monkeypatch.setenv(frame_worker.FACEAPI_MODEL_ENV, str(rgb))
    photo = ROOT / "edgefer" / "assets" / "astronaut.jpg"
    job = {"pipeline": "faceapi", "threads": 1, "frames": [str(photo)], "video": None, "max_frames": 0, "warmup": 0,
           "input": "file", "model": None}
    result = frame_worker.run_job(job)
    (sample,) = result["samples"]
    assert len(sample["boxes"]) == 1 and sample["labels"][0] in frame_worker.FACEAPI_LABELS
    assert set(sample["stages"]) == {"decode", "detect", "classifier"}
