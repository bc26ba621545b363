"""The from-scratch recipe: learning-rate schedule, numpy augmentation, recipe defaults recorded in run.json."""

import csv
import json

import numpy as np
import pytest

from edgefer.errors import ConfigError
from edgefer.train.augment import AUGMENT_PRESETS, AugmentSpec, augment_epoch
from edgefer.train.config import RECIPES, TrainConfig
from edgefer.train.data_feed import make_batches


def faces(n=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 48), dtype=np.uint8)


# --- schedule ---------------------------------------------------------------------------------------


def test_scratch_schedule_warms_up_then_decays_to_zero_as_a_function_of_the_epoch():
    config = TrainConfig(weights="none", epochs=60).validate()
    assert config.recipe == "scratch" and config.phase_epochs == {"train": 60}
    rates = [config.learning_rate_at("train", e, 0, 60) for e in range(60)]
    assert rates[:2] == pytest.approx([1e-3, 2e-3])  # linear warm-up over 2 epochs to the peak 2e-3
    assert rates[2] == pytest.approx(2e-3) and max(rates) == pytest.approx(2e-3)
    assert all(a > b for a, b in zip(rates[2:], rates[3:]))  # strictly decreasing after warm-up
    assert rates[-1] < 0.01 * 2e-3  # cosine all the way down
    # pure: the same epoch gives the same rate, whatever was asked before (a resumed run agrees)
    assert [config.learning_rate_at("train", e, 0, 60) for e in (37, 5, 37)] == [rates[37], rates[5], rates[37]]


def test_warmup_must_leave_epochs_to_decay():
    with pytest.raises(ConfigError, match="--warmup-epochs 5 must be less than --epochs 5"):
        TrainConfig(weights="none", epochs=5, warmup_epochs=5).validate()


# --- augmentation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", list(AUGMENT_PRESETS))
def test_augmentation_keeps_shape_dtype_and_is_deterministic_per_seed_and_epoch(preset):
    x = faces()
    spec = AUGMENT_PRESETS[preset]
    a = augment_epoch(x, spec, seed=3, epoch=7)
    assert a.shape == x.shape and a.dtype == np.uint8 and a is not x
    np.testing.assert_array_equal(a, augment_epoch(x, spec, seed=3, epoch=7))
    if spec is None:
        np.testing.assert_array_equal(a, x)
    else:
        assert not np.array_equal(a, augment_epoch(x, spec, seed=3, epoch=8))
        assert not np.array_equal(a, augment_epoch(x, spec, seed=4, epoch=7))
    np.testing.assert_array_equal(x, faces())  # the source is never modified


def test_flip_really_flips_and_only_flip_changes_when_asked():
    x = faces(16)
    flipped = augment_epoch(x, AugmentSpec(flip_p=1.0, max_shift=0, erase_p=0.0), seed=0, epoch=0)
    np.testing.assert_array_equal(flipped, x[:, :, ::-1])
    half = augment_epoch(faces(400), AugmentSpec(flip_p=0.5, max_shift=0, erase_p=0.0), seed=0, epoch=0)
    share = np.mean([np.array_equal(h, f[:, ::-1]) for h, f in zip(half, faces(400))])
    assert 0.4 < share < 0.6


def test_shift_moves_each_face_by_at_most_max_shift_with_edge_padding():
    x = np.zeros((200, 48, 48), np.uint8)
    x[:, 24, 24] = 255
    shifted = augment_epoch(x, AugmentSpec(flip_p=0.0, max_shift=5, erase_p=0.0), seed=1, epoch=0)
    moves = set()
    for face in shifted:
        (r,), (c,) = np.nonzero(face == 255)
        assert abs(r - 24) <= 5 and abs(c - 24) <= 5
        moves.add((r - 24, c - 24))
    assert len(moves) > 50  # many different shifts (121 possible)
    ramp = np.tile(np.arange(48, dtype=np.uint8) * 5, (10, 48, 1))  # a horizontal gradient
    out = augment_epoch(ramp, AugmentSpec(flip_p=0.0, max_shift=5, erase_p=0.0), seed=2, epoch=0)
    assert out.min() >= ramp.min() and out.max() <= ramp.max()  # edge padding adds no new values


def test_erasing_fills_a_rectangle_within_the_size_range_with_noise():
    x = np.full((300, 48, 48), 128, np.uint8)
    out = augment_epoch(x, AugmentSpec(flip_p=0.0, max_shift=0, erase_p=1.0, erase_min=8, erase_max=24), seed=5,
                        epoch=0)
    for face in out[:50]:
        rows, cols = np.nonzero(face != 128)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert 7 <= height <= 24 and 7 <= width <= 24  # noise may hit 128 on the rectangle's border
    assert out.std() > 10 and (out != 128).mean() > 0.05
    none = augment_epoch(x, AugmentSpec(flip_p=0.0, max_shift=0, erase_p=0.0), seed=5, epoch=0)
    np.testing.assert_array_equal(none, x)


