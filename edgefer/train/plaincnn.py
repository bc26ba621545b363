"""A plain 3x3 convolution stack for 48 px faces: the packaged-model shape that int8 CPUs run fastest.

MobileNetV2's depthwise convolutions save multiply-accumulates but are memory-bound: on a 2-core Xeon with AVX-512
VNNI, XNNPACK's int8 kernels spend 0.58 ms per face on MobileNetV2 1.0 at 64 px (24.5 MMAC) and 0.31 ms on 0.75 at
48 px (11.3 MMAC), but 0.24 ms on this network at alpha 0.5 (24.9 MMAC) and 0.42 ms at 0.75 (55.3 MMAC): dense 3x3
convolutions run about three times as many multiply-accumulates in the same time (`python
research/input_size_latency.py --models mobilenetv2,plaincnn --alphas 0.5,0.625,0.75,1.0 --sizes 48,64 --threads 1`
measures both on the machine at hand; benchmarks/figures/plaincnn-latency-intel-avx512). So at a packaged model's
latency a plain network can be several times wider; the packaged `fast` is `plaincnn_deep` at alpha 0.5.

The layout is VGG's, sized for FER2013's faces: a 3x3 stem at 48 px, then three stages of max-pool and two
convolution-BatchNorm-ReLU layers (24, 12 and 6 px). `alpha` scales every width (32-64-128-256 at 1.0: 96 MMAC).
`plaincnn_deep` adds a fourth pooled stage of one 512 x alpha convolution at 3 px: it doubles the weights for about
10% more multiply-accumulates (at alpha 0.5: 27.5 instead of 24.9 MMAC, 0.26 instead of 0.24 ms on the Xeon above),
capacity where a 48 px face costs least time. Keras publishes no weights for either, so they train from scratch or
from an edgefer run; the registry refuses `--weights imagenet` for them.
"""

from __future__ import annotations

from edgefer.train.scratch_blocks import conv_bn, scaled, scratch_input

PLAINCNN_WIDTHS = (32, 64, 128, 256)
PLAINCNN_LAYERS = (1, 2, 2, 2)  # convolutions per stage; every stage after the stem starts with a 2x2 max-pool
PLAINCNN_DEEP_WIDTHS = PLAINCNN_WIDTHS + (512,)  # plaincnn_deep: one more stage, at 3 px for a 48 px face,
PLAINCNN_DEEP_LAYERS = PLAINCNN_LAYERS + (1,)  # of one convolution


def plaincnn(input_shape, include_top: bool = False, weights=None, alpha: float = 1.0):
    """The backbone (no top): output the last stage's feature map (6x6 for a 48 px face)."""
    return _plain_stack("plaincnn", PLAINCNN_WIDTHS, PLAINCNN_LAYERS, input_shape, include_top, weights, alpha)


def plaincnn_deep(input_shape, include_top: bool = False, weights=None, alpha: float = 1.0):
    """plaincnn and one more pooled stage: output a 3x3 feature map for a 48 px face."""
    return _plain_stack("plaincnn_deep", PLAINCNN_DEEP_WIDTHS, PLAINCNN_DEEP_LAYERS, input_shape, include_top, weights,
                        alpha)


def _plain_stack(name: str, widths, counts, input_shape, include_top: bool, weights, alpha: float):
    keras, x = scratch_input(name, input_shape, include_top, weights)
    inputs, layers = x, keras.layers
    for stage, (width, count) in enumerate(zip(widths, counts)):
        if stage:
            x = layers.MaxPooling2D(name=f"stage{stage}_pool")(x)
        for index in range(1, count + 1):
            x = conv_bn(layers, x, scaled(width, alpha), 3, 1, f"stage{stage}_{index}")
            x = layers.ReLU(name=f"stage{stage}_{index}_relu")(x)
    return keras.Model(inputs, x, name=name if alpha == 1.0 else f"{name}_a{alpha}")
