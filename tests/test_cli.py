"""The command line itself: help text that reads right."""


from typer.testing import CliRunner

from edgefer.cli import app

runner = CliRunner()


def test_help_shows_no_value_after_flags():
    result = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--detect" in result.output and "<bool>" not in result.output
