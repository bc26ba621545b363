"""The FER model: raw 48x48x1 face in, class probabilities out, preprocessing inside the graph.

    face (48,48,1) float 0..255 -> Resizing(S,S, bilinear) -> gray to 3 channels -> backbone scaling
    -> backbone (include_top=False) -> GlobalAveragePooling2D  [= "features"]
    -> Dropout -> Dense(relu)... -> Dropout -> Dense(softmax)   [= the head]

Because the preprocessing is made of layers, every exported artifact takes the raw face and the
device needs no preprocessing code that could drift from training. The head's layers are shared
between the full model and a small head-only model, so simple mode can train the head on cached
features and still save the complete model.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgefer.core.keras_env import import_keras
from edgefer.data.dataset import IMAGE_SIZE
from edgefer.train.backbones import get_backbone
from edgefer.train.config import TrainConfig
from edgefer.train.packaged_start import is_packaged
from edgefer.train.weights import build_base

INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
FEATURES_LAYER = "features"


@dataclass
class FERModel:
    full: object  # keras.Model: face -> probabilities
    features: object  # keras.Model: face -> pooled backbone features
    head: object  # keras.Model: features -> probabilities (shares layers with `full`)
    base: object  # the backbone (for freezing/unfreezing)


def _preprocess(keras, x, img_size: int, spec):
    x = keras.layers.Resizing(img_size, img_size, interpolation="bilinear", name="resize")(x)
    x = keras.layers.Concatenate(axis=-1, name="gray_to_rgb")([x, x, x])
    if spec.scaling_layer is not None:
        x = spec.scaling_layer()(x)
    return x


def _head_layers(keras, config: TrainConfig, num_classes: int) -> list:
    layers = [keras.layers.Dropout(config.dropout, name="head_dropout_0")]
    for i, units in enumerate(config.dense_units, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"head_dense_{i}"))
        layers.append(keras.layers.Dropout(config.dropout, name=f"head_dropout_{i}"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="probabilities"))
    return layers


def build_model(config: TrainConfig, num_classes: int, *, weights: str | None = None) -> FERModel:
    """Build the full model; `weights` overrides config.weights (e.g. 'none' when restoring a checkpoint)."""
    keras = import_keras()
    config = config.resolved()
    spec = get_backbone(config.model)
    weights = weights if weights is not None else config.weights
    # A packaged start is built empty; the trainer then loads the packaged model's weights (packaged_start).
    base = build_base(spec, config.img_size, "none" if is_packaged(weights) else weights, config.alpha)
    base.trainable = False
    if config.bn_momentum is not None:
        _fast_batchnorm_statistics(base, config.bn_momentum)
    elif config.weights == "none":
        _fast_batchnorm_statistics(base)
    face = keras.Input(INPUT_SHAPE, name="face")
    x = _preprocess(keras, face, config.img_size, spec)
    # Pretrained: BatchNorm stays in inference mode, also when fine-tuning (its ImageNet statistics
    # are kept). From scratch (weights none, base restored from a checkpoint of such a run included),
    # BatchNorm follows the training flag, or it could never learn its statistics.
    x = base(x, training=False) if config.weights != "none" else base(x)
    features = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(x)
    head_layers = _head_layers(keras, config, num_classes)
    y = features
    for layer in head_layers:
        y = layer(y)
    full = keras.Model(face, y, name=f"edgefer_{config.model}")
    feature_model = keras.Model(face, features, name=f"{config.model}_features")
    head_in = keras.Input((features.shape[-1],), name="pooled_features")
    h = head_in
    for layer in head_layers:
        h = layer(h)
    head = keras.Model(head_in, h, name="head")
    return FERModel(full=full, features=feature_model, head=head, base=base)


def _fast_batchnorm_statistics(base, momentum: float = 0.9) -> None:
    """From scratch, BatchNorm's moving statistics must catch up within a few hundred steps (Keras'
    MobileNetV2 has 0.999, which needs thousands); otherwise validation runs on stale statistics."""
    keras = import_keras()
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def unfreeze_top(base, unfreeze: str, default: int, *, freeze_batchnorm: bool = True) -> int:
    """Make the top layers of the backbone trainable (BatchNorm frozen if asked); returns the count."""
    keras = import_keras()
    count = len(base.layers) if unfreeze == "all" else default if unfreeze == "default" else int(unfreeze)
    base.trainable = True
    cut = max(len(base.layers) - count, 0)
    for i, layer in enumerate(base.layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= cut and not (freeze_batchnorm and is_bn)
    return len(base.layers) - cut
