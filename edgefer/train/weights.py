"""Resolve `--weights imagenet|none|PATH` into a ready backbone, with clear errors instead of tracebacks.

A PATH is a no-top `.h5` / `.weights.h5` for the backbone, or an earlier run's `model.keras`, whose
backbone weights are taken (to continue training from them, at the same or another input size).
`imagenet` uses the Keras cache (~/.keras/models, or $KERAS_HOME/models) and downloads into it only
when the file is missing (the user asked for ImageNet weights, so that is the one network access).
"""

from __future__ import annotations

import os
from pathlib import Path

from edgefer.errors import ModelError, first_line
from edgefer.train.backbones import BackboneSpec
from edgefer.train.packaged_start import is_packaged, packaged_source


def keras_models_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def weights_description(weights: str) -> str:

    if is_packaged(weights):
        return packaged_source(weights).describe()
    if weights == "imagenet":
        return "ImageNet (Keras applications)"
    if weights == "none":
        return "none: random initialisation, trained from scratch (no ImageNet weights)"
    return f"file: {weights}"


def build_base(spec: BackboneSpec, img_size: int, weights: str, alpha: float = 1.0):
    """The backbone without its top (at width `alpha`), with the requested weights loaded."""
    shape = (img_size, img_size, 3)
    if weights == "none":
        return spec.build(shape, None, alpha)
    if weights == "imagenet":
        if not spec.has_imagenet:
            raise ModelError(f"no ImageNet weights exist for {spec.name} (Keras publishes none); "
                             f"use --weights none (from scratch) or --weights PATH (weights of your own)")
        return _imagenet_base(spec, shape, alpha)
    return _file_base(spec, shape, Path(weights), alpha)


def _imagenet_base(spec: BackboneSpec, shape, alpha: float):
    cached = keras_models_dir() / spec.imagenet_file(shape[0], alpha)
    try:
        return spec.build(shape, "imagenet", alpha)
    except Exception as error:  # Keras raises a bare Exception on fetch failure
        if "fetch failure" not in str(error) and "URL" not in str(error) and cached.exists():
            raise ModelError(f"{cached}: cached ImageNet weights do not load ({error}); delete the file") from None
        raise ModelError(
            f"ImageNet weights for {spec.name} are not cached and could not be downloaded ({_short(error)}).\n"
            f"  Options: --weights none (train from scratch; results will say so),\n"
            f"           --weights PATH (a Keras no-top weights .h5 for {spec.name}),\n"
            f"           or place the file at {cached} (download it on a machine with network)."
        ) from None


def _file_base(spec: BackboneSpec, shape, path: Path, alpha: float):
    if not path.is_file():
        raise ModelError(f"{path}: weights file not found; expected 'imagenet', 'none' or a .h5 weights file")
    base = spec.build(shape, None, alpha)
    if path.suffix == ".keras":
        return _base_from_run_model(base, path)
    try:
        base.load_weights(str(path))
    except Exception as error:
        raise ModelError(
            f"{path}: cannot load as {spec.name} no-top weights ({_short(error)}); "
            f"expected the Keras file {spec.imagenet_file(shape[0], alpha)} or weights saved from the same backbone"
        ) from None
    return base


def _base_from_run_model(base, path: Path):
    """The backbone weights of an earlier run's model.keras (to continue training it at any input size)."""
    import keras

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        source = next(layer for layer in model.layers if isinstance(layer, keras.Model))
        base.set_weights(source.get_weights())
    except StopIteration:
        raise ModelError(f"{path}: holds no backbone sub-model; expected a model.keras from edgefer train") from None
    except Exception as error:
        raise ModelError(f"{path}: cannot take {base.name} weights from it ({_short(error)}); "
                         f"expected a model.keras of the same backbone from edgefer train") from None
    return base


def _short(error: Exception) -> str:
    return first_line(error)
