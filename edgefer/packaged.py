"""The models shipped inside the package and their cards: what `edgefer models` lists.

Each packaged model (`edgefer.predictor.PACKAGED_MODELS`) has a card, NAME_model.json beside its .tflite, written by
`python -m edgefer.bench.ship` from real bench runs: in short fields what it was trained on, the recipe and the command
that reproduces it; accuracy on FER2013 crops and, where measured, on the photo yardstick; latency and the machine.
`edgefer models` measures latency here and recommends one (`--model auto`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edgefer.core.compute import count_macs, millions
from edgefer.core.fileio import regenerate, replace_marked
from edgefer.errors import EdgeferError
from edgefer.predictor import PACKAGED_MODELS, PredictorError, auto_model, p50_ms_per_face, packaged_model_path


@dataclass
class PackagedModel:
    name: str
    path: Path
    card: dict

    @property
    def architecture(self) -> str:
        card = self.card
        return f"{card.get('model')} a{card.get('alpha', 1.0)} {card.get('img_size')} px {card.get('format')}"

    @property
    def accuracy(self) -> float | None:
        return self.card.get("bench", {}).get("accuracy")

    def latency_ms(self, threads: str = "1") -> float | None:
        return self.card.get("bench", {}).get("latency_p50_ms", {}).get(threads)

    @property
    def labels(self) -> str:
        """What its accuracy is against: "FER2013 labels (7 classes)" or "FER+ majority labels (8 classes)"."""
        source = self.card.get("bench", {}).get("label_source", "fer2013")
        words = {"fer2013": "FER2013 labels", "ferplus": "FER+ majority labels"}.get(source, source)
        return f"{words} ({len(self.card.get('classes') or [])} classes)"

    @property
    def macs(self) -> int | None:
        """Multiply-accumulates per face, counted from the model file (None where no TFLite runtime can read it)."""
        try:
            return count_macs(self.path)
        except (EdgeferError, ImportError):
            return None

    @property
    def photo_accuracy(self) -> float | None:
        """End-to-end accuracy on the photo yardstick (`edgefer bench --photos`), where the card has it."""
        return self.card.get("photos", {}).get("accuracy")

    @property
    def ferplus_accuracy(self) -> float | None:
        """Accuracy on the same PublicTest faces against the FER+ annotators' majority (7 classes), where measured."""
        return (self.card.get("bench", {}).get("ferplus_majority") or {}).get("accuracy")

    @property
    def real_photos(self) -> dict | None:
        """End to end on a folder of real labelled photos (the London Set), where measured: accuracy and recall."""
        return self.card.get("real_photos")

    def real_photos_cell(self) -> str:
        real = self.real_photos
        if not real:
            return "-"
        recall = ", ".join(f"{k} {v:.0%}" for k, v in real["recall"].items())
        return f"{real['accuracy']:.1%} ({recall})"

    @property
    def machine(self) -> str:
        return self.card.get("bench", {}).get("machine", {}).get("cpu", "?")


def models_table(models: list[PackagedModel], here_ms: dict[str, float]):
    """The rich table `edgefer models` prints: per packaged model its classes, PublicTest accuracy (from its card),
    size, multiply-accumulates and the p50 ms per face measured on this machine (`here_ms`)."""
    from rich.table import Table

    table = Table(title="packaged models (from each card: PublicTest crops against FER2013's labels and the FER+ "
                        "majority, real photos end to end; ms: measured here, 1 thread)")
    for column in ("name", "classes", "FER2013", "FER+", "real photos", "MMAC", "MB", "ms here"):
        table.add_column(column, overflow="fold")
    for model in models:
        accuracy, here, ferplus = model.accuracy, here_ms.get(model.name), model.ferplus_accuracy
        real = model.real_photos
        table.add_row(model.name, str(len(model.card.get("classes") or [])),
                      f"{accuracy:.1%}" if accuracy is not None else "?",
                      f"{ferplus:.1%}" if ferplus is not None else "-",
                      f"{real['accuracy']:.1%}" if real else "-", millions(model.macs),
                      f"{model.path.stat().st_size / 1e6:.2f}", f"{here:.2f}" if here is not None else "?")
    return table


