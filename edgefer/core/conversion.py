"""TensorFlow Lite conversion of a Keras model, below the stages: export builds every format on it, and training
uses it to run a Keras teacher as fp32 TFLite (edgefer.train.distill), so neither reaches into the other.

`TFLiteConverter.from_keras_model` (Keras 3's `model.export` with a Resizing layer runs BatchNorm in training
mode; see benchmarks/README.md). The calibration faces of full-integer formats come with a black and a white face
first, which pins the input range to 0..255: input scale 1.0, zero point 0, so raw uint8 pixels go straight in.
"""

from __future__ import annotations

import os

import numpy as np


def tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def tflite_converter(model):
    """(tensorflow, a TFLiteConverter for the Keras model)."""
    tf = tensorflow()
    return tf, tf.lite.TFLiteConverter.from_keras_model(model)


def representative_faces(calibration: np.ndarray):
    """The converter's representative dataset: a black and a white face, then the calibration faces."""

    def faces():
        for face in (np.zeros_like(calibration[0]), np.full_like(calibration[0], 255), *calibration):
            yield [face[None].astype(np.float32)]

    return faces


def tflite_fp32(model, calibration=None) -> bytes:
    return tflite_converter(model)[1].convert()
