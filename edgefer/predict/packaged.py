"""The models shipped inside the package and their cards: what `edgefer models` lists.

Each packaged model (`edgefer.predictor.PACKAGED_MODELS`) has a card, NAME_model.json beside its .tflite, written by
`benchmarks/ship_model.py` from a real `edgefer bench` run: how it was trained, accuracy, latency and the machine,
and the trade-off it makes against the other packaged models, so a user can choose with `--model NAME`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edgefer.predictor import PACKAGED_MODELS, PredictorError, packaged_model_path


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
    def machine(self) -> str:
        return self.card.get("bench", {}).get("machine", {}).get("cpu", "?")


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
