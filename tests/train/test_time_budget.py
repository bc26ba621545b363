"""`edgefer train --time-budget`: the epochs and the cosine decay fitted to a fixed slot, once, after the warm-up."""

import csv
import json

import pytest

from edgefer.errors import ConfigError
from edgefer.train.config import TrainConfig
from edgefer.train.training import train
from helpers import TEST_BACKBONE


def scratch(tmp_path, **overrides) -> TrainConfig:
    settings = dict(model=TEST_BACKBONE, img_size=32, weights="none", batch_size=64, out=str(tmp_path), seed=0)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_a_budget_needs_the_scratch_recipe():
    with pytest.raises(ConfigError, match="--time-budget 5 fits the epochs of the scratch recipe"):
        TrainConfig(weights="none", recipe="finetune", time_budget=5).validate()
    with pytest.raises(ConfigError, match="expected minutes > 0"):
        TrainConfig(weights="none", time_budget=0).validate()


@pytest.mark.slow
def test_a_spent_budget_ends_the_run_after_the_warm_up_with_the_schedule_it_had(tmp_path):
    result = train(scratch(tmp_path, epochs=10, warmup_epochs=2, time_budget=0.01))
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["complete"] and run["config"]["epochs"] == 2 and run["phase_epochs"] == {"train": 2}
    assert run["config"]["time_budget"] == 0.01
    with open(result.run_dir / "history.csv") as f:
        rates = [float(r["learning_rate"]) for r in csv.DictReader(f)]
    assert len(rates) == 2 and rates[1] == pytest.approx(2 * rates[0])  # the warm-up, as without a budget


@pytest.mark.slow
def test_an_ample_budget_keeps_the_epochs_asked_for_and_keep_last_saves_the_last_epoch(tmp_path):
    """One run for two options: an ample --time-budget keeps --epochs, and
    --keep last makes model.keras the end of the schedule whatever the validation accuracy did (metrics say which;
    --keep best, the default, is what every other training test checks)."""
    result = train(scratch(tmp_path, epochs=2, time_budget=60, keep="last"))
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["config"]["epochs"] == 2 and result.epochs == 2 and run["config"]["keep"] == "last"
    assert json.loads((result.run_dir / "metrics.json").read_text())["best_epoch"] == 2
    with pytest.raises(ConfigError, match="--keep 'first'"):
        TrainConfig(keep="first").validate()
