"""The backbone registry: every entry builds a raw-face model with preprocessing inside it."""

import numpy as np
import pytest

from edgefer.backbones import BACKBONE_NAMES, get_backbone
from edgefer.config import TrainConfig
from edgefer.errors import ModelError
from edgefer.model import build_model, unfreeze_top


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
    with pytest.raises(ModelError, match="unknown model 'resnet'; expected one of mobilenetv2, efficientnetb0"):
        TrainConfig(model="resnet").validate()
