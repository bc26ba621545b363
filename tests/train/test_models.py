"""The backbone registry: every entry builds a raw-face model with preprocessing inside it."""

import numpy as np
import pytest

from edgefer.errors import ConfigError
from edgefer.train.backbones import BACKBONE_NAMES, get_backbone
from edgefer.train.config import TrainConfig
from edgefer.train.model import build_model, unfreeze_top


@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_raw_face_in_probabilities_out(name):
    fer = build_model(TrainConfig(model=name, img_size=32, weights="none"), num_classes=7)
    assert tuple(fer.full.input_shape) == (None, 48, 48, 1)
    assert tuple(fer.full.output_shape) == (None, 7)
    layer_names = [layer.name for layer in fer.full.layers]
    assert "resize" in layer_names and "gray_to_rgb" in layer_names
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    probs = fer.full.predict(faces, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    feats = fer.features.predict(faces, verbose=0)
    np.testing.assert_allclose(fer.head.predict(feats, verbose=0), probs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_unfreeze_top_layers_keeps_batchnorm_frozen(name):
    fer = build_model(TrainConfig(model=name, img_size=32, weights="none"), num_classes=7)
    assert not any(layer.trainable for layer in fer.base.layers) or not fer.base.trainable
    count = unfreeze_top(fer.base, "10", get_backbone(name).default_unfreeze)
    assert count == 10
    top = fer.base.layers[-10:]
    assert all(layer.trainable != (type(layer).__name__ == "BatchNormalization") for layer in top)
    assert not any(layer.trainable for layer in fer.base.layers[:-10])


def test_unknown_model_named():
    with pytest.raises(ConfigError, match="unknown model 'resnet'; expected one of mobilenetv2, efficientnetb0"):
        TrainConfig(model="resnet").validate()


WIDTHS = [(name, alpha) for name in BACKBONE_NAMES for alpha in get_backbone(name).alphas if alpha <= 1.0]


@pytest.mark.parametrize("name, alpha", WIDTHS)
def test_every_width_builds_and_converts_to_int8(name, alpha):
    """Each (backbone, alpha) of the registry builds a raw-face model and converts to a loadable int8 TFLite."""
    from edgefer.core.backends import TFLiteRunner
    from edgefer.export.formats import tflite_int8

    fer = build_model(TrainConfig(model=name, img_size=32, weights="none", alpha=alpha), num_classes=7)
    assert tuple(fer.full.output_shape) == (None, 7)
    full_width = build_model(TrainConfig(model=name, img_size=32, weights="none"), num_classes=7)
    if alpha < 1.0:
        assert fer.full.count_params() < full_width.full.count_params()
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1)).astype(np.uint8)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tflite"
        path.write_bytes(tflite_int8(fer.full, faces))
        probs = TFLiteRunner(path).predict(faces)
    assert probs.shape == (8, 7) and np.isfinite(probs).all()


def test_width_is_validated_and_names_the_imagenet_file():
    assert TrainConfig(weights="none", alpha=0.35).validate().run_model_name == "mobilenetv2_a0.35"
    assert TrainConfig(weights="none").validate().run_model_name == "mobilenetv2"
    with pytest.raises(ConfigError, match="--alpha 0.6 for mobilenetv2; expected one of 0.35, 0.5"):
        TrainConfig(weights="none", alpha=0.6).validate()
    with pytest.raises(ConfigError, match="--alpha 0.5 for efficientnetb0; expected one of 1.0"):
        TrainConfig(model="efficientnetb0", weights="none", alpha=0.5).validate()
    files = get_backbone("mobilenetv2").imagenet_file
    assert files(96, 0.35) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    assert files(64, 0.5) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"


def test_plaincnn_deep_is_plaincnn_and_one_more_pooled_stage():
    """plaincnn-deep's extra stage halves the feature map (6 -> 3 px at 48 px) and adds the weights of one
    512 x alpha convolution; everything before it is plaincnn's."""
    from edgefer.train.plaincnn import PLAINCNN_DEEP_WIDTHS, PLAINCNN_WIDTHS
    from edgefer.train.scratch_blocks import scaled

    shallow, deep = (build_model(TrainConfig(model=name, img_size=48, weights="none", alpha=0.5), num_classes=7)
                     for name in ("plaincnn", "plaincnn-deep"))
    assert tuple(shallow.base.output_shape[1:3]) == (6, 6) and tuple(deep.base.output_shape[1:3]) == (3, 3)
    width_in, width_out = scaled(PLAINCNN_WIDTHS[-1], 0.5), scaled(PLAINCNN_DEEP_WIDTHS[-1], 0.5)
    extra = 9 * width_in * width_out + 4 * width_out  # the convolution and its BatchNorm
    head_growth = (width_out - width_in) * 7  # the 7-class dense layer's weights on the wider features
    assert deep.full.count_params() - shallow.full.count_params() == extra + head_growth
