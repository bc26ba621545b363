"""Multiply-accumulates per face: exact on a network counted by hand, the same number from every format of one model."""

import pytest

from edgefer.core.compute import count_macs, keras_model_macs, millions
from edgefer.errors import ModelError


def test_a_small_network_counts_what_is_counted_by_hand():
    from edgefer.core.keras_env import import_keras

    keras = import_keras()
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False)(inputs)  # 4x4 out x (3*3*1*4)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 4x4 out x (3*3*4*1)
    x = keras.layers.Conv2D(6, 1)(x)  # 4x4 out x (1*1*4*6)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(7)(x)  # 6*7
    inner = keras.Model(inputs, outputs)
    outer = keras.Sequential([keras.Input((8, 8, 1)), inner])  # a backbone nested in a classifier counts too
    expected = 16 * 36 + 16 * 36 + 16 * 24 + 42
    assert keras_model_macs(inner) == expected
    assert keras_model_macs(outer) == expected


def test_every_format_of_one_model_has_the_same_count(exported, trained_run):
    folder, _ = exported
    reference = count_macs(trained_run / "model.keras")
    assert reference > 1_000_000  # a MobileNetV2 at 32 px, not a handful of ops
    for name in ("model_fp32.tflite", "model_fp16.tflite", "model_dynamic.tflite", "model_int8.tflite",
                 "model.onnx"):
        assert count_macs(folder / name) == pytest.approx(reference, rel=0.01), name


def test_packaged_models_count_as_their_architectures():
    from edgefer.predictor import packaged_model_path
    from edgefer.train.plaincnn import PLAINCNN_DEEP_LAYERS, PLAINCNN_DEEP_WIDTHS
    from edgefer.train.scratch_blocks import scaled

    default, fast = count_macs(packaged_model_path("default")), count_macs(packaged_model_path("fast"))
    assert 20e6 < default < 30e6  # MobileNetV2 a1.0 at 64 px: about (64/224)^2 of its 300 M at 224 px
    # fast: plaincnn-deep a0.5 at 48 px, dense 3x3 convolutions (3 gray-to-RGB channels in), side halved by each
    # stage's pool, down to its extra 3 px stage
    macs, channels, side = 0, 3, 48
    for stage, (width, count) in enumerate(zip(PLAINCNN_DEEP_WIDTHS, PLAINCNN_DEEP_LAYERS)):
        side = side // 2 if stage else side
        for _ in range(count):
            macs, channels = macs + side * side * 9 * channels * scaled(width, 0.5), scaled(width, 0.5)
    assert abs(fast - macs) / macs < 0.03, (fast, macs)
    assert packaged_model_path("fast").stat().st_size < packaged_model_path("default").stat().st_size


def test_files_it_cannot_count_say_so(tmp_path):
    with pytest.raises(ModelError, match="expected one of .tflite, .onnx, .keras"):
        count_macs(tmp_path / "model.h5")
    broken = tmp_path / "model.tflite"
    broken.write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelError, match="model.tflite: cannot count"):
        count_macs(broken)
    assert millions(24_457_472) == "24.5" and millions(None) == "?"
