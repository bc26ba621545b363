"""What a new user meets first, on real pixels (edgefer's own London Set portraits and the sample group photo):
faces found by default, numbered left to right the same in text, JSON and the annotated image; a crop-sized image
with no face read whole, and saying so; --crop and --detect; errors on stderr; class subfolders; the camera loop
printing what it sees; a missing extra in one line, before any folder is made; help that keeps its words."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgefer.cli import app
from edgefer.predict.sample_photo import LAYOUT, SAMPLE_FACES, write_group_photo

PHOTOS = Path(__file__).resolve().parents[2] / "edgefer" / "assets" / "photos"
runner = CliRunner()


def _lines(text: str, image: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"{image}:")]


def test_the_quick_start_sample_gives_every_face_left_to_right_with_the_right_label():
    result = runner.invoke(app, ["predict", "sample"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout, "sample")
    assert [f"face {i} at" in line for i, line in enumerate(lines, 1)] == [True] * len(LAYOUT)
    labels = [line.split(" h=")[1].split()[1] for line in lines]
    assert labels == list(SAMPLE_FACES)
    xs = [int(line.split(" x=")[1].split()[0]) for line in lines]
    assert xs == sorted(xs)
    for line, (_, x, y, side) in zip(lines, LAYOUT):  # each box inside the portrait it belongs to, in photo pixels
        bx, by = int(line.split(" x=")[1].split()[0]), int(line.split(" y=")[1].split()[0])
        assert x <= bx <= x + side and y <= by <= y + side
    assert "4000x3000" in result.stderr  # what 'sample' is, said once, on stderr


def test_json_and_the_annotated_image_number_the_faces_as_the_text_does(tmp_path):
    write_group_photo(tmp_path / "group.jpg")
    text = runner.invoke(app, ["predict", str(tmp_path / "group.jpg")]).stdout
    result = runner.invoke(app, ["predict", str(tmp_path / "group.jpg"), "--json", "--save-annotated",
                                 str(tmp_path / "ann")])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)
    faces = record["faces"]
    assert [f["face"] for f in faces] == list(range(1, len(LAYOUT) + 1))
    for face, line in zip(faces, _lines(text, str(tmp_path / "group.jpg"))):
        x, y, w, h = face["box"]
        assert f"face {face['face']} at x={x} y={y} w={w} h={h} {face['label']}" in line
    annotated = Image.open(tmp_path / "ann" / "group_annotated.png")
    assert annotated.size == (4000, 3000)  # the photo's own size: its boxes are in these pixels
    x, y, w, h = faces[0]["box"]
    pixels = np.asarray(annotated.convert("RGB")).astype(int)
    assert (np.abs(pixels[y - 60:y, x:x + w] - [255, 196, 0]).sum(-1) < 40).sum() > 200  # the label box over face 1


def test_face_crops_are_read_whole_as_they_were_cropped():
    """A FER2013 crop (48x48, the face filling it) is read whole, as --crop reads it, not re-cropped around its box."""
    from edgefer.data.loading import load_dataset
    from edgefer.predictor import EmotionPredictor

    test = load_dataset(None).split("PublicTest")
    predictor = EmotionPredictor()
    auto = [predictor.predict_image(face)[0] for face in test.images[:40]]
    crop = [predictor.predict_image(face, "crop")[0] for face in test.images[:40]]
    assert np.mean([a.whole_image for a in auto]) > 0.8
    assert np.mean([a.label == c.label for a, c in zip(auto, crop)]) > 0.9


def test_photos_need_no_flag_and_crops_with_no_face_are_read_whole_and_say_so(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "crop.png")
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    result = runner.invoke(app, ["predict", str(PHOTOS / "013_happy.jpg"), str(tmp_path / "crop.png"),
                                 str(tmp_path / "big.png")])
    assert result.exit_code == 0, result.output
    assert "face 1 at" in _lines(result.stdout, str(PHOTOS / "013_happy.jpg"))[0]
    (crop,) = _lines(result.stdout, str(tmp_path / "crop.png"))
    assert "a face crop (a small image that is one face, or with no face found), read whole" in crop
    assert _lines(result.stdout, str(tmp_path / "big.png")) == [f"{tmp_path / 'big.png'}: no face found"]
    detect = runner.invoke(app, ["predict", str(tmp_path / "crop.png"), "--detect"])
    assert detect.stdout.strip() == f"{tmp_path / 'crop.png'}: no face found"
    crop_mode = runner.invoke(app, ["predict", str(PHOTOS / "064_neutral.jpg"), "--crop", "--json"])
    (record,) = json.loads(crop_mode.stdout)
    assert len(record["faces"]) == 1 and record["faces"][0]["whole_image"] and "box" not in record["faces"][0]
    both = runner.invoke(app, ["predict", str(tmp_path / "crop.png"), "--crop", "--detect"])
    assert both.exit_code == 2 and "contradict" in both.stderr


def test_errors_go_to_stderr_and_folders_include_their_class_subfolders(tmp_path):
    for name in ("happy", "neutral"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        Image.open(PHOTOS / f"129_{name}.jpg").save(tmp_path / "photos" / name / "a.jpg")
    result = runner.invoke(app, ["predict", str(tmp_path / "photos"), str(tmp_path / "missing.jpg")])
    assert result.exit_code == 2
    assert "missing.jpg: no such image file" in result.stderr and "missing.jpg" not in result.stdout
    happy, neutral = (_lines(result.stdout, str(tmp_path / "photos" / n / "a.jpg")) for n in ("happy", "neutral"))
    assert "Happy" in happy[0] and "Neutral" in neutral[0]


def test_the_camera_loop_prints_each_face_about_once_a_second_of_a_video(tmp_path):
    pytest.importorskip("cv2")
    from edgefer.analyze.sources import SampleClip

    clip = SampleClip(seconds=2).write(tmp_path / "clip.mp4")  # 15 frames/s, three people
    result = runner.invoke(app, ["predict", "--camera", str(clip)])
    assert result.exit_code == 0, result.output
    reports = [line for line in result.stdout.splitlines() if line.startswith("frame ")]
    assert len(reports) == 2 and reports[0].startswith("frame 15 (1.0 s)")  # once per second of the video
    assert all(line.count("face ") == 3 for line in reports) and "Happy" in reports[0]
    lines = runner.invoke(app, ["predict", "--camera", str(clip), "--json"]).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [len(r["faces"]) for r in records[:2]] == [3, 3] and records[0]["faces"][0]["face"] == 1
    assert "edgefer analyze" in runner.invoke(app, ["predict", "--help"]).stdout


@pytest.mark.parametrize("command", [["train", "--epochs", "2"], ["pipeline"], ["export", "RUN"]])
def test_a_missing_extra_is_one_line_before_any_folder_is_made(tmp_path, monkeypatch, command):
    import edgefer.core.extras as extras

    monkeypatch.setattr(extras, "missing", lambda modules: [m for m in modules if m in ("keras", "tensorflow")])
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*command, "--out", str(tmp_path / "made")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs the 'train' extra" in lines[0] and "pip install -e '.[train]'" in lines[0]
    assert "Traceback" not in result.output and not (tmp_path / "made").exists() and list(tmp_path.iterdir()) == []


def test_help_keeps_its_words_and_wraps_to_the_terminal():
    text = CliRunner().invoke(app, ["analyze", "--help"], terminal_width=100).stdout
    assert "'.[video]'" in text
    paragraphs = text.split("\n\n")
    assert any("A file is smoothed both ways" in p and "camera causally" in p for p in paragraphs)
    assert max(len(line) for line in text.splitlines()) <= 100
