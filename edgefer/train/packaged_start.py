"""`--weights default` (or `fast`): start training from a model edgefer ships, offline, with nothing extra shipped.

A team with its own few thousand faces (its cameras, its light, its classes) does better starting from a network
that already knows faces than from ImageNet's photos of objects, and far better than from scratch. The packaged
models are that network. Their weights are read from the very int8 TFLite file the package ships (no second copy,
no download): every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED op's int8 weights and int32 bias (but the fixed
RGB-to-gray convolution in front, a 1x1 kernel from 3 channels to 1), dequantized
with their per-channel scales, go in op order into the matching Keras layers of the same architecture (the card
says which: model, width, input size). The converter folded each BatchNormalization into its convolution, so the
Keras BatchNormalization layers are set to pass values through and add that bias (mean 0, variance 1 - eps,
gamma 1, beta = bias); the finetune recipe keeps BatchNorm frozen, so they stay that way.

The weights are therefore the shipped model's, at int8 precision: the float model built from them scores what the
int8 model scores (measured in benchmarks/README.md). When the user's classes are the packaged model's (same names,
same order), its classifier is kept too; otherwise the head is new (a linear layer on the pooled features, trained
on the frozen base first, then the top layers fine-tuned in advanced mode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgefer.core.keras_env import import_keras
from edgefer.errors import ModelError, first_line
from edgefer.packaged import card_path
from edgefer.predictor import PACKAGED_MODELS, find_interpreter, packaged_model_path, read_model_meta

WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def is_packaged(weights: str | None) -> bool:
    """True for a packaged model's name (`default`, `fast`) that is not also a file in the current folder, or for an
    int8 .tflite that edgefer exported (its metadata names the architecture): an earlier packaged model kept from git
    history, or a model of your own."""
    if weights in PACKAGED_MODELS and not Path(weights).exists():
        return True
    return weights is not None and str(weights).lower().endswith(".tflite") and Path(weights).is_file()


@dataclass(frozen=True)
class PackagedSource:
    name: str
    path: Path
    card: dict

    @property
    def model(self) -> str:
        return self.card["model"]

    @property
    def alpha(self) -> float:
        return float(self.card.get("alpha", 1.0))

    @property
    def img_size(self) -> int:
        return int(self.card["img_size"])

    @property
    def classes(self) -> list[str]:
        return list(self.card["classes"])

    def describe(self) -> str:
        what = f"packaged model {self.name!r}" if self.name in PACKAGED_MODELS else "edgefer int8 export"
        return f"{what} ({self.path.name}, {self.model} a{self.alpha:g} {self.img_size} px, int8 weights dequantized)"


def packaged_source(name: str) -> PackagedSource:
    """The packaged model `name`, with its card; or an edgefer .tflite export, with the facts its metadata holds."""
    if str(name).lower().endswith(".tflite") and Path(name).is_file():
        return _export_source(Path(name))
    path = packaged_model_path(name)
    try:
        card = json.loads(card_path(path).read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"{card_path(path)}: the card of packaged model {name!r} cannot be read ({error})") from None
    return PackagedSource(name, path, card)


def _export_source(path: Path) -> PackagedSource:
    meta = read_model_meta(path) or {}
    missing = [key for key in ("model", "img_size", "classes") if key not in meta]
    if missing or meta.get("format") != "int8":
        raise ModelError(f"{path}: --weights takes an int8 .tflite that edgefer exported (its metadata names the "
                         f"architecture); this one has {'no ' + ', '.join(missing) if missing else 'format ' + str(meta.get('format'))}")
    return PackagedSource(path.name, path, meta)


def _dequantize(values: np.ndarray, quantization: dict) -> np.ndarray:
    scales, zeros = quantization["scales"], quantization["zero_points"]
    if values.dtype == np.float32 or not len(scales):
        return values.astype(np.float32)
    axis = quantization["quantized_dimension"]
    shape = [1] * values.ndim
    shape[axis] = -1 if len(scales) > 1 else 1
    return ((values.astype(np.float32) - zeros.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


def tflite_layers(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(op, kernel, bias) of every weighted op of a TFLite model in execution order, float32, kernels in Keras
    layout: Conv2D (kh, kw, in, out), DepthwiseConv2D (kh, kw, channels, 1), Dense (in, out)."""
    interpreter_class, _ = find_interpreter()
    try:
        interpreter = interpreter_class(model_path=str(path))  # not allocated: no delegate takes the weights
        ops = interpreter._get_ops_details()  # the interpreters' one way to list ops (ai-edge-litert, tf.lite)
        tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    except (ValueError, RuntimeError, AttributeError) as error:
        raise ModelError(f"{path}: cannot read the packaged model's weights ({first_line(error)})") from None
    layers = []
    for op in ops:
        if op["op_name"] not in WEIGHT_OPS:
            continue
        _, weight_index, bias_index = op["inputs"][:3]
        if op["op_name"] == "CONV_2D" and tuple(tensors[weight_index]["shape"]) == (1, 1, 1, 3):
            continue  # the RGB front (a fixed luma convolution, edgefer.export.rgb_input), not the network's
        weight = _dequantize(interpreter.get_tensor(weight_index), tensors[weight_index]["quantization_parameters"])
        bias = _dequantize(interpreter.get_tensor(bias_index), tensors[bias_index]["quantization_parameters"])
        if op["op_name"] == "CONV_2D":  # (out, kh, kw, in)
            kernel = weight.transpose(1, 2, 3, 0)
        elif op["op_name"] == "DEPTHWISE_CONV_2D":  # (1, kh, kw, channels)
            kernel = weight[0][..., None]
        else:  # (out, in)
            kernel = weight.T
        layers.append((op["op_name"], kernel, bias))
    return layers


