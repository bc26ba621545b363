"""`edgefer train` end to end at tiny size: both models x both modes, run folder, resume, learning."""

import csv
import json

import numpy as np
import pytest

from edgefer.errors import ConfigError, ModelError
from edgefer.train.backbones import BACKBONE_NAMES
from edgefer.train.config import TrainConfig
from edgefer.train.training import resume_run, train
from helpers import TEST_BACKBONE

RUN_FILES = {"model.keras", "run.json", "history.csv", "curves.png", "confusion_matrix.png", "metrics.json"}


def tiny(tmp_path, **overrides) -> TrainConfig:
    settings = dict(img_size=32, weights="none", epochs=2, batch_size=32, out=str(tmp_path / "runs"), seed=0,
                    recipe="finetune")
    settings.update(overrides)
    return TrainConfig(**settings)


# Every backbone of the registry in simple mode; advanced mode (augmentation and a second phase, code that does not
# depend on the backbone) once, on the default backbone: each backbone's unfreezing is tested in test_models.py, and
# a run here costs mostly its graph tracing (about 30 s), not its epochs.
@pytest.mark.parametrize("model, mode", [(name, "simple") for name in BACKBONE_NAMES] + [("mobilenetv2", "advanced")])
def test_run_folder_contents(tmp_path, model, mode):
    result = train(tiny(tmp_path, model=model, mode=mode))
    assert result.run_dir.name == f"{model}-{mode}"
    assert {p.name for p in result.run_dir.iterdir()} == RUN_FILES  # checkpoints removed once complete
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["complete"] and run["classes"][0] == "Angry" and run["input"]["shape"] == [48, 48, 1]
    assert run["config"]["model"] == model and run["config"]["mode"] == mode
    assert "from scratch" in run["weights"] and run["versions"]["keras"]
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["test"]["n"] == 140 and len(metrics["test"]["per_class_recall"]) == 7
    assert 0.0 <= metrics["test"]["macro_f1"] <= 1.0
    with open(result.run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert [r["phase"] for r in rows] == (["head", "head"] if mode == "simple" else ["head", "fine_tune"])


def test_run_folders_are_numbered_never_overwritten(tmp_path):
    first = train(tiny(tmp_path, epochs=1))
    second = train(tiny(tmp_path, epochs=1))
    assert (first.run_dir.name, second.run_dir.name) == ("mobilenetv2-simple", "mobilenetv2-simple-2")


def test_learns_separable_data_well_above_chance(trained_run):
    """The shared fixture trains MobileNetV2 from scratch (advanced, all layers) on 7 separable classes."""
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.8, metrics["test"]  # chance is 1/7
    assert metrics["test"]["n"] == 70


class Interrupt(Exception):
    pass


def interrupt_at(epoch_to_stop):
    import keras

    class StopHere(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == epoch_to_stop:
                raise Interrupt()

    return StopHere()


# Advanced mode (both phases, augmentation); a simple-mode run resumes from its cached features in test_reliability.py.
@pytest.mark.parametrize("mode, stop_at", [("advanced", 2)])
def test_resume_after_interruption_gives_the_same_result(tmp_path, mode, stop_at):
    small = dict(model=TEST_BACKBONE, mode=mode, epochs=3, head_epochs=1)  # resuming does not depend on the network
    reference = train(tiny(tmp_path / "a", **small))
    with pytest.raises(Interrupt):
        train(tiny(tmp_path / "b", **small), callbacks=[interrupt_at(stop_at)])
    run_dir = tmp_path / "b" / "runs" / f"{TEST_BACKBONE}-{mode}"
    assert (run_dir / "checkpoint" / "last.keras").exists() and not (run_dir / "model.keras").exists()
    resumed = resume_run(run_dir)
    assert resumed.epochs == 3
    with open(run_dir / "history.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3]
    for split in ("validation", "test"):
        assert resumed.metrics[split]["accuracy"] == pytest.approx(reference.metrics[split]["accuracy"], abs=0.03)
    ref_hist = list(csv.DictReader(open(reference.run_dir / "history.csv")))
    new_hist = list(csv.DictReader(open(run_dir / "history.csv")))
    for a, b in zip(ref_hist, new_hist):
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), rel=0.02)


def test_cli_train_names_an_unknown_model_and_every_known_one(tmp_path):
    """(The CLI's training summary and its refusal to resume a complete run: test_recipe.py, on the same run.)"""
    from typer.testing import CliRunner

    from edgefer.cli import app

    bad = CliRunner().invoke(app, ["train", "--model", "resnet", "--out", str(tmp_path / "runs")])
    assert bad.exit_code == 2 and f"expected one of {', '.join(BACKBONE_NAMES)}, all" in bad.output
    assert not (tmp_path / "runs").exists()


def test_resume_keeps_the_given_base_weights(tmp_path):
    """A resumed run rebuilds the model without downloading; the frozen base must come from the checkpoint."""
    from edgefer.train.model import build_model
    from edgefer.train.training import _Trainer

    source = build_model(tiny(tmp_path), num_classes=7)
    weights = tmp_path / "base.weights.h5"
    source.base.save_weights(weights)
    config = tiny(tmp_path, weights=str(weights), epochs=2)
    with pytest.raises(Interrupt):
        train(config, callbacks=[interrupt_at(1)])
    weights.rename(tmp_path / "moved.weights.h5")  # resuming must not need the original file
    trainer = _Trainer(config, tmp_path / "runs" / "mobilenetv2-simple")
    trainer.load_data()
    trainer.build()
    for a, b in zip(source.base.get_weights(), trainer.fer.base.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert resume_run(trainer.run_dir).epochs == 2


def test_resume_with_a_new_epoch_total_finishes_early_or_extends(tmp_path):
    with pytest.raises(Interrupt):
        train(tiny(tmp_path, model=TEST_BACKBONE, mode="advanced", epochs=6, head_epochs=1),
              callbacks=[interrupt_at(2)])
    run_dir = tmp_path / "runs" / f"{TEST_BACKBONE}-advanced"
    with pytest.raises(ModelError, match="2 epochs are already done; --epochs must be at least 2"):
        resume_run(run_dir, epochs=1)
    finished = resume_run(run_dir, epochs=2)  # stop here, keep the best epoch so far
    assert finished.epochs == 2 and (run_dir / "model.keras").is_file()
    assert json.loads((run_dir / "run.json").read_text())["config"]["epochs"] == 2
    with open(run_dir / "history.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2]


def test_cosine_schedule_decays_each_phase_and_constant_does_not():
    config = TrainConfig(mode="advanced", epochs=11, head_epochs=1, learning_rate=1e-3, fine_tune_learning_rate=4e-4)
    assert config.learning_rate_at("head", 0, 0, 1) == pytest.approx(1e-3)
    rates = [config.learning_rate_at("fine_tune", e, 1, 11) for e in range(1, 11)]
    assert rates[0] == pytest.approx(4e-4) and rates[5] == pytest.approx(2e-4)
    assert all(a > b for a, b in zip(rates, rates[1:])) and rates[-1] > 0
    constant = TrainConfig(lr_schedule="constant", fine_tune_learning_rate=4e-4)
    assert {constant.learning_rate_at("fine_tune", e, 1, 11) for e in range(1, 11)} == {4e-4}
    with pytest.raises(ConfigError, match="--lr-schedule 'step'"):
        TrainConfig(lr_schedule="step").validate()


def test_history_keeps_columns_that_appear_after_a_resume():
    from edgefer.core.fileio import csv_text

    rows = list(csv.DictReader(csv_text([{"epoch": 1, "loss": 2.0},
                                             {"epoch": 2, "loss": 1.0, "learning_rate": 0.1}]).splitlines()))
    assert rows == [{"epoch": "1", "loss": "2.0", "learning_rate": ""},
                    {"epoch": "2", "loss": "1.0", "learning_rate": "0.1"}]


def test_int8_friendly_efficientnet_trains_and_exports_full_int8(tmp_path):
    """efficientnet-lite0 (ReLU6, no squeeze-excite): the scratch recipe on the sample, then full int8 passes export's
    checks (plain EfficientNetB0's collapses on real data; its rejection says why and what to use instead)."""
    from edgefer.export.run import export_run

    result = train(tiny(tmp_path, model="efficientnet-lite0", recipe="scratch", epochs=2))
    folder, (int8,) = export_run(result.run_dir, ["int8"], out=tmp_path / "export", check_samples=100)
    assert int8.status == "ok", int8.reason
    assert int8.meta["model"] == "efficientnet-lite0" and (folder / "model_int8.tflite").is_file()


def test_rejected_efficientnetb0_int8_names_the_cause_and_the_remedies(tmp_path, monkeypatch):
    import edgefer.export.run as export_module

    result = train(tiny(tmp_path, model="efficientnetb0", mode="simple"))  # the cheapest EfficientNetB0 run
    monkeypatch.setattr(export_module, "judge", lambda *a: {"passed": False, "reason": "accuracy 12.9% is more than "
                                                            "1.0% under Keras 63.9%", "agreement": 0.1, "accuracy": 0.13})
    _, (int8,) = export_module.export_run(result.run_dir, ["int8"], out=tmp_path / "export", calib_samples=20,
                                          check_samples=20)
    assert int8.status == "failed" and int8.reason.startswith("accuracy 12.9%")
    assert "efficientnet-lite0" in int8.reason and "--dynamic" in int8.reason and "squeeze-excite" in int8.reason


def test_split_seed_holds_out_the_same_faces_for_runs_of_other_seeds(tmp_path):
    """--split-seed: members of a teacher ensemble trained with different --seed must share one validation split."""
    from edgefer.train.training import load_training_data

    def val_rows(**seeds):
        config = TrainConfig(weights="none", epochs=3, val_fraction=0.2, **seeds).validate()
        return config, load_training_data(config, tmp_path).splits.val.row_ids

    default_config, default_rows = val_rows(seed=1)
    assert default_config.split_seed == 1  # recorded in run.json as resolved: old runs without it split by --seed
    assert not np.array_equal(default_rows, val_rows(seed=2)[1])
    shared = [val_rows(seed=seed, split_seed=1)[1] for seed in (2, 3)]
    np.testing.assert_array_equal(shared[0], default_rows)
    np.testing.assert_array_equal(shared[1], default_rows)
