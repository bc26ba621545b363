"""Knowledge distillation: the loss, the soft targets, and a student that learns the teacher's outputs."""

import json

import numpy as np
import pytest

from conftest import separable_faces
from edgefer.config import TrainConfig
from edgefer.distill import distillation_loss, soften
from edgefer.errors import ModelError
from edgefer.training import train


def test_softened_targets_keep_the_order_and_flatten():
    p = np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]], np.float32)
    soft = soften(p, 4.0)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    assert (soft.argmax(1) == p.argmax(1)).all() and soft.max() < p.max()
    np.testing.assert_allclose(soften(p, 1.0), p, rtol=1e-5)


def test_loss_is_cross_entropy_without_teacher_weight_and_zero_kl_on_a_perfect_match():
    import keras

    hard = np.eye(3, dtype=np.float32)[[0, 1]]
    student = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]], np.float32)
    ce = -np.log(student[[0, 1], [0, 1]]).mean()
    matched = np.concatenate([hard, soften(student, 2.0)], axis=1)
    only_hard = distillation_loss(3, 2.0, 0.0, 0.0)(matched, student)
    assert float(keras.ops.convert_to_numpy(only_hard)) == pytest.approx(ce, rel=1e-5)
    only_soft = distillation_loss(3, 2.0, 1.0, 0.0)(matched, student)
    assert float(keras.ops.convert_to_numpy(only_soft)) == pytest.approx(0.0, abs=1e-5)
    other = np.concatenate([hard, soften(student[::-1], 2.0)], axis=1)
    assert float(keras.ops.convert_to_numpy(distillation_loss(3, 2.0, 1.0, 0.0)(other, student))) > 0.01


def kl_to_teacher(teacher_probs, student_probs, temperature=4.0):
    t, s = soften(teacher_probs, temperature), soften(student_probs, temperature)
    return float((t * (np.log(t) - np.log(s))).sum(axis=1).mean())


def test_a_distilled_student_matches_the_teacher_better_than_one_on_hard_labels(trained_run, tmp_path):
    """Same student, data, seed and epochs; only the targets differ."""
    import keras

    data = json.loads((trained_run / "run.json").read_text())["config"]["data"]
    common = dict(weights="none", img_size=32, epochs=4, batch_size=32, data=data, seed=3, augment="none",
                  alpha=0.35, warmup_epochs=0)
    hard = train(TrainConfig(out=str(tmp_path / "hard"), **common))
    soft = train(TrainConfig(out=str(tmp_path / "soft"), teacher=str(trained_run), kd_weight=0.9, **common))
    run = json.loads((soft.run_dir / "run.json").read_text())
    assert run["config"]["teacher"] == str(trained_run) and run["config"]["kd_temperature"] == 4.0
    assert "teacher_seconds" in (soft.run_dir / "history.csv").read_text()
    faces = separable_faces(8, seed=12)[0][..., None].astype(np.float32)
    teacher = keras.saving.load_model(trained_run / "model.keras", safe_mode=True).predict(faces, verbose=0)
    students = {name: keras.saving.load_model(r.run_dir / "model.keras", safe_mode=True).predict(faces, verbose=0)
                for name, r in (("hard", hard), ("soft", soft))}
    distances = {name: kl_to_teacher(teacher, probs) for name, probs in students.items()}
    print("KL to teacher", distances)
    assert distances["soft"] < distances["hard"], distances


def test_teacher_must_fit_and_exist(tmp_path, trained_run):
    with pytest.raises(ModelError, match="no teacher model here"):
        train(TrainConfig(weights="none", img_size=32, epochs=1, teacher=str(tmp_path), out=str(tmp_path / "r")))
    with pytest.raises(ModelError, match="--teacher needs a student that trains on faces"):
        TrainConfig(weights="imagenet", teacher=str(trained_run)).validate()
