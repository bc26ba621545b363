"""Registry of backbones: everything model building needs to know about one Keras application.

Adding a backbone is one `BackboneSpec` entry: its constructor, the input scaling it expects
(expressed as a Keras layer so it lives inside the model), the name of its ImageNet no-top weights
file in the Keras cache, how many top layers advanced mode unfreezes by default, and the width
multipliers (`alpha`) it can be built with: MobileNetV2's 0.35-1.4 trade accuracy for speed, and
Keras publishes ImageNet no-top weights for each of them at 96-224 px.

`efficientnet-lite0` is EfficientNetB0 with Google's EfficientNet-Lite changes for integer hardware,
built from Keras' own EfficientNet constructor: ReLU6 instead of swish (bounded activations) and no
squeeze-and-excitation (whose sigmoid gates and outlier channels break full-int8 quantization of B0,
located by research/int8_blame.py); at width and depth 1.0 the "stem and head not scaled" rule
changes nothing. Keras publishes no ImageNet weights for it, so it trains from scratch (or from a
PATH of its own weights); `--weights imagenet` is refused with that reason.

`resnet18` is the face-sized ResNet-18 of the published FER2013 results (3x3 stride-1 stem, no max-pool; see
edgefer.train.resnet): a distillation teacher for a GPU, 51 times the packaged default's compute per face.

`plaincnn` is a VGG-style stack of dense 3x3 convolutions at 48 px (edgefer.train.plaincnn): int8 CPU kernels run about
three times as many of its multiply-accumulates per millisecond as MobileNetV2's depthwise ones, so it is the wider
network at a packaged model's latency. `plaincnn-deep` adds a fourth pooled stage at 3 px: twice the weights for 10%
more time. From scratch only (no published weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from edgefer.core.keras_env import import_keras
from edgefer.errors import ModelError
from edgefer.train.plaincnn import plaincnn, plaincnn_deep
from edgefer.train.resnet import resnet18

KERAS_WEIGHTS_SIZES = (96, 128, 160, 192, 224)


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    constructor: Callable  # keras.applications.X(input_shape=..., include_top=False, weights=...)
    input_scaling: str  # human-readable; recorded in run.json and model metadata
    scaling_layer: Callable[[], object] | None  # builds the layer mapping 0..255 to the backbone's range
    imagenet_file: Callable[[int, float], str]  # weights file in ~/.keras/models for (input size, alpha)
    default_unfreeze: int  # top layers unfrozen in advanced mode (about the last two blocks)
    alphas: tuple[float, ...] = (1.0,)  # width multipliers it can be built with
    has_imagenet: bool = True  # Keras publishes ImageNet no-top weights for it
    int8_note: str = ""  # what to do when its full-integer int8 export is rejected (measured cause, remedies)

    def build(self, shape: tuple[int, int, int], weights: str | None, alpha: float = 1.0):
        """The backbone without its top (weights: None or "imagenet")."""
        width = {"alpha": alpha} if self.alphas != (1.0,) else {}
        return self.constructor(input_shape=shape, include_top=False, weights=weights, **width)


MOBILENETV2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
PLAINCNN_ALPHAS = (0.5, 0.625, 0.75, 1.0, 1.5)


def _mobilenet_file(size: int, alpha: float = 1.0) -> str:
    rows = size if size in KERAS_WEIGHTS_SIZES else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


def _to_minus1_1():
    """The layer mapping 0..255 to [-1, 1] (MobileNetV2's range; the ResNet-18's too)."""
    return import_keras().layers.Rescaling(1 / 127.5, offset=-1.0, name="scale_to_minus1_1")


def _application(name: str) -> Callable:
    """keras.applications.<name>, looked up when a model is built (the registry itself imports no Keras)."""
    return lambda **kwargs: getattr(import_keras().applications, name)(**kwargs)


def _efficientnet_lite0(**kwargs):
    """EfficientNet-Lite0 from Keras' EfficientNet parts: B0's blocks without squeeze-excite, ReLU6 throughout."""
    from keras.src.applications import efficientnet

    import_keras()
    blocks = [{**block, "se_ratio": 0.0} for block in efficientnet.DEFAULT_BLOCKS_ARGS]
    return efficientnet.EfficientNet(1.0, 1.0, 224, dropout_rate=0.2, activation="relu6", blocks_args=blocks,
                                     name="efficientnet_lite0", **kwargs)


def _scratch_spec(name: str, constructor: Callable, what: str, default_unfreeze: int, alphas) -> BackboneSpec:
    """A backbone edgefer builds itself (edgefer.train.scratch_blocks): inputs in [-1, 1], no published weights."""
    return BackboneSpec(
        name=name,
        constructor=constructor,
        input_scaling="x / 127.5 - 1",
        scaling_layer=_to_minus1_1,
        imagenet_file=lambda size, alpha=1.0: f"none: Keras publishes no weights for {what}",
        default_unfreeze=default_unfreeze,
        alphas=alphas,
        has_imagenet=False,
    )


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            name="mobilenetv2",
            constructor=_application("MobileNetV2"),
            input_scaling="x / 127.5 - 1 (MobileNetV2 expects [-1, 1])",
            scaling_layer=_to_minus1_1,
            imagenet_file=_mobilenet_file,
            default_unfreeze=30,
            alphas=MOBILENETV2_ALPHAS,
        ),
        BackboneSpec(
            name="efficientnetb0",
            constructor=_application("EfficientNetB0"),
            input_scaling="0..255 in; EfficientNetB0's own Rescaling + Normalization layers",
            scaling_layer=None,
            imagenet_file=lambda size, alpha=1.0: "efficientnetb0_notop.h5",
            default_unfreeze=40,
            int8_note=("EfficientNetB0's swish activations and squeeze-excite outliers in blocks 6-7 and the head need "
                       "int8 steps of 2.6-37 (measured by research/int8_blame.py), so full int8 collapses: train "
                       "--model efficientnet-lite0 (ReLU6, no squeeze-excite) for integer-only hardware, or export "
                       "--dynamic (int8 weights, float activations) for a CPU"),
        ),
        BackboneSpec(
            name="efficientnet-lite0",
            constructor=_efficientnet_lite0,
            input_scaling="0..255 in; EfficientNet's own Rescaling (1/255) layer",
            scaling_layer=None,
            imagenet_file=lambda size, alpha=1.0: "none published by Keras for EfficientNet-Lite0",
            default_unfreeze=40,
            has_imagenet=False,
        ),
        _scratch_spec("resnet18", resnet18, "the face-sized ResNet-18", default_unfreeze=20, alphas=(0.5, 1.0)),
        _scratch_spec("plaincnn", plaincnn, "edgefer's plain CNN", default_unfreeze=9, alphas=PLAINCNN_ALPHAS),
        _scratch_spec("plaincnn-deep", plaincnn_deep, "edgefer's plain CNN", default_unfreeze=11, alphas=PLAINCNN_ALPHAS),
    )
}
BACKBONE_NAMES: tuple[str, ...] = tuple(BACKBONES)


def get_backbone(name: str) -> BackboneSpec:

    if name not in BACKBONES:
        raise ModelError(f"unknown model {name!r}; expected one of {', '.join(BACKBONES)}")
    return BACKBONES[name]
