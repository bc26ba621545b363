"""The package's imports point one way: data -> train -> export -> bench -> analyze, all of them onto the modules below every
stage, `predict` onto those alone, and only the CLI, the pipeline and the package root on top of everything.
Read from the source (a small AST walk), so the layering is enforced, not hoped for."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edgefer"
STAGES = ("data", "train", "export", "bench", "analyze")  # each may import the ones before it
BELOW = {"errors", "predictor", "packaged", "cli_support", "core"}  # below every stage: they import one another, never a stage
MAX_TOP_LEVEL_MODULES = 12
TOP = {"cli", "pipeline", "__init__"}  # may import anything
# The one edgefer module that imports Keras when imported: importing it inside a function defers Keras (allowed).
DEFERS_KERAS = "edgefer.train.keras_parts"


def unit(module: str) -> str:
    """edgefer.train.config -> 'train'; edgefer.core.run_folder -> 'runs'; edgefer -> '__init__'."""
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
    run_folder = copy / "core" / "run_folder.py"
    run_folder.write_text(run_folder.read_text() + "\nfrom edgefer.data.loading import load_dataset\n")
    found = violations(copy)
    assert len(found) == 3
    assert any("train imports edgefer.export.formats" in v for v in found)
    assert any("predict imports edgefer.train.config" in v for v in found)
    assert any("core imports edgefer.data.loading" in v for v in found)


def test_the_top_level_shows_the_stages_with_few_loose_modules():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= MAX_TOP_LEVEL_MODULES, loose
    stages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert set(STAGES) | {"predict", "core"} <= stages


def module_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """edgefer module -> the edgefer modules it imports (at import time or inside functions)."""
    graph = {}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(("edgefer", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        graph[name] = {t for t, _, _ in imports(path)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import circles between modules (a package's __init__ importing its own modules lazily is not one)."""
    found, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph or nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == "open":
                found.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return [c for c in found if not any(m in ("edgefer",) for m in c)]


def test_no_import_circle_between_modules():
    assert cycles(module_graph()) == []


def test_the_circle_check_finds_a_circle():
    assert cycles({"edgefer.a": {"edgefer.b"}, "edgefer.b": {"edgefer.a"}}) == [["edgefer.a", "edgefer.b", "edgefer.a"]]


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


def test_one_exception_base_for_the_whole_package():
    from edgefer.bench.run import BrokenArtifact
    from edgefer.errors import ConfigError, DataError, EdgeferError, ModelError
    from edgefer.predictor import EdgeferError as PredictorBase
    from edgefer.predictor import PredictorError

    assert EdgeferError is PredictorBase and issubclass(EdgeferError, ValueError)
    for error in (DataError, ModelError, ConfigError, PredictorError, BrokenArtifact):
        assert issubclass(error, EdgeferError), error
    raised = [cls for cls in EdgeferError.__subclasses__()]
    assert {DataError, ModelError, ConfigError, PredictorError} <= set(raised)
