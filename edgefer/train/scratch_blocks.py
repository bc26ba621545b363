"""The pieces every backbone edgefer builds itself shares (the face-sized ResNet-18, the plain CNN): they come without
a top and without published weights, take a width multiplier, and are made of convolution + BatchNorm pairs."""

from __future__ import annotations

from edgefer.core.keras_env import import_keras


def scratch_input(name: str, input_shape, include_top: bool, weights):
    """(keras, the model's Input) for backbone `name`, refusing what Keras' constructors accept but it cannot have."""
    if include_top or weights is not None:
        raise ValueError(f"{name} is built without a top and without pretrained weights")
    keras = import_keras()
    return keras, keras.Input(input_shape, name=f"{name}_input")


def scaled(width: int, alpha: float) -> int:
    """A layer's width at multiplier `alpha` (never under 8 channels)."""
    return max(8, round(width * alpha))


def conv_bn(layers, x, filters: int, kernel: int, stride: int, name: str):
    """A bias-free convolution (`name`_conv) and its BatchNormalization (`name`_bn): the pair edgefer's packaged start
    refills from an int8 file, whose folded bias the BatchNorm carries."""
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x)
