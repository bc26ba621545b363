"""Interrupted and damaged training runs: one line saying how to resume, or what is wrong, never a traceback."""

import contextlib
import io
import shutil

import pytest
from typer.testing import CliRunner

from edgefer.cli import app
from helpers import TEST_BACKBONE, one_line_error

runner = CliRunner()


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
        train(TrainConfig(model=TEST_BACKBONE, weights="none", img_size=32, epochs=3, batch_size=64, out=str(runs)),
              callbacks=[Stop()])
    return runs / f"{TEST_BACKBONE}-scratch", printed.getvalue()


@pytest.fixture
def interrupted_run(interrupted_once, tmp_path):
    """A private copy of the interrupted run, for a test to damage."""
    copy = tmp_path / "runs" / f"{TEST_BACKBONE}-scratch"
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