def _convolutions(base) -> list[tuple[object, object]]:
    """(convolution, the BatchNormalization right after it) of the backbone, in layer order (MobileNetV2 follows
    every convolution with one), None where there is none."""
    keras = import_keras()
    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
    layers = base.layers
    return [(layer, nxt if isinstance(nxt, keras.layers.BatchNormalization) else None)
            for layer, nxt in zip(layers, layers[1:] + [None]) if isinstance(layer, kinds)]


def load_packaged_weights(fer, source: PackagedSource, keep_classes: list[str] | None) -> None:
    """Put the packaged model's weights into `fer` (built with the source's architecture); with `keep_classes` (the
    student's classes, all among the source's) its classifier's weights for those classes too, in that order."""
    layers = tflite_layers(source.path)
    convolutions = _convolutions(fer.base)
    *backbone, classifier = layers
    if len(backbone) != len(convolutions) or classifier[0] != "FULLY_CONNECTED":
        raise ModelError(f"{source.path}: {len(backbone)} convolutions and a classifier in the file, {len(convolutions)} "
                         f"in {fer.base.name}; expected the architecture its card names ({source.describe()})")
    for (layer, norm), (op, kernel, bias) in zip(convolutions, backbone):
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise ModelError(f"{source.path}: {op} weights of shape {kernel.shape} for {layer.name} {expected}; "
                             f"expected the architecture its card names ({source.describe()})")
        layer.kernel.assign(kernel)
        if norm is None:
            raise ModelError(f"{layer.name}: no BatchNormalization after it to carry the folded bias")
        norm.set_weights([np.ones_like(bias), bias, np.zeros_like(bias), np.full_like(bias, 1.0 - norm.epsilon)])
    if keep_classes:
        dense = fer.full.get_layer("probabilities")
        kernel, bias = classifier[1:]
        if kernel.shape[1] == len(source.classes):
            columns = [source.classes.index(name) for name in keep_classes]
            kernel, bias = kernel[:, columns], bias[columns]
        if tuple(dense.kernel.shape) != kernel.shape:
            raise ModelError(f"{source.path}: its classifier is {kernel.shape}, the model's {tuple(dense.kernel.shape)}")
        dense.set_weights([kernel, bias])