def test_batches_of_a_resumed_epoch_equal_the_uninterrupted_ones():
    x, y = faces(100), np.eye(7, dtype=np.float32)[np.arange(100) % 7]
    spec = AUGMENT_PRESETS["standard"]
    straight = make_batches(x, y, batch_size=32, shuffle=True, seed=1, augment=spec)
    straight.on_epoch_end()  # now at epoch 1
    resumed = make_batches(x, y, batch_size=32, shuffle=True, seed=1, augment=spec, start_epoch=1)
    for i in range(len(straight)):
        for a, b in zip(straight[i], resumed[i]):
            np.testing.assert_array_equal(a, b)
    assert straight[0][0].dtype == np.float32 and straight[0][0].shape == (32, 48, 48, 1)
    assert straight.input_seconds > 0
    with pytest.raises(ValueError, match="uint8 faces"):
        make_batches(x.astype(np.float32), y, batch_size=8, shuffle=False, augment=spec)


# --- the recipe as a choice -------------------------------------------------------------------------


def test_auto_recipe_follows_the_weights_and_explicit_knobs_win():
    scratch = TrainConfig(weights="none").validate()
    assert {k: getattr(scratch, k) for k in RECIPES["scratch"]} == RECIPES["scratch"]
    finetune = TrainConfig(weights="imagenet", mode="advanced").validate()
    assert finetune.recipe == "finetune" and finetune.optimizer == "adam" and finetune.augment == "light"
    assert TrainConfig(weights="imagenet").validate().augment == "none"  # simple: cached features
    mine = TrainConfig(weights="none", optimizer="sgd", weight_decay=0.0, augment="strong", batch_size=16).validate()
    assert (mine.optimizer, mine.weight_decay, mine.augment, mine.batch_size) == ("sgd", 0.0, "strong", 16)
    assert mine.label_smoothing == 0.1  # untouched knobs keep the recipe's default
    for bad, message in [(dict(optimizer="lion"), "--optimizer 'lion'"), (dict(augment="huge"), "--augment 'huge'"),
                         (dict(recipe="magic"), "unknown recipe 'magic'")]:
        with pytest.raises(ConfigError, match=message):
            TrainConfig(weights="none", **bad).validate()


def test_cli_records_the_scratch_recipe_in_run_json_prints_a_summary_and_refuses_to_resume_it(tmp_path):
    from typer.testing import CliRunner

    from edgefer.cli import app

    out = tmp_path / "runs"
    args = ["train", "--weights", "none", "--img-size", "32", "--epochs", "3", "--batch-size", "64",
            "--optimizer", "adam", "--warmup-epochs", "1", "--augment", "light", "--out", str(out)]
    runner = CliRunner()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "training summary" in result.stdout and "from scratch" in result.stdout
    run_dir = out / "mobilenetv2-scratch"  # --weights none: the scratch recipe
    again = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert again.exit_code == 2 and "this run is complete" in again.output
    config = json.loads((run_dir / "run.json").read_text())["config"]
    assert config["recipe"] == "scratch" and config["optimizer"] == "adam" and config["warmup_epochs"] == 1
    assert config["augment"] == "light" and config["weight_decay"] == 0.05 and config["label_smoothing"] == 0.1
    assert config["batch_size"] == 64 and config["dense_units"] == []
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["phase"] for r in rows] == ["train"] * 3
    assert float(rows[0]["learning_rate"]) == pytest.approx(2e-3)  # 1 warm-up epoch reaches the peak
    assert float(rows[2]["learning_rate"]) < float(rows[1]["learning_rate"])
    assert all(float(r["input_seconds"]) >= 0 for r in rows)


