"""`edgefer data ...` as a user runs it: default sample, real output files, clean errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgefer import load_dataset
from edgefer.cli import app
from helpers import csv_line, faces, write_csv

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(map(str, args)))


def test_info_on_embedded_sample_by_default():
    result = run("data", "info", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["totals"] == {"Training": 420, "PublicTest": 140}
    assert stats["counts"]["Training"] == [60] * 7
    assert stats["load"]["source"].startswith("embedded sample")


def test_info_table_names_splits_classes_duplicates(small_csv):
    result = run("data", "info", small_csv[0])
    assert result.exit_code == 0, result.output
    for word in ("Training", "PublicTest", "Angry", "Neutral", "duplicates:", "blank images"):
        assert word in result.stdout


def test_show_writes_png(tmp_path):
    out = tmp_path / "grid.png"
    result = run("data", "show", "-o", out, "--img-size", "96")
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 400
    assert not list(tmp_path.glob(".*"))  # no temp file left behind


def test_sample_round_trip(small_csv, tmp_path):
    out = tmp_path / "sub.npz"
    result = run("data", "sample", small_csv[0], "-o", out, "--train-per-class", "1", "--test-per-class", "1")
    assert result.exit_code == 0, result.output
    sub = load_dataset(out)
    full = load_dataset(small_csv[0])
    assert len(sub) == 14 and sub.class_counts().tolist() == [2] * 7
    np.testing.assert_array_equal(sub.images, full.images[sub.row_ids])


@pytest.mark.parametrize(
    "line, expected",
    [("3,1 2 3,Training", "has 3 values; expected 2304"), ("8,{ok},Training", "field 'emotion' is '8'")],
)
def test_bad_input_exits_nonzero_with_one_clear_line(tmp_path, line, expected):
    ok = " ".join(["1"] * 2304)
    path = write_csv(tmp_path / "bad.csv", [csv_line(0, faces(1)[0], "Training"), line.format(ok=ok)])
    result = run("data", "info", path)
    assert result.exit_code == 2
    assert "error:" in result.output and expected in result.output and "line 3" in result.output
    assert "Traceback" not in result.output
    skipped = run("data", "info", path, "--skip-bad")
    assert skipped.exit_code == 0 and "skipped 1 bad row" in skipped.stdout


def test_console_script_error_has_no_traceback(tmp_path):
    missing = tmp_path / "nope.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "edgefer.cli", "data", "info", str(missing)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "no such file or folder" in proc.stderr and "Traceback" not in proc.stderr


def test_help_explains_each_data_command():
    for command in ("info", "show", "sample"):
        result = run("data", command, "--help")
        assert result.exit_code == 0 and "--skip-bad" in result.output
