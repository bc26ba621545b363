"""Every `edgefer` command shown in README.md and docs/ still works as written.

Each command line in a code block is checked against the CLI itself: a concrete command must parse (its command exists,
every option exists and takes the value shown, required arguments are there), and a usage synopsis
(`edgefer bench [--data PATH] ...`) may name only options its command has. The concrete commands are then run, on the
embedded sample and a photo of the package, in a scratch folder, with placeholders (photo.jpg, my_faces/, runs/<run>)
filled in: unless `NOT_RUN_HERE` names them with the reason (the full data, a camera, a peer library not installed)
and the test that runs the same path in a shorter form.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.main import get_command
from typer.testing import CliRunner

from edgefer.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in ("cli.md", "measurements.md"))
COMMAND = re.compile(r"^(?:\$ )?edgefer\s")

# Commands the suite does not run as written, each with why and where the same path is run.
NOT_RUN_HERE = {
    "edgefer predict --camera 0": "needs a camera; the camera loop runs on a video file in tests/predict/test_frames.py",
    "edgefer bench default fast --data FER2013_DIR": "needs the full FER2013 (tests/test_realdata.py runs it on the "
                                                     "real data where present, tests/bench/test_bench.py on the sample)",
    "edgefer bench --photos sample --peer fer": "needs the fer package, not a dependency (tests/bench/"
                                                "test_photos_bench.py runs the photo bench without the peer)",
    "edgefer bench --frames sample --peer fer": "needs the fer package (tests/bench/test_frames_bench.py runs the "
                                                "frame bench without the peer)",
    # docs/training.md's own-classes walk-through: tests/train/test_packaged_start.py
    # (test_own_classes_fine_tuned_from_the_default_export_and_predict_with_their_names) runs these three commands on a
    # class-folder tree from the sample, with --epochs 3 instead of 10, and checks what they print and write.
    "edgefer train --data faces --labels folders --weights default --mode advanced --epochs 10": "run by "
        "test_packaged_start.py's own-classes test (3 epochs)",
    "edgefer export runs/mobilenetv2-advanced --int8": "run by test_packaged_start.py's own-classes test",
    "edgefer predict export/mobilenetv2-advanced/model_int8.tflite faces/test/joy/1.png faces/test/calm/1.png":
        "run by test_packaged_start.py's own-classes test",
    "edgefer export runs/<run> --int8": "the README's `edgefer export runs/<run> --int8 --onnx` runs this export "
                                        "(and ONNX) on the same run",
    # docs/video.md's archive: tests/analyze/test_batch.py runs a folder of clips with a broken one on 1 worker, a pool
    # of 2 and a local Ray, and a resumed rerun.
    "edgefer analyze recordings/ --out results": "needs a folder of recordings: test_batch.py analyses one",
    "edgefer analyze 'shop/*.mp4' --out results --workers 2": "a glob of recordings: test_batch.py expands one",
    "edgefer analyze cameras.txt --out results --engine ray": "a list of recordings on Ray: test_batch.py runs Ray",
    "edgefer analyze /mnt/recordings --out results --engine ray --address auto": "needs a Ray cluster started by hand",
    "edgefer analyze recordings/ --out results --engine ray --address auto": "needs a Ray cluster started by hand",
}


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every `edgefer ...` line inside a fenced or indented code block, comment stripped."""
    found, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        text = line.strip()
        if (fenced or line.startswith("    ")) and COMMAND.match(text):
            found.append((number, text.split("  #")[0].split(" # ")[0].strip().removeprefix("$ ")))
    return found


DOC_COMMANDS = [(f"{path.relative_to(ROOT)}:{number}", text) for path in DOCS for number, text in code_lines(path)]
INLINE = re.compile(r"`(edgefer\s[^`]*)`")


