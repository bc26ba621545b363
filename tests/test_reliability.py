"""Files edgefer wrote earlier and reads back: damaged (truncated, emptied, junk, another version) each behaves as
edgefer/core/fileio.py's inventory says. Disposable ones are rebuilt with one line on stderr; records stop the command
with exit 2 and one line naming the file (never a traceback). Then a disk that fills up during training and export."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgefer.cli import app
from edgefer.data.sample import SAMPLE_PATH
from edgefer.train.config import TrainConfig
from edgefer.train.training import train
from helpers import FAST_BENCH, SAMPLE, TEST_BACKBONE, one_line_error, separable_faces

runner = CliRunner()
DAMAGES = ("truncated", "emptied", "junk", "other version")
TINY = dict(model="mobilenetv2", alpha=0.35, img_size=32, weights="none", batch_size=64, seed=0)


class Interrupt(Exception):
    pass


def stop_after(epochs: int):
    import keras

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == epochs:
                raise Interrupt()

    return Stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A complete tiny run (with an export and a bench of it), a distilled run and a simple-mode run each stopped
    after their first epoch (their checkpoints hold the teacher's TFLite and the cached features)."""
    root = tmp_path_factory.mktemp("runs")
    done = train(TrainConfig(**TINY, epochs=1, out=str(root / "done"))).run_dir
    small = {**TINY, "model": TEST_BACKBONE, "alpha": 1.0}  # the checkpoints' machinery, not the network, is tested
    for name, extra in (("kd", dict(recipe="scratch", teacher=str(done / "model.keras"))),
                        ("simple", dict(recipe="finetune", mode="simple"))):
        with pytest.raises(Interrupt):
            train(TrainConfig(**small, epochs=2, out=str(root / name), **extra), callbacks=[stop_after(1)])
    assert runner.invoke(app, ["export", str(done), "--int8", "--out", str(root / "export")]).exit_code == 0
    bench = runner.invoke(app, ["bench", str(root / "export" / "model_int8.tflite"), "--threads", "1", "--runs", "3",
                                "--rounds", "1", "--out", str(root / "bench")])
    assert bench.exit_code == 0, bench.output
    return {"done": done, "kd": next((root / "kd").iterdir()), "simple": next((root / "simple").iterdir()),
            "export": root / "export", "bench": root / "bench"}


def damage(path: Path, how: str, other_version: bytes) -> None:
    data = path.read_bytes()
    content = {"truncated": data[: len(data) // 2], "emptied": b"", "junk": np.random.default_rng(0).bytes(4096),
               "other version": other_version}[how]
    path.write_bytes(content)


def npz_bytes(**arrays) -> bytes:

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def copy_run(runs, name, tmp_path) -> Path:
    target = tmp_path / runs[name].name
    shutil.copytree(runs[name], target)
    return target


def assert_one_line_error(result, path: Path):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and str(path.name) in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1


def assert_rebuilt(result, path: Path):
    assert result.exit_code == 0, result.output
    assert f"{path}: " in result.output and "was damaged or from another version" in result.output
    assert "Traceback" not in result.output


# ---- disposable files: rebuilt, one line on stderr -----------------------------------------------------------------


@pytest.mark.parametrize("how", DAMAGES)
def test_parse_cache(how, tmp_path, small_csv, monkeypatch):
    csv_path = small_csv[0]
    cache = tmp_path / "cache"
    monkeypatch.setenv("EDGEFER_CACHE_DIR", str(cache))
    assert runner.invoke(app, ["data", "info", str(csv_path)]).exit_code == 0
    (entry,) = cache.glob("*.npz")
    damage(entry, how, npz_bytes(images=np.zeros((1, 48, 48), np.uint8)))  # an npz without edgefer's arrays
    result = runner.invoke(app, ["data", "info", str(csv_path), "--json"])
    assert_rebuilt(result, entry)
    again = runner.invoke(app, ["data", "info", str(csv_path), "--json"])
    assert again.exit_code == 0 and "damaged" not in again.output  # rebuilt: a clean hit now


# Two of the damages: one that does not load (truncated, emptied and junk take the same path: rebuilt from the Keras
# teacher) and one that loads; each costs a resumed training run.
@pytest.mark.parametrize("how", ["truncated", "other version"])
def test_teacher_tflite_cached_in_the_checkpoint(how, runs, tmp_path):
    run = copy_run(runs, "kd", tmp_path)
    (cached,) = (run / "checkpoint").glob("teacher-*-fp32.tflite")
    damage(cached, how, (SAMPLE_PATH.parent / "fast_model.tflite").read_bytes())  # a TFLite, but not this teacher's
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "1"])
    if how == "other version":  # it loads: the agreement check with the Keras teacher decides, as ever
        assert result.exit_code == 0, result.output
    else:
        assert_rebuilt(result, cached)
    assert (run / "model.keras").is_file()


