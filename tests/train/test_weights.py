"""--weights imagenet|none|PATH: offline and bad files give clear errors, never a traceback."""

import pytest
from typer.testing import CliRunner

from edgefer.cli import app
from edgefer.errors import ModelError
from edgefer.train.backbones import get_backbone
from edgefer.train.config import TrainConfig
from edgefer.train.model import build_model


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached weights and no network: Keras' downloader fails as it does offline."""
    from keras.src.utils import file_utils

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/x.h5: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(file_utils, "get_file", no_network)
    return tmp_path / "keras" / "models"


@pytest.mark.parametrize("name", ["mobilenetv2", "efficientnetb0"])
def test_imagenet_offline_lists_the_options(offline, name):
    with pytest.raises(ModelError) as error:
        build_model(TrainConfig(model=name, img_size=96), num_classes=7)
    message = str(error.value)
    assert "--weights none" in message and "--weights PATH" in message
    assert str(offline / get_backbone(name).imagenet_file(96)) in message


def test_cli_offline_exits_2_without_traceback(offline):
    result = CliRunner().invoke(app, ["train", "--epochs", "1", "--img-size", "96"])
    assert result.exit_code == 2
    assert "ImageNet weights for mobilenetv2 are not cached" in result.output and "Traceback" not in result.output


def test_unreadable_weights_file(tmp_path):
    bad = tmp_path / "weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match=r"weights.h5: cannot load as mobilenetv2 no-top weights"):
        build_model(TrainConfig(img_size=32, weights=str(bad)), num_classes=7)
    with pytest.raises(ModelError, match="weights file not found"):
        build_model(TrainConfig(img_size=32, weights=str(tmp_path / "missing.h5")), num_classes=7)


def test_mismatched_weights_file(tmp_path):
    other = build_model(TrainConfig(model="efficientnetb0", img_size=32, weights="none"), num_classes=7)
    path = tmp_path / "effnet.weights.h5"
    other.base.save_weights(path)
    with pytest.raises(ModelError, match="cannot load as mobilenetv2 no-top weights"):
        build_model(TrainConfig(model="mobilenetv2", img_size=32, weights=str(path)), num_classes=7)


def test_weights_file_round_trip(tmp_path):
    source = build_model(TrainConfig(img_size=32, weights="none"), num_classes=7)
    path = tmp_path / "mnv2.weights.h5"
    source.base.save_weights(path)
    loaded = build_model(TrainConfig(img_size=32, weights=str(path)), num_classes=7)
    for a, b in zip(source.base.get_weights(), loaded.base.get_weights()):
        assert (a == b).all()


def test_weights_from_an_earlier_runs_model_at_another_size(tmp_path):
    """--weights RUN/model.keras continues from a run's backbone, also at a new input size."""
    source = build_model(TrainConfig(img_size=32, weights="none"), num_classes=7)
    path = tmp_path / "model.keras"
    source.full.save(path)
    loaded = build_model(TrainConfig(img_size=48, weights=str(path)), num_classes=7)
    for a, b in zip(source.base.get_weights(), loaded.base.get_weights()):
        assert (a == b).all()
    other = build_model(TrainConfig(model="efficientnetb0", img_size=32, weights="none"), num_classes=7)
    other.full.save(tmp_path / "effnet.keras")
    with pytest.raises(ModelError, match="effnet.keras: cannot take .* weights from it"):
        build_model(TrainConfig(img_size=32, weights=str(tmp_path / "effnet.keras")), num_classes=7)