def inline_commands(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every `edgefer ...` written inline in prose or a table (a reproduce line of a model card
    may chain several with ';' or '&&'), outside code blocks."""
    found, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            continue
        for span in INLINE.findall(line):
            for part in re.split(r";|&&|\|", span):
                part = part.strip()
                if COMMAND.match(part + " "):
                    found.append((number, part))
    return found


INLINE_COMMANDS = [(f"{path.relative_to(ROOT)}:{number}", text) for path in DOCS for number, text in inline_commands(path)]


def is_synopsis(text: str) -> bool:
    placeholder = re.search(r"\b[A-Z][A-Z_]{2,}\b", text) is not None and text not in NOT_RUN_HERE
    return any(mark in text for mark in ("[", "|", "...")) or placeholder


def resolve(words: list[str]):
    """The click command that `edgefer WORDS...` names, and the words after its name."""
    command = get_command(app)
    words = list(words)
    while hasattr(command, "commands") and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    return command, words


def test_the_docs_show_commands():
    assert len(DOC_COMMANDS) >= 15  # the extraction works (README and docs hold about 25)
    assert all(text in {t for _, t in DOC_COMMANDS} for text in NOT_RUN_HERE), "NOT_RUN_HERE names a command no doc shows"


@pytest.mark.parametrize("where, text", DOC_COMMANDS, ids=[w for w, _ in DOC_COMMANDS])
def test_every_doc_command_matches_the_cli(where, text):
    words = shlex.split(text)[1:]
    command, rest = resolve(words)
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    if is_synopsis(text):
        named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-o)\b", text))
        assert named <= known, f"{where}: {sorted(named - known)} are not options of `edgefer {command.name}`"
        return
    with command.make_context(command.name, list(rest), resilient_parsing=False):
        pass  # parses: options exist, values are valid, required arguments are there


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder where the placeholders of the docs exist: photo.jpg, my_faces/ and faces/ (a class per folder)."""
    from edgefer.data.loading import load_dataset

    root = tmp_path_factory.mktemp("docs")
    shutil.copy(ROOT / "edgefer" / "assets" / "astronaut.jpg", root / "photo.jpg")
    sample = load_dataset(None)
    names = {0: "angry", 3: "joy", 6: "calm"}
    for folder in ("my_faces", "faces"):
        for split, usage in (("train", "Training"), ("test", "PublicTest")):
            for label, name in names.items():
                (root / folder / split / name).mkdir(parents=True)
                faces = sample.images[(sample.labels == label) & (sample.usage == usage)][:12]
                for i, face in enumerate(faces, 1):
                    Image.fromarray(np.asarray(face)).save(root / folder / split / name / f"{i}.png")
    return root


RUN_ORDER = [t for _, t in DOC_COMMANDS if not is_synopsis(t) and t not in NOT_RUN_HERE]


@pytest.mark.slow
@pytest.mark.xdist_group("docs_commands")
def test_the_concrete_doc_commands_run_on_the_sample(scratch, monkeypatch):
    """In the order the docs give them (train, then export that run, then predict with its model)."""
    monkeypatch.chdir(scratch)
    runner, done = CliRunner(), []
    for text in dict.fromkeys(RUN_ORDER):
        words = shlex.split(text)[1:]
        if "runs/<run>" in text:
            runs = sorted(p for p in (scratch / "runs").iterdir() if (p / "model.keras").is_file())
            words = [str(runs[0]) if w == "runs/<run>" else w for w in words]
        result = runner.invoke(app, words)
        assert result.exit_code == 0, f"`{text}` failed:\n{result.output[-2000:]}"
        done.append(text)
    assert any(t.startswith("edgefer train") for t in done) and any(t.startswith("edgefer export") for t in done)
    assert any(t.startswith("edgefer predict") for t in done) and any(t.startswith("edgefer analyze") for t in done)


def named_options_problem(text: str) -> str | None:
    """Why `text` (an `edgefer ...` line, maybe with placeholders) cannot be a command of the CLI: an unknown command,
    or an option its command does not have; None when it can."""
    words = [w for w in re.split(r"\s+", text.strip()) if w][1:]
    command, rest = resolve([w for w in words if not w.startswith("[")])
    if hasattr(command, "commands"):  # stopped at a group: the next word must be one of its commands
        name = next((w for w in rest if not w.startswith("-")), None)
        if name is not None and name not in ("...", "COMMAND"):
            return f"`{name}` is not a command of `edgefer {command.name}` ({', '.join(sorted(command.commands))})"
        return None
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-o)\b", text))
    unknown = sorted(named - known - {"--help"})
    return f"{unknown} are not options of `edgefer {command.name}`" if unknown else None


def test_the_docs_write_commands_inline():
    assert len(INLINE_COMMANDS) >= 20  # README's reproduce lines, the docs' prose


@pytest.mark.parametrize("where, text", INLINE_COMMANDS, ids=[w for w, _ in INLINE_COMMANDS])
def test_every_inline_doc_command_names_real_commands_and_options(where, text):
    problem = named_options_problem(text)
    assert problem is None, f"{where}: `{text}`: {problem}"


def test_the_inline_check_finds_a_wrong_option():
    assert "--labels" in named_options_problem("edgefer export W --int8 --data FER2013 --labels ferplus")
    assert named_options_problem("edgefer export W --int8 --data FER2013") is None
    assert "not a command" in named_options_problem("edgefer teacher recrod X T.npz")


def test_the_check_fails_on_a_command_the_cli_does_not_have():
    command, rest = resolve(["bench", "--no-such-option", "3"])
    with pytest.raises(Exception, match="no-such-option"):
        command.make_context(command.name, rest, resilient_parsing=False)
    command, rest = resolve(["export"])  # its RUN argument is required
    with pytest.raises(Exception):
        command.make_context(command.name, rest, resilient_parsing=False)
