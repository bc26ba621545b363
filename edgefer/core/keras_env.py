"""Import Keras quietly and lazily: the data layer and the device predictor never pay for it."""

from __future__ import annotations

import os


def import_keras():
    """Keras 3 on whatever backend KERAS_BACKEND names (tensorflow by default, jax on GPU boxes)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def backend_name() -> str:
    return import_keras().backend.backend()
