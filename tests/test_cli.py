"""The command line itself: help text that reads right."""


from typer.testing import CliRunner

from edgefer.cli import app

runner = CliRunner()


def test_help_shows_no_value_after_flags():
    result = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--detect" in result.output and "<bool>" not in result.output


def test_cli_reference_is_current_and_lists_every_command():
    """docs/cli.md is generated from the app: regenerate with `python -m edgefer.cli --write-reference docs/cli.md`."""
    from pathlib import Path

    from edgefer.cli_support import cli_reference

    text = cli_reference(app)
    assert (Path(__file__).parents[1] / "docs" / "cli.md").read_text() == text, "docs/cli.md is out of date"
    for command in ("train", "export", "bench", "predict", "models", "pipeline", "analyze", "data info"):
        assert f"## `edgefer {command}`" in text
    assert "--photos" in text and "--smooth" in text


def test_readme_is_short_and_links_only_to_pages_that_exist():
    import re
    from pathlib import Path

    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):
        if not target.startswith("http"):
            assert (root / target).exists(), target
    for page in (root / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_package_root_exports_the_api_and_stays_light():
    import subprocess
    import sys

    code = ("import sys, edgefer; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; "
            "assert set(edgefer.__all__) >= {'EmotionPredictor', 'analyze', 'AnalyzeConfig', 'train_model', "
            "'TrainConfig', 'export_run', 'run_bench', 'BenchConfig', 'load_dataset'}; "
            "p = edgefer.EmotionPredictor(); assert p.classes[3] == 'Happy'; "
            "assert all(callable(getattr(edgefer, n)) for n in ('analyze', 'train_model', 'export_run', 'run_bench'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_command_takes_its_options_from_its_configuration_dataclass():
    """One way to build the CLI: a command's flags are exactly its dataclass's option fields (written once)."""
    from typer.main import get_command

    from edgefer.analyze.run import AnalyzeConfig
    from edgefer.bench.options import BenchOptions
    from edgefer.cli_support import option_fields
    from edgefer.export.formats import ExportOptions
    from edgefer.predict.run import PredictOptions
    from edgefer.train.config import RecordConfig, TrainConfig

    root = get_command(app)
    expected = {("train",): (TrainConfig, {"--resume"}), ("export",): (ExportOptions, set()),
                ("bench",): (BenchOptions, set()), ("predict",): (PredictOptions, set()),
                ("analyze",): (AnalyzeConfig, set()), ("teacher", "record"): (RecordConfig, set())}
    for path, (config, extra) in expected.items():
        command = root
        for name in path:
            command = command.commands[name]
        flags = {o for p in command.params if p.param_type_name == "option" for o in p.opts} - {"--help"}
        assert flags == {f.metadata["flag"] for f in option_fields(config)} | extra, path
