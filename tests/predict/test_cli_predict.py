"""`edgefer predict`: lines or JSON per face, annotated images, camera loop, clear errors."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgefer.cli import app
from helpers import separable_faces

ASTRONAUT = Path(__file__).parents[2] / "edgefer" / "assets" / "astronaut.jpg"
CLASSES = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
runner = CliRunner()


@pytest.fixture(scope="module")
def int8_model(exported):
    return str(exported[0] / "model_int8.tflite")


@pytest.fixture
def face_files(tmp_path):
    images, labels = separable_faces(1, seed=5)
    paths = []
    for image, label in zip(images[:3], labels[:3]):
        paths.append(tmp_path / f"face_{CLASSES[label]}.png")
        Image.fromarray(image).save(paths[-1])
    return paths


def test_json_gives_a_record_per_image(int8_model, face_files):
    result = runner.invoke(app, ["predict", int8_model, *map(str, face_files), "--json", "--threads", "1"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout[result.stdout.index("[") :])
    assert [Path(r["image"]).name for r in records] == [p.name for p in face_files]
    right = []
    for record, path in zip(records, face_files):
        (face,) = record["faces"]
        assert set(face["probabilities"]) == set(CLASSES)
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
        right.append(face["label"] == path.stem.split("_")[1])
    # The separable model gets most right; not all on every CPU (it is trained on the test machine).
    assert sum(right) >= 2, records


def test_lines_and_folders(int8_model, face_files):
    result = runner.invoke(app, ["predict", int8_model, str(face_files[0].parent)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(face_files[0].parent))]
    assert len(lines) == 3 and all("%" in line for line in lines)


def test_detect_and_save_annotated(int8_model, tmp_path):
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(noise)
    out = tmp_path / "annotated"
    result = runner.invoke(app, ["predict", int8_model, str(ASTRONAUT), str(noise), "--detect",
                                 "--save-annotated", str(out)])
    assert result.exit_code == 0, result.output
    assert "astronaut.jpg: face 1 at x=" in result.stdout
    assert "noise.png: no face found" in result.stdout
    drawn = np.asarray(Image.open(out / "astronaut_annotated.png"))
    original = np.asarray(Image.open(ASTRONAUT))
    assert drawn.shape == original.shape and (drawn != original).any(axis=-1).mean() > 0.001  # a box was drawn
    assert (out / "noise_annotated.png").is_file()


def test_unreadable_image_exits_2_but_reports_the_others(int8_model, face_files, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 this is not really a jpeg")
    result = runner.invoke(app, ["predict", int8_model, str(bad), str(face_files[0])])
    assert result.exit_code == 2
    line = next(s for s in result.stderr.splitlines() if "broken.jpg" in s)  # errors on stderr
    assert line.startswith("error: ") and "not an image" in line and line.count("broken.jpg") == 1
    assert "broken.jpg" not in result.stdout and face_files[0].name in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["model.onnx", "face.png"], "predict runs TFLite models"),
    (["missing.tflite", "face.png"], "no such model file"),
    (["MODEL"], "no images given"),
])
def test_usage_errors(int8_model, args, message):
    args = [int8_model if a == "MODEL" else a for a in args]
    result = runner.invoke(app, ["predict", *args])
    assert result.exit_code == 2 and message in result.output


def test_camera_loop_on_a_video_file(int8_model, tmp_path):
    cv2 = pytest.importorskip("cv2")
    video = tmp_path / "clip.avi"
    frame = cv2.cvtColor(np.asarray(Image.open(ASTRONAUT).resize((320, 320))), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 320))
    for _ in range(6):
        writer.write(frame)
    writer.release()
    out = tmp_path / "frames"
    result = runner.invoke(app, ["predict", int8_model, "--camera", str(video), "--max-frames", "4", "--json",
                                 "--save-annotated", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 4 and summary["fps"] > 0
    assert len(list(out.glob("frame_*.jpg"))) == 4


def test_camera_needs_opencv(int8_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    result = runner.invoke(app, ["predict", int8_model, "--camera", "0"])
    assert result.exit_code == 2 and "needs OpenCV, the 'video' extra: pip install -e '.[video]'" in result.output


def test_bad_camera_is_a_clear_error(int8_model, tmp_path):
    pytest.importorskip("cv2")
    result = runner.invoke(app, ["predict", int8_model, "--camera", str(tmp_path / "none.mp4")])
    assert result.exit_code == 2 and "cannot be opened" in result.output




def test_shipped_model_works_without_a_model_argument(tmp_path):
    from edgefer.data.sample import SAMPLE_PATH
    from edgefer.predictor import EmotionPredictor, default_model_path

    data = np.load(SAMPLE_PATH, allow_pickle=False)
    test = data["usage"] == "PublicTest"
    faces, labels = data["images"][test].reshape(-1, 48, 48), data["labels"][test]
    Image.fromarray(faces[0]).save(tmp_path / "face.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "face.png"), "--json"])
    assert result.exit_code == 0, result.output
    (face,) = json.loads(result.stdout[result.stdout.index("[") :])[0]["faces"]
    assert face["label"] in CLASSES

    predictor = EmotionPredictor(default_model_path())
    assert predictor.classes == CLASSES and predictor.prepare(faces[0]).dtype == np.uint8  # int8 model
    predicted = [CLASSES.index(r.label) for r in predictor.predict_batch(list(faces))]
    assert (np.array(predicted) == labels).mean() > 0.35  # 140 real test faces, balanced: chance is 14%