def test_scratch_backbone_batchnorm_tracks_its_statistics_fast_enough():
    """Keras' MobileNetV2 ships BatchNorm momentum 0.999: from scratch its moving statistics lag so far
    behind the weights that validation collapses to one class. The recipe sets 0.99."""
    import keras

    from edgefer.train.model import build_model

    fer = build_model(TrainConfig(weights="none", img_size=32), num_classes=7)
    momenta = {layer.momentum for layer in fer.base.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert momenta == {0.99}
    custom = build_model(TrainConfig(weights="none", img_size=32, bn_momentum=0.95), num_classes=7)
    assert {layer.momentum for layer in custom.base.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.95}


# --- photo augmentation -----------------------------------------------------------------------------

PHOTO_OFF = dict(flip_p=0.0, max_shift=0, erase_p=0.0)


def smooth_faces(n=32):
    """Faces with structure (a bright disc on a gradient), so that warps and blurs have something to move."""
    yy, xx = np.mgrid[0:48, 0:48]
    base = (xx * 3 + 40 + 120 * ((yy - 24) ** 2 + (xx - 30) ** 2 < 60)).clip(0, 255).astype(np.uint8)
    return np.repeat(base[None], n, axis=0)


def test_a_warp_of_no_rotation_and_no_zoom_is_the_identity_and_rotation_keeps_the_centre():
    from edgefer.train.augment import warp

    x = smooth_faces(8)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(warp(x, rng, 0.0, 0.0), x)
    np.testing.assert_array_equal(warp(x, rng, 1e-9, 1e-9), x)  # a vanishing warp leaves every pixel in place
    dot = np.zeros((50, 48, 48), np.uint8)
    dot[:, 20:28, 20:28] = 255  # a square around the centre stays around it under rotation and zoom
    out = warp(dot, np.random.default_rng(1), 20.0, 0.1)
    assert (out[:, 23:25, 23:25] > 200).all()
    assert out[:, :10].max() == 0 and out[:, -10:].max() == 0
    assert not all(np.array_equal(o, dot[0]) for o in out)


def test_rotation_turns_a_horizontal_bar_by_at_most_the_limit():
    from edgefer.train.augment import warp

    bar = np.zeros((100, 48, 48), np.uint8)
    bar[:, 23:25, 4:44] = 255
    out = warp(bar, np.random.default_rng(2), 15.0, 0.0)
    angles = []
    for face in out:
        ys, xs = np.nonzero(face > 128)
        slope = np.polyfit(xs - xs.mean(), ys - ys.mean(), 1)[0]
        angles.append(np.degrees(np.arctan(slope)))
    angles = np.abs(angles)
    assert angles.max() <= 16.5 and angles.max() > 8  # uniform in [-15, 15]: some large turns, none beyond


@pytest.mark.parametrize("knob, value", [("lowres_p", 1.0), ("blur_p", 1.0), ("jpeg_p", 1.0), ("noise_p", 1.0),
                                         ("gamma", 0.5), ("contrast", 0.5)])
def test_each_camera_knob_alone_changes_the_faces_and_keeps_them_faces(knob, value):
    x = smooth_faces(64)
    spec = AugmentSpec(**PHOTO_OFF, **{knob: value})
    assert spec.photo
    out = augment_epoch(x, spec, seed=0, epoch=0)
    assert out.shape == x.shape and out.dtype == np.uint8
    assert not np.array_equal(out, x)
    # still the same picture: strongly correlated with the source (labels stay true)
    corr = np.corrcoef(out.reshape(64, -1).astype(float).ravel(), x.reshape(64, -1).astype(float).ravel())[0, 1]
    assert corr > 0.8, (knob, corr)
    if knob in ("lowres_p", "blur_p"):  # both remove detail: less energy in the pixel-to-pixel differences
        assert np.abs(np.diff(out.astype(float), axis=2)).mean() < np.abs(np.diff(x.astype(float), axis=2)).mean()


def test_photo_knobs_leave_the_other_presets_draws_unchanged():
    x = faces()
    plain = AugmentSpec(flip_p=0.5, max_shift=4, erase_p=0.2, erase_min=8, erase_max=20)
    photo_no_camera = AugmentSpec(flip_p=0.5, max_shift=4, erase_p=0.2, erase_min=8, erase_max=20, gamma=1e-12)
    np.testing.assert_allclose(augment_epoch(x, plain, 1, 2).astype(int),
                               augment_epoch(x, photo_no_camera, 1, 2).astype(int), atol=1)


def test_photo_p_sends_that_share_of_the_faces_through_the_photo_steps():
    x = smooth_faces(400)
    none = augment_epoch(x, AugmentSpec(**PHOTO_OFF, photo_p=0.0, gamma=0.5), seed=0, epoch=0)
    np.testing.assert_array_equal(none, x)
    half = augment_epoch(x, AugmentSpec(**PHOTO_OFF, photo_p=0.5, gamma=0.5), seed=0, epoch=0)
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(half, x)])
    assert 0.4 < changed < 0.6
    assert AUGMENT_PRESETS["photo"].photo_p == 0.5 and AUGMENT_PRESETS["photo-all"].photo_p == 1.0