def card_path(model: Path) -> Path:
    return model.with_suffix(".json")


def packaged_models() -> list[PackagedModel]:
    """Every packaged model present in this install, with its card (a missing or unreadable card is an error)."""
    found = []
    for name in PACKAGED_MODELS:
        try:
            path = packaged_model_path(name)
        except PredictorError:
            continue  # not shipped in this install
        card = card_path(path)
        try:
            found.append(PackagedModel(name, path, json.loads(card.read_text())))
        except (OSError, ValueError) as error:
            raise PredictorError(f"{card}: the card of packaged model {name!r} cannot be read ({error})") from None
    return found


# The README's table of packaged models is generated from the cards, so its figures cannot drift from them:
# `python -m edgefer.packaged README.md` rewrites the part between these markers (`python -m edgefer.bench.ship`
# runs it after writing a card), and tests/predict/test_packaged.py fails when the README and the cards disagree.
README_BEGIN = "<!-- packaged-models: generated from edgefer/assets/*_model.json by `python -m edgefer.packaged README.md` -->"
README_END = "<!-- /packaged-models -->"


def readme_section(models: list[PackagedModel] | None = None) -> str:
    """The README's packaged-model table and one reproduce command per model, in Markdown, from the cards."""
    models = packaged_models() if models is None else models
    lines = [README_BEGIN,
             "| `--model` | network | MB | MMAC per face | PublicTest (int8): FER2013 labels | same faces: FER+ majority "
             "| real photos (London Set), end to end | p50 ms, 1 thread | measured on |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m in models:
        machine = m.card.get("bench", {}).get("machine", {})
        extensions = ", ".join(machine.get("vector_extensions", [])) or "?"
        accuracy, latency, ferplus = m.accuracy, m.latency_ms(), m.ferplus_accuracy
        lines.append(f"| `{m.name}` | {m.architecture} | {m.path.stat().st_size / 1e6:.2f} | {millions(m.macs)} | "
                     f"{'?' if accuracy is None else f'{accuracy:.2%}'} ({len(m.card.get('classes') or [])} classes) | "
                     f"{'-' if ferplus is None else f'{ferplus:.2%}'} | {m.real_photos_cell()} | "
                     f"{'?' if latency is None else f'{latency:.2f}'} | {m.machine} ({extensions}) |")
    lines.append("")
    lines += [f"- `{m.name}`: {m.card.get('recipe', '?')}; trained on {m.card.get('trained_on', '?')}. Reproduce: "
              f"`{m.card.get('reproduce', '?')}`" for m in models]
    return "\n".join(lines + [README_END])


def replace_readme_section(text: str, section: str) -> str:
    """`text` with the part between the markers replaced by `section` (a PredictorError if the markers are missing)."""
    try:
        return replace_marked(text, README_BEGIN, README_END, section)
    except ValueError:
        raise PredictorError(f"the README has no packaged-models markers ({README_BEGIN} ... {README_END})") from None


def main(argv=None) -> int:
    import sys

    for path in [Path(a) for a in (sys.argv[1:] if argv is None else argv)] or [Path("README.md")]:
        replace_readme_section(path.read_text(), readme_section())  # the markers must be there
        if regenerate(path, README_BEGIN, README_END, readme_section()):
            print(f"updated the packaged-models section of {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def print_models(out) -> None:
    """`edgefer models`: the packaged models' table with each one timed here, and the one `--model auto` takes."""
    models = packaged_models()
    choice = auto_model()
    here = {m.name: choice.latency_ms.get(m.name) or p50_ms_per_face(m.path, 1, 100) for m in models}  # timed once
    out.print(models_table(models, here))
    name, why = choice.reason.split(": ", 1)
    out.print(f"Recommended here: [bold]{name}[/]", highlight=False)
    out.print(f"  {why}.", highlight=False)
    out.print("Use one with --model NAME, or --model auto (EmotionPredictor(\"auto\") in Python).", highlight=False)
    out.print("ferplus answers the FER+ annotators' 8 classes (with Contempt).", highlight=False)
