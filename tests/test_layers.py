"""The package's imports point one way: data -> train -> export -> bench -> analyze, all of them onto the modules below every
stage, `predict` onto those alone, and only the CLI, the pipeline and the package root on top of everything.
Read from the source (a small AST walk), so the layering is enforced, not hoped for."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edgefer"
STAGES = ("data", "train", "export", "bench", "analyze")  # each may import the ones before it
BELOW = {"errors", "fileio", "progress", "evaluation", "plotting", "predictor", "runs", "runners", "conversion",
         "keras_env", "packaged", "cli_support", "compute"}  # below every stage: they import one another, never a stage
TOP = {"cli", "pipeline", "__init__"}  # may import anything
# The one edgefer module that imports Keras when imported: importing it inside a function defers Keras (allowed).
DEFERS_KERAS = "edgefer.train.keras_parts"


def unit(module: str) -> str:
    """edgefer.train.config -> 'train'; edgefer.runs -> 'runs'; edgefer -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported edgefer module, line, inside a function) for every edgefer import of a file."""
    tree = ast.parse(path.read_text())
    local = {id(node) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for node in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "edgefer":
            targets = [node.module] if node.module != "edgefer" else [f"edgefer.{a.name}" for a in node.names]
            found += [(t, node.lineno, id(node) in local) for t in targets]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno, id(node) in local) for a in node.names if a.name.startswith("edgefer")]
    return found


def allowed(source: str, target: str) -> bool:
    if source in TOP or source == target or target == "__version__":
        return True
    if target in BELOW:
        return True
    if source in BELOW or source == "predict":
        return False
    if source in STAGES and target in STAGES:
        return STAGES.index(target) < STAGES.index(source)
    return False


def violations(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("edgefer", *path.relative_to(root).with_suffix("").parts))
        source = unit(module.removesuffix(".__init__") if path.name != "__init__.py" or path.parent != root
                      else "edgefer")
        for target, line, _ in imports(path):
            if not allowed(source, unit(target)):
                found.append(f"{path.relative_to(root.parent)}:{line}: {source} imports {target}")
    return found


def test_every_import_points_down_the_layers():
    assert violations() == []


def test_the_check_fails_on_a_backward_or_sideways_import(tmp_path):
    """A copy of the package with one backward edge (train -> export) and one sideways (predict -> train) added."""
    import shutil

    copy = tmp_path / "edgefer"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("assets", "__pycache__"))
    (copy / "train" / "config.py").write_text((copy / "train" / "config.py").read_text()
                                             + "\nfrom edgefer.export.formats import EXPORT_FORMATS\n")
    (copy / "predict" / "run.py").write_text((copy / "predict" / "run.py").read_text()
                                            + "\nfrom edgefer.train.config import TrainConfig\n")
    (copy / "runs.py").write_text((copy / "runs.py").read_text() + "\nfrom edgefer.data.loading import load_dataset\n")
    found = violations(copy)
    assert len(found) == 3
    assert any("train imports edgefer.export.formats" in v for v in found)
    assert any("predict imports edgefer.train.config" in v for v in found)
    assert any("runs imports edgefer.data.loading" in v for v in found)


def test_the_device_predictor_imports_nothing_of_edgefer():
    assert imports(PACKAGE / "predictor.py") == []


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE
                                        or p.name not in ("cli.py", "pipeline.py")), ids=lambda p: p.name)
def test_no_function_local_edgefer_import_outside_cli_and_pipeline(path):
    """Function-local imports are for heavy optional dependencies only, never to dodge a cycle; the CLI and the
    pipeline import whole stages lazily on purpose (so `--help` and `predict` start fast)."""
    local = [f"{target} (line {line})" for target, line, inside in imports(path)
             if inside and target != DEFERS_KERAS]
    assert local == []
