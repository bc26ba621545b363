"""Bad input a new user hits: one clear line and exit 2 (or a failed row), never a traceback, nothing half-written.

Each case names the file and what was expected. Tests run as root, where read-only folders do not
stop writes, so "cannot be written" is an output path under a regular file (and a disk-full error
raised inside the writer).
"""

import contextlib
import errno
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import separable_faces
from edgefer import FERDataset
from edgefer.cli import app
from edgefer.data.npz_format import save_npz
from edgefer.export.meta import embed_tflite

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "edgefer" / "assets" / "fer2013_sample.npz"
FAST_BENCH = ["--runs", "3", "--warmup", "1", "--threads", "1"]


def one_line_error(result, *needles):
    """Exit 2, no traceback, and one 'error:' line naming every needle."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert str(needle) in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def faces_npz(tmp_path_factory):
    images, labels = separable_faces(4, seed=21)
    return save_npz(FERDataset(images=images, labels=labels, usage=["PublicTest"] * len(labels)),
                    tmp_path_factory.mktemp("bad") / "faces.npz")


@pytest.fixture
def blocker(tmp_path):
    """A regular file where the command would need a folder."""
    path = tmp_path / "blocker"
    path.write_text("I am a file")
    return path


# --- item 3: outputs that cannot be written ------------------------------------------------------------


def output_commands(exported, trained_run, faces_npz, face_png):
    folder = exported[0]
    return {
        "predict --save-annotated": ["predict", str(folder / "model_int8.tflite"), str(face_png),
                                     "--save-annotated", "{out}"],
        "bench --out": ["bench", str(folder / "model_int8.tflite"), "--data", str(faces_npz), "--out", "{out}",
                        *FAST_BENCH],
        "data show -o": ["data", "show", "-o", "{out}/classes.png", "--img-size", "48"],
        "data sample -o": ["data", "sample", str(SAMPLE), "-o", "{out}/small.npz", "--train-per-class", "2",
                           "--test-per-class", "1"],
        "train --out": ["train", "--weights", "none", "--img-size", "32", "--epochs", "1", "--out", "{out}"],
        "export --out": ["export", str(trained_run), "--fp32", "--out", "{out}", "--check-samples", "14"],
        "pipeline --out": ["pipeline", "--out", "{out}", "--img-size", "32", "--epochs", "2"],
    }


@pytest.mark.parametrize("command", ["predict --save-annotated", "bench --out", "data show -o", "data sample -o",
                                     "train --out", "export --out", "pipeline --out"])
def test_unwritable_output_is_one_line_exit_2(command, exported, trained_run, faces_npz, blocker, tmp_path):
    face_png = tmp_path / "face.png"
    Image.fromarray(separable_faces(1, seed=1)[0][0]).save(face_png)
    args = [a.replace("{out}", str(blocker / "sub")) for a in
            output_commands(exported, trained_run, faces_npz, face_png)[command]]
    line = one_line_error(runner.invoke(app, args), blocker)
    assert "cannot" in line
    assert blocker.read_text() == "I am a file"


def test_disk_full_is_one_line_and_leaves_no_partial_export(trained_run, tmp_path, monkeypatch):
    import dataclasses

    from edgefer.export.formats import EXPORT_FORMATS

    def full_disk(artifact, path, meta):
        Path(path).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setitem(EXPORT_FORMATS, "onnx", dataclasses.replace(EXPORT_FORMATS["onnx"], write=full_disk))
    out = tmp_path / "export"
    one_line_error(runner.invoke(app, ["export", str(trained_run), "--onnx", "--out", str(out),
                                       "--check-samples", "14"]), "disk is full")
    assert not (out / "rejected").exists() and not (out / ".staging").exists() and not (out / "model.onnx").exists()


def test_ctrl_c_in_export_leaves_no_staging(trained_run, tmp_path, monkeypatch):
    from edgefer.export.formats import EXPORT_FORMATS, ExportFormat

    def interrupted(model, calibration):
        raise KeyboardInterrupt

    monkeypatch.setitem(EXPORT_FORMATS, "fp32", ExportFormat("fp32", "model_fp32.tflite", "x", False, interrupted))
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(trained_run), "--fp32", "--out", str(out), "--check-samples", "14"])
    assert result.exit_code == 130
    assert not (out / ".staging").exists() and not (out / "model_fp32.tflite").exists()


# --- item 3: bad images, checkpoints, artifacts --------------------------------------------------------


def test_decompression_bomb_is_reported_and_the_folder_goes_on(exported, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.zeros((120, 120), np.uint8)).save(folder / "a_bomb.png")
    Image.fromarray(separable_faces(1, seed=2)[0][3]).save(folder / "b_face.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 14,400 pixels > 2x the limit: Pillow refuses
    result = runner.invoke(app, ["predict", str(exported[0] / "model_int8.tflite"), str(folder)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    bomb = next(line for line in result.stdout.splitlines() if "a_bomb.png" in line)
    assert bomb.startswith("error:") and "too many pixels" in bomb
    assert any("b_face.png" in line and "%" in line for line in result.stdout.splitlines())


@pytest.fixture(scope="module")
def interrupted_once(tmp_path_factory):
    """A scratch run stopped after its first epoch (trained once for the module), and what train printed."""
    import keras

    from edgefer.train.config import TrainConfig
    from edgefer.train.training import train

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    runs = tmp_path_factory.mktemp("interrupted") / "runs"
    printed = io.StringIO()
    with pytest.raises(KeyboardInterrupt), contextlib.redirect_stderr(printed):
        train(TrainConfig(weights="none", img_size=32, epochs=3, batch_size=64, out=str(runs)), callbacks=[Stop()])
    return runs / "mobilenetv2-scratch", printed.getvalue()


@pytest.fixture
def interrupted_run(interrupted_once, tmp_path):
    """A private copy of the interrupted run, for a test to damage."""
    copy = tmp_path / "runs" / "mobilenetv2-scratch"
    shutil.copytree(interrupted_once[0], copy)
    return copy


@pytest.mark.parametrize("damage", ["truncated last.keras", "junk state.json", "state.json is a list",
                                    "junk run.json"])
def test_resume_with_a_damaged_checkpoint_is_one_line(interrupted_run, damage):
    checkpoint = interrupted_run / "checkpoint"
    target = {"truncated last.keras": checkpoint / "last.keras", "junk state.json": checkpoint / "state.json",
              "state.json is a list": checkpoint / "state.json", "junk run.json": interrupted_run / "run.json"}[damage]
    if damage.startswith("truncated"):
        target.write_bytes(target.read_bytes()[:1000])
    else:
        target.write_text("[1, 2]" if "list" in damage else "{not json")
    one_line_error(runner.invoke(app, ["train", "--resume", str(interrupted_run)]), target.name)


def test_interrupted_training_says_how_to_resume_and_a_failed_one_leaves_no_folder(interrupted_once, tmp_path):
    run_dir, printed = interrupted_once
    assert f"edgefer train --resume {run_dir}" in printed
    assert (run_dir / "checkpoint" / "last.keras").is_file()
    bad = runner.invoke(app, ["train", "--data", str(tmp_path / "missing.csv"), "--weights", "none", "--out",
                              str(tmp_path / "other")])
    one_line_error(bad, "missing.csv")
    assert not list((tmp_path / "other").glob("*"))  # nothing left: the next run is not named -2


@pytest.fixture
def mislabelled_int8(exported, tmp_path):
    """The int8 model with an embedded class list of 8 names for its 7 outputs."""
    source = exported[0] / "model_int8.tflite"
    from edgefer.export.meta import read_meta

    meta = read_meta(source)
    meta["classes"] = meta["classes"] + ["Contempt"]
    path = tmp_path / "mislabelled.tflite"
    path.write_bytes(embed_tflite(source.read_bytes(), meta))
    return path


def test_bench_gives_bad_artifacts_a_failed_row_and_measures_the_others(exported, faces_npz, mislabelled_int8,
                                                                        tmp_path):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes((exported[0] / "model.onnx").read_bytes()[:5000])
    good = exported[0] / "model_int8.tflite"
    result = runner.invoke(app, ["bench", str(corrupt), str(mislabelled_int8), str(good), "--data", str(faces_npz),
                                 "--out", str(tmp_path / "bench"), *FAST_BENCH])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    rows = {r["name"]: r for r in json.loads((tmp_path / "bench" / "bench.json").read_text())["artifacts"]}
    assert rows["corrupt.onnx"]["status"] == "failed" and "give --input-size" not in rows["corrupt.onnx"]["error"]
    assert "load" in rows["corrupt.onnx"]["error"].lower() or "protobuf" in rows["corrupt.onnx"]["error"].lower()
    assert rows["mislabelled.tflite"]["status"] == "failed"
    assert "8 classes but the model has 7 outputs" in rows["mislabelled.tflite"]["error"]
    assert rows["model_int8.tflite"]["status"] == "ok" and rows["model_int8.tflite"]["accuracy"] > 0.5


def test_bench_external_labels_fewer_than_outputs_is_one_line(exported, faces_npz, tmp_path):
    shutil.copy(exported[0] / "model.onnx", tmp_path / "plain.onnx")  # no labels inside: an external model
    import onnx

    model = onnx.load(tmp_path / "plain.onnx")
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "plain.onnx")
    result = runner.invoke(app, ["bench", str(tmp_path / "plain.onnx"), "--data", str(faces_npz), "--out",
                                 str(tmp_path / "bench"), "--input-size", "48", "--labels", "Angry,Happy,Sad",
                                 *FAST_BENCH])
    one_line_error(result, "3 class names", "7 outputs")


# --- item 4: silently wrong results --------------------------------------------------------------------


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


# --- items 7 and 8 ----------------------------------------------------------------------------------------


def test_csv_with_a_byte_order_mark_loads(small_csv, tmp_path):
    from edgefer.data.loading import load_dataset

    path, images, labels, _ = small_csv
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    dataset = load_dataset(bom, use_cache=False)
    np.testing.assert_array_equal(dataset.labels, labels)
    np.testing.assert_array_equal(dataset.images, images)


def test_large_photos_are_reduced_while_decoding(tmp_path):
    from edgefer.predictor import MAX_DECODE_SIDE, open_image, to_array

    Image.new("RGB", (5000, 3000), (90, 120, 150)).save(tmp_path / "big.jpg", quality=90)
    Image.new("L", (5000, 3000), 100).save(tmp_path / "big.png")
    for name in ("big.jpg", "big.png"):
        image = open_image(tmp_path / name)
        assert max(image.size) <= MAX_DECODE_SIDE and image.size[0] > image.size[1]  # aspect kept
        assert max(to_array(tmp_path / name).shape[:2]) <= MAX_DECODE_SIDE


# --- item 10: what a user sees -------------------------------------------------------------------------


def test_help_shows_no_value_after_flags():
    result = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--detect" in result.output and "<bool>" not in result.output


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


def test_overlapping_plot_labels_are_moved_apart():
    from edgefer.bench.report import first_free

    bounds = (0.0, 0.0, 1000.0, 1000.0)
    taken = [(0.0, 0.0, 100.0, 10.0)]  # a label already there
    right, left, low = (50.0, 1.0, 150.0, 11.0), (300.0, 1.0, 400.0, 11.0), (50.0, -20.0, 150.0, -10.0)
    assert first_free([left, right], taken, bounds) == 0  # the first side is free: it is taken
    assert first_free([right, left], taken, bounds) == 1  # the first covers the other label: the next
    assert first_free([right, low, left], taken, bounds) == 2  # below the plot area is no place either
    barely = (90.0, 0.0, 190.0, 10.0)  # overlaps the other label by a tenth of its width
    assert first_free([right, barely], taken, bounds) == 1  # none free: the least covered


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_is_applied_to_small_and_reduced_photos(tmp_path, orientation):
    from edgefer.predictor import MAX_DECODE_SIDE, open_image

    for width, height in ((60, 40), (2 * MAX_DECODE_SIDE + 100, 1000)):
        image = Image.new("L", (width, height), 0)
        image.paste(255, (0, 0, width // 4, height // 4))  # a bright top-left corner
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(tmp_path / "photo.jpg", exif=exif.tobytes(), quality=95)
        from PIL import ImageOps

        with Image.open(tmp_path / "photo.jpg") as reference:
            expected = ImageOps.exif_transpose(reference)
            expected = expected.resize(open_image(tmp_path / "photo.jpg").size)
        got = open_image(tmp_path / "photo.jpg")
        assert got.size == expected.size
        assert np.abs(np.asarray(got, np.float32) - np.asarray(expected, np.float32)).mean() < 8
