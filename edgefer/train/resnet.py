"""ResNet-18 for 48 px faces: the teacher-sized network of the published FER2013 results, built from Keras layers.

ImageNet's ResNet-18 shrinks its input 4x before the first residual stage (a 7x7 stride-2 stem, then a max-pool):
a 48x48 face would reach its last stage as a 2x2 map. The FER2013 papers that reach 72-73% with a single network
(Pramerdorfer & Kampel 2016; the ResNet-18 of the widely used PyTorch FER2013 code) instead use the CIFAR form: a 3x3
stride-1 stem and no max-pool, so the four stages of two basic blocks each run at 48, 24, 12 and 6 px. That is
1.25 G multiply-accumulates per face at alpha 1.0 (11.2 M parameters; `edgefer.core.compute`): far too much for a phone, which is
why edgefer uses it as a distillation teacher (trained where a GPU is lent), not as a packaged model.

`alpha` scales every width (64-128-256-512 at 1.0). Keras publishes no weights for this form, so it trains from
scratch; the backbone registry refuses `--weights imagenet` for it.
"""

from __future__ import annotations

from edgefer.train.scratch_blocks import conv_bn, scaled, scratch_input

RESNET18_WIDTHS = (64, 128, 256, 512)
RESNET18_BLOCKS = (2, 2, 2, 2)


def resnet18(input_shape, include_top: bool = False, weights=None, alpha: float = 1.0):
    """The backbone (no top): face-sized ResNet-18, output the last stage's feature map."""
    keras, inputs = scratch_input("resnet18", input_shape, include_top, weights)
    layers = keras.layers
    x = conv_bn(layers, inputs, scaled(RESNET18_WIDTHS[0], alpha), 3, 1, "stem")
    x = layers.ReLU(name="stem_relu")(x)
    for stage, (width, blocks) in enumerate(zip(RESNET18_WIDTHS, RESNET18_BLOCKS), start=1):
        for block in range(1, blocks + 1):
            stride = 2 if stage > 1 and block == 1 else 1
            x = _basic_block(layers, x, scaled(width, alpha), stride, f"stage{stage}_block{block}")
    return keras.Model(inputs, x, name="resnet18" if alpha == 1.0 else f"resnet18_a{alpha}")


def _basic_block(layers, x, filters: int, stride: int, name: str):
    """Two 3x3 convolutions and the identity (or a 1x1 projection where the shape changes), then ReLU."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = conv_bn(layers, x, filters, 1, stride, f"{name}_proj")
    y = conv_bn(layers, x, filters, 3, stride, f"{name}_1")
    y = layers.ReLU(name=f"{name}_1_relu")(y)
    y = conv_bn(layers, y, filters, 3, 1, f"{name}_2")
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)