@pytest.mark.parametrize("how", ["truncated", "other version"])  # as for the teacher: each a resumed training run
def test_features_cached_in_the_checkpoint(how, runs, tmp_path):
    run = copy_run(runs, "simple", tmp_path)
    features = run / "checkpoint" / "features.npz"
    damage(features, how, npz_bytes(train=np.zeros((3, 8), np.float32)))  # features of another split
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "1"])
    assert_rebuilt(result, features)
    assert json.loads((run / "metrics.json").read_text())["test"]["n"] == 140


@pytest.mark.parametrize("how", DAMAGES)
def test_built_in_frame_set(how, tmp_path):
    out = tmp_path / "bench"
    args = ["bench", "--frames", "sample", "--threads", "1", "--rounds", "1", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    truth = out / "frames" / "faces.json"
    damage(truth, how, json.dumps({"faces": {"gone.jpg": []}}).encode())
    assert_rebuilt(runner.invoke(app, args), truth)
    assert "gone.jpg" not in truth.read_text()


def test_the_cached_fer_model_is_checked_as_compare_fer_checks_it(tmp_path):
    """compare_fer.sh re-extracts its cached fer model when this check fails (the download itself needs the index)."""
    check = "from edgefer.predictor import load_interpreter; import sys; load_interpreter(sys.argv[1])"
    model = tmp_path / "emotion_model_quantized.tflite"
    model.write_bytes((SAMPLE_PATH.parent / "fast_model.tflite").read_bytes())
    python = sys.executable
    assert subprocess.run([python, "-c", check, str(model)], capture_output=True).returncode == 0
    damage(model, "truncated", b"")
    assert subprocess.run([python, "-c", check, str(model)], capture_output=True).returncode != 0
    script = (Path(__file__).parents[1] / "benchmarks" / "compare_fer.sh").read_text()
    assert "load_interpreter('$FER_MODEL')" in script and 'rm -f "$FER_MODEL"' in script


# ---- records: exit 2, one line naming the file ---------------------------------------------------------------------


@pytest.mark.parametrize("how", DAMAGES)
def test_checkpoint_state(how, runs, tmp_path):
    run = copy_run(runs, "kd", tmp_path)
    state = run / "checkpoint" / "state.json"
    damage(state, how, json.dumps({"epochs": 1}).encode())
    result = runner.invoke(app, ["train", "--resume", str(run)])
    assert_one_line_error(result, state)
    assert "delete" in result.output and (run / "checkpoint" / "last.keras").is_file()  # nothing else was touched


@pytest.mark.parametrize("file", ["last.keras", "best.weights.h5"])
@pytest.mark.parametrize("how", DAMAGES)
def test_checkpoint_weights(file, how, runs, tmp_path):
    run = copy_run(runs, "kd", tmp_path)
    path = run / "checkpoint" / file
    other = (runs["done"] / "model.keras").read_bytes()  # another model's file
    damage(path, how, other)
    result = runner.invoke(app, ["train", "--resume", str(run)])
    assert_one_line_error(result, path)
    assert "damaged checkpoint" in result.output


@pytest.mark.parametrize("how", DAMAGES)
def test_run_record(how, runs, tmp_path):
    run = copy_run(runs, "done", tmp_path)
    record = run / "run.json"
    damage(record, how, json.dumps({"edgefer_run": 0, "classes": ["Angry"]}).encode())
    for command in (["export", str(run), "--int8", "--out", str(tmp_path / "export")],
                    ["bench", str(run / "model.keras"), "--threads", "1", "--runs", "2", "--rounds", "1",
                     "--out", str(tmp_path / "bench")]):
        result = runner.invoke(app, command)
        if command[0] == "bench":  # bench scores every artifact it can: this one gets a failed row, named
            assert result.exit_code in (1, 2) and "Traceback" not in result.output and "run.json" in result.output
        else:
            assert_one_line_error(result, record)


@pytest.mark.parametrize("how", DAMAGES)
def test_export_record(how, runs, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(runs["export"], export)
    record = export / "model.json"
    damage(record, how, json.dumps(["an", "old", "list"]).encode())
    result = runner.invoke(app, ["export", str(runs["done"]), "--int8", "--out", str(export)])
    assert_one_line_error(result, record)
    assert (export / "model_int8.tflite").is_file()  # the artifact already there is left as it was


@pytest.mark.parametrize("how", DAMAGES)
def test_bench_report_read_by_ship_model(how, runs, tmp_path):
    bench = tmp_path / "bench.json"
    shutil.copy(runs["bench"] / "bench.json", bench)
    damage(bench, how, json.dumps({"artifact": []}).encode())
    script = "edgefer.bench.ship"
    python = sys.executable
    done = subprocess.run([python, "-m", script, str(runs["export"] / "model_int8.tflite"), "--bench", str(bench),
                           "--name", "fast", "--trained-on", "x", "--recipe", "x", "--reproduce", "x"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"{bench}: not a bench report" in done.stderr
    assert (SAMPLE_PATH.parent / "fast_model.json").read_text().count("sha256") == 1  # the card is untouched


# ---- a disk that fills up ------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a few MB (root only: else the test says why it skips)."""
    mount = tmp_path / "disk"
    mount.mkdir()

    def make(megabytes: int) -> Path:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here to fill up ({done.stderr.strip() or 'not root'})")
        return mount

    yield make
    subprocess.run(["umount", str(mount)], capture_output=True)


def test_training_on_a_full_disk_stops_with_one_line_and_keeps_the_last_checkpoint(small_disk, tmp_path):
    disk = small_disk(11)  # room for one epoch's checkpoint (about 11 MB with its temp copy), not for a second
    result = runner.invoke(app, ["train", "--model", "mobilenetv2", "--alpha", "0.35", "--img-size", "32", "--weights",
                                 "none", "--epochs", "3", "--batch-size", "64", "--out", str(disk / "runs")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "the disk is full" in result.output and "continue with: edgefer train --resume" in result.output
    (run,) = (disk / "runs").iterdir()
    assert not (run / "model.keras").exists() and not list(run.rglob(".*.keras")) and not list(run.rglob(".*.h5"))
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["epochs_done"] >= 1
    moved = tmp_path / "room" / run.name
    shutil.copytree(run, moved)  # where there is room again, the run goes on from its last good epoch
    resumed = runner.invoke(app, ["train", "--resume", str(moved)])
    assert resumed.exit_code == 0, resumed.output
    assert len(json.loads((moved / "run.json").read_text())["config"]) and (moved / "model.keras").is_file()


def test_export_on_a_full_disk_leaves_no_artifact_under_its_name(small_disk, runs):
    disk = small_disk(1)
    result = runner.invoke(app, ["export", str(runs["done"]), "--int8", "--onnx", "--out", str(disk / "export")])
    assert result.exit_code == 2 and "Traceback" not in result.output and "the disk is full" in result.output
    from edgefer.core.backends import open_runner

    artifacts = [p for p in (disk / "export").rglob("model*") if p.suffix in (".tflite", ".onnx")]
    assert len([p for p in artifacts if "rejected" not in p.parts]) < 2  # what did not fit is not there ...
    for artifact in artifacts:  # ... and what is there under a final name is whole: it loads and predicts
        faces = np.zeros((2, 48, 48, 1), np.uint8)
        assert open_runner(artifact).predict(faces).shape == (2, 7), artifact


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
