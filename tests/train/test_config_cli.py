"""Configuration written once: `edgefer train`'s options are TrainConfig's fields (flag, default and help from their
metadata), and docs/training.md's recipe table is generated from RECIPES."""

import typer.main

from edgefer.cli import app
from edgefer.cli_support import cli_default, option_fields
from edgefer.train.config import RECIPES, TrainConfig


def train_click_command():
    group = typer.main.get_command(app)
    return group.commands["train"]


def test_every_cli_default_equals_the_dataclass_default():
    params = {p.name: p for p in train_click_command().params}
    fields = option_fields(TrainConfig)
    assert len(fields) >= 30
    for field in fields:
        param = params[field.name]
        assert field.metadata["flag"] in param.opts, field.name
        expected = cli_default(field)
        assert param.default == expected, (field.name, param.default, expected)
        assert (param.default is True) is False or not field.metadata.get("invert")
        assert param.help == field.metadata["help"]


def test_an_inverted_flag_turns_back_into_the_field():
    (cache,) = [f for f in option_fields(TrainConfig) if f.metadata.get("invert")]
    assert cache.name == "cache_features" and cache.default is True and cli_default(cache) is False


def test_train_help_lists_every_option_field():
    import re

    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.output)
    for field in option_fields(TrainConfig):
        assert field.metadata["flag"] in text, field.name
    assert "--resume" in text


def test_docs_recipe_table_is_generated_from_the_recipes(monkeypatch):
    from pathlib import Path

    from edgefer.train.config import RECIPE_TABLE_BEGIN, RECIPE_TABLE_END, recipe_table

    readme = (Path(__file__).parents[2] / "docs" / "training.md").read_text()
    section = readme[readme.index(RECIPE_TABLE_BEGIN): readme.index(RECIPE_TABLE_END) + len(RECIPE_TABLE_END)]
    assert section == recipe_table()
    for name, knobs in RECIPES.items():
        assert f"`{name}`" in section and all(f"| `{f}`" in section for f in ("--lr", "--batch-size", "--augment"))
    monkeypatch.setitem(RECIPES, "scratch", dict(RECIPES["scratch"], batch_size=96))
    assert recipe_table() != section  # a changed default fails the check until the docs are regenerated
