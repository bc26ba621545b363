"""Images a new user hands the predictor: decompression bombs, 16-bit PNGs, huge photos, EXIF orientation, and
the lines it prints (no runtime noise)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgefer.cli import app
from helpers import separable_faces

runner = CliRunner()


def test_decompression_bomb_is_reported_and_the_folder_goes_on(exported, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.zeros((120, 120), np.uint8)).save(folder / "a_bomb.png")
    Image.fromarray(separable_faces(1, seed=2)[0][3]).save(folder / "b_face.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 14,400 pixels > 2x the limit: Pillow refuses
    result = runner.invoke(app, ["predict", str(exported[0] / "model_int8.tflite"), str(folder)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    bomb = next(line for line in result.stderr.splitlines() if "a_bomb.png" in line)
    assert bomb.startswith("error:") and "too many pixels" in bomb
    assert any("b_face.png" in line and "%" in line for line in result.stdout.splitlines())


def sixteen_bit_face(path: Path) -> np.ndarray:
    face = separable_faces(1, seed=4)[0][2]
    Image.fromarray(face.astype(np.uint16) * 257).save(path)  # a 16-bit grayscale PNG (mode I;16)
    assert Image.open(path).mode.startswith("I")
    return face


def test_sixteen_bit_png_is_scaled_not_clipped(exported, tmp_path):
    from edgefer.data.folder_format import read_face_image
    from edgefer.predictor import EmotionPredictor, to_array

    face = sixteen_bit_face(tmp_path / "face16.png")
    np.testing.assert_array_equal(to_array(tmp_path / "face16.png"), face)
    np.testing.assert_array_equal(read_face_image(tmp_path / "face16.png")[0], face)
    predictor = EmotionPredictor(exported[0] / "model_int8.tflite")
    assert predictor.predict(tmp_path / "face16.png").probabilities == predictor.predict(face).probabilities


LONDON = Path(__file__).resolve().parents[2] / "edgefer" / "assets" / "photos"


def _phone_photo(path: Path, turned: bool = False) -> list[tuple[int, int, int, int]]:
    """A 4000x3000 JPEG (a phone photo's size) with two real faces (edgefer's own London Set photos) pasted at known
    places; with `turned` its pixels are stored turned and EXIF orientation 6 says how to show it upright. Returns
    where the faces' squares were pasted (x, y, w, h) in the upright photo."""
    canvas = Image.new("RGB", (400, 300), (120, 130, 125)).resize((4000, 3000))
    places = [(1100, 700, 900, 900), (2600, 1200, 900, 900)]
    for photo, (x, y, w, h) in zip(sorted(LONDON.glob("*.jpg"))[:2], places):
        canvas.paste(Image.open(photo).convert("RGB").resize((w, h)), (x, y))
    if turned:
        exif = Image.Exif()
        exif[0x0112] = 6
        canvas.transpose(Image.Transpose.ROTATE_90).save(path, quality=92, exif=exif.tobytes())
    else:
        canvas.save(path, quality=92)
    return places


def test_boxes_are_in_the_photos_own_pixels_in_every_form(tmp_path):
    """A phone-sized photo as a path, a PIL image, numpy RGB, numpy BGR or an EXIF-turned file: the same faces, boxes
    within 1 px of each other, inside the squares they were pasted in (the bug: half-scale boxes for a path)."""
    from edgefer.predictor import EmotionPredictor

    places = _phone_photo(tmp_path / "big.jpg")
    _phone_photo(tmp_path / "turned.jpg", turned=True)
    rgb = np.asarray(Image.open(tmp_path / "big.jpg").convert("RGB"))
    predictor = EmotionPredictor()
    forms = {"path": (str(tmp_path / "big.jpg"), "rgb"), "pil": (Image.open(tmp_path / "big.jpg"), "rgb"),
             "rgb": (rgb, "rgb"), "bgr": (np.ascontiguousarray(rgb[..., ::-1]), "bgr"),
             "exif-turned path": (tmp_path / "turned.jpg", "rgb")}
    boxes = {name: [r.box for r in predictor.predict_frame(frame, channels=order)] for name, (frame, order) in forms.items()}
    reference = boxes["path"]
    assert len(reference) == 2
    for name, found in boxes.items():
        assert len(found) == 2, name
        assert np.abs(np.array(found) - np.array(reference)).max() <= 1, (name, found, reference)
    for (x, y, w, h), (px, py, pw, ph) in zip(reference, places):  # left to right, each in its own square
        assert px <= x and py <= y and x + w <= px + pw and y + h <= py + ph and w > 200


def test_predict_prints_no_runtime_noise_and_plain_numbers(exported, tmp_path):
    import subprocess
    import sys

    face = tmp_path / "face.png"
    Image.fromarray(separable_faces(1, seed=6)[0][1]).save(face)
    done = subprocess.run([sys.executable, "-m", "edgefer.cli", "predict", str(exported[0] / "model_int8.tflite"),
                           str(face)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "face.png" in done.stdout
    assert "XNNPACK" not in done.stderr + done.stdout
    from edgefer.predictor import EmotionPredictor, PredictorError, find_blazeface

    with pytest.raises(PredictorError) as error:
        EmotionPredictor(find_blazeface())  # a detector, not a classifier
    assert "np.int" not in str(error.value) and "(1, 128, 128, 3)" in str(error.value)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_is_applied(tmp_path, orientation):
    from edgefer.predictor import open_image

    for width, height in ((60, 40), (4100, 1000)):
        image = Image.new("L", (width, height), 0)
        image.paste(255, (0, 0, width // 4, height // 4))  # a bright top-left corner
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(tmp_path / "photo.jpg", exif=exif.tobytes(), quality=95)
        from PIL import ImageOps

        with Image.open(tmp_path / "photo.jpg") as reference:
            expected = ImageOps.exif_transpose(reference)
        got = open_image(tmp_path / "photo.jpg")
        assert got.size == expected.size  # full size, upright
        assert np.abs(np.asarray(got, np.float32) - np.asarray(expected, np.float32)).mean() < 8
