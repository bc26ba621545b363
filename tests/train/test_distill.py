"""Knowledge distillation: the loss, the soft targets, and a student that learns the teacher's outputs."""

import json

import numpy as np
import pytest

from edgefer.errors import ConfigError, ModelError
from edgefer.train.config import TrainConfig
from edgefer.train.distill import distillation_loss, load_teacher, soften, teacher_targets
from edgefer.train.training import train
from helpers import TEST_BACKBONE, separable_faces


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


class _LeftBrightnessTeacher:
    """A stand-in teacher whose answer depends on which half of the face is brighter: mirroring changes it."""

    def predict(self, faces):
        left = faces[:, :, :24].mean(axis=(1, 2, 3))
        right = faces[:, :, 24:].mean(axis=(1, 2, 3))
        p_left = 1 / (1 + np.exp(-(left - right) / 20))
        return np.stack([p_left, 1 - p_left], axis=1).astype(np.float32)


def test_flip_averaged_teacher_targets_are_the_mean_of_the_face_and_its_mirror():
    faces = np.zeros((3, 48, 48), np.uint8)
    faces[0, :, :24] = 200  # bright left half
    faces[1, :, 24:] = 120  # bright right half
    faces[2] = 90  # symmetric
    hard = np.eye(2, dtype=np.float32)[[0, 1, 0]]
    teacher = _LeftBrightnessTeacher()
    plain = teacher_targets(teacher, faces, hard, 1.0)
    flipped = teacher_targets(teacher, faces, hard, 1.0, tta="flip")
    np.testing.assert_array_equal(flipped[:, :2], hard)
    mirror = teacher.predict(faces[:, :, ::-1, None])
    np.testing.assert_allclose(flipped[:, 2:], (plain[:, 2:] + mirror) / 2, atol=1e-6)
    assert plain[0, 2] > 0.99 and flipped[0, 2] == pytest.approx(0.5, abs=1e-6)  # the asymmetry averages out
    np.testing.assert_allclose(flipped[2, 2:], plain[2, 2:], atol=1e-6)  # a symmetric face is unchanged


def test_an_unknown_teacher_tta_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--teacher-tta 'rotate'; expected one of none, flip"):
        TrainConfig(weights="none", teacher=str(tmp_path / "teacher.keras"), kd_tta="rotate").validate()


def test_teacher_tta_without_a_teacher_is_refused():
    with pytest.raises(ConfigError, match="--teacher-tta flip averages a teacher's targets; give the teacher with --teacher"):
        TrainConfig(weights="none", kd_tta="flip").validate()


def kl_to_teacher(teacher_probs, student_probs, temperature=4.0):
    t, s = soften(teacher_probs, temperature), soften(student_probs, temperature)
    return float((t * (np.log(t) - np.log(s))).sum(axis=1).mean())


def test_on_a_toy_problem_a_distilled_student_matches_the_teacher_better():
    """A linear softmax teacher over 10-d inputs; the same linear student trained on its hard labels vs on
    its soft targets (the edgefer loss, w=0.9): only the soft targets carry the teacher's confidence."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 10)).astype(np.float32)
    logits = x @ rng.normal(size=(10, 4)).astype(np.float32) * 0.7
    teacher = np.exp(logits - logits.max(1, keepdims=True))
    teacher /= teacher.sum(1, keepdims=True)
    hard = np.eye(4, dtype=np.float32)[teacher.argmax(1)]

    def fit(loss, targets):
        keras.utils.set_random_seed(1)
        student = keras.Sequential([keras.Input((10,)), keras.layers.Dense(4, activation="softmax")])
        student.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
        student.fit(x[:1500], targets[:1500], batch_size=100, epochs=30, verbose=0)
        return student.predict(x[1500:], verbose=0)

    on_hard = fit(keras.losses.CategoricalCrossentropy(), hard)
    distilled = fit(distillation_loss(4, 2.0, 0.9, 0.0), np.concatenate([hard, soften(teacher, 2.0)], axis=1))
    distances = {"hard": kl_to_teacher(teacher[1500:], on_hard, 1.0), "soft": kl_to_teacher(teacher[1500:], distilled, 1.0)}
    assert distances["soft"] < 0.5 * distances["hard"], distances


def test_train_with_a_teacher_records_it_and_runs_end_to_end(trained_run, exported, tmp_path):
    """The exported fp32 teacher: a Keras teacher's own conversion is checked in the cached-twin test below."""
    data = json.loads((trained_run / "run.json").read_text())["config"]["data"]
    teacher = exported[0] / exported[1]["fp32"].file
    result = train(TrainConfig(weights="none", img_size=32, epochs=2, batch_size=64, data=data, model=TEST_BACKBONE,
                               teacher=str(teacher), kd_tta="flip", out=str(tmp_path / "runs")))
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["complete"] and run["config"]["teacher"] == str(teacher)
    assert run["config"]["kd_temperature"] == 4.0 and run["config"]["kd_weight"] == 0.7
    assert run["config"]["kd_tta"] == "flip"
    history = (result.run_dir / "history.csv").read_text().splitlines()
    assert "teacher_seconds" in history[0] and len(history) == 3
    assert 0.0 <= result.metrics["test"]["accuracy"] <= 1.0


def test_teacher_must_fit_and_exist(tmp_path, trained_run):
    with pytest.raises(ModelError, match="no teacher model here"):
        train(TrainConfig(weights="none", img_size=32, epochs=1, teacher=str(tmp_path), out=str(tmp_path / "r")))
    with pytest.raises(ConfigError, match="--teacher needs a student that trains on faces"):
        TrainConfig(weights="imagenet", teacher=str(trained_run)).validate()


@pytest.mark.parametrize("artifact", ["fp32", "onnx"])
def test_an_exported_teacher_gives_the_keras_teachers_probabilities(trained_run, exported, artifact):
    """A teacher exported to fp32 TFLite or ONNX (faster on a CPU) stands in for its Keras model."""
    folder, results = exported
    faces, _ = separable_faces(4, seed=5)
    keras_probs = load_teacher(trained_run, 7).predict(faces[..., None])
    exported_probs = load_teacher(folder / results[artifact].file, 7).predict(faces[..., None])
    assert exported_probs.shape == (len(faces), 7)
    np.testing.assert_allclose(exported_probs, keras_probs, atol=1e-3)


def test_an_exported_teacher_must_fit(exported, tmp_path):
    folder, results = exported
    with pytest.raises(ModelError, match="gives 7 outputs; expected .* 3 class probabilities"):
        load_teacher(folder / results["fp32"].file, 3)
    with pytest.raises(ModelError, match="expected a run folder with model.keras or a .keras, .tflite, .onnx, .npz file"):
        load_teacher(folder / "labels.json", 7)


def test_a_keras_teacher_runs_as_its_cached_tflite_twin(trained_run, tmp_path):
    """With a cache folder a Keras teacher is converted once to fp32 TFLite, gives the same probabilities,
    and a second load (a resumed run) reuses the cached file instead of converting again."""
    faces, _ = separable_faces(4, seed=6)
    keras_probs = load_teacher(trained_run, 7).predict(faces[..., None])
    twin = load_teacher(trained_run, 7, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("teacher-*-fp32.tflite")
    assert type(twin).__name__ == "_ArtifactTeacher"
    np.testing.assert_allclose(twin.predict(faces[..., None]), keras_probs, atol=1e-3)
    stamp = cached.stat().st_mtime_ns
    load_teacher(trained_run, 7, cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == stamp and len(list(tmp_path.iterdir())) == 1


def test_a_keras_teacher_stays_in_keras_when_conversion_fails(trained_run, tmp_path, monkeypatch, capsys):
    import edgefer.train.distill as distill

    def no_converter(model, calibration):
        raise RuntimeError("no TensorFlow here")

    monkeypatch.setattr(distill, "tflite_fp32", no_converter)
    teacher = load_teacher(trained_run, 7, cache_dir=tmp_path)
    assert type(teacher).__name__ == "_KerasTeacher" and not list(tmp_path.iterdir())
    assert "teacher stays in Keras: its TFLite conversion failed (no TensorFlow here)" in capsys.readouterr().err


def test_several_teachers_are_one_ensemble_teacher(tmp_path):
    """--teacher A,B (or a .txt list): the mean of the members' probabilities."""
    from edgefer.data.sample import SAMPLE_PATH
    from edgefer.predictor import packaged_model_path
    from edgefer.train.distill import teacher_sources

    default, fast = packaged_model_path("default"), packaged_model_path("fast")
    faces = np.load(SAMPLE_PATH, allow_pickle=False)["images"][:16, ..., None]
    members = [load_teacher(path, 7).predict(faces) for path in (default, fast)]
    ensemble = load_teacher(f"{default},{fast}", 7)
    np.testing.assert_allclose(ensemble.predict(faces), (members[0] + members[1]) / 2, atol=1e-6)
    listing = tmp_path / "teachers.txt"
    listing.write_text(f"# the packaged pair\n{default}\n\n{fast}  # the fast one\n")
    assert teacher_sources(listing) == [str(default), str(fast)]
    np.testing.assert_allclose(load_teacher(listing, 7).predict(faces), ensemble.predict(faces), atol=1e-6)
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ModelError, match="lists no teacher"):
        load_teacher(tmp_path / "empty.txt", 7)


def test_a_recorded_teacher_gives_each_face_its_recorded_targets(tmp_path):
    """`edgefer teacher record`: a teacher's flip-averaged probabilities once per face, looked up by row id; in an
    ensemble the live members still see the (augmented) faces they are given."""
    from edgefer.data.loading import load_dataset
    from edgefer.predictor import packaged_model_path, with_tta
    from edgefer.train.distill import record_teacher

    dataset = load_dataset(None)
    fast = packaged_model_path("fast")
    path = record_teacher(fast, dataset, tmp_path / "fast.npz", tta="flip")
    recorded = load_teacher(path, 7)
    live = load_teacher(fast, 7)
    rows = dataset.row_ids[[5, 0, 17]]
    faces = dataset.images[[5, 0, 17], ..., None]
    np.testing.assert_allclose(recorded.recorded(rows), with_tta(live.predict, faces, "flip"), atol=1e-6)
    hard = np.eye(7, dtype=np.float32)[dataset.labels[[5, 0, 17]]]
    shifted = np.roll(faces, 3, axis=2)  # an augmented view: the recorded member keeps the face's own targets
    both = load_teacher(f"{path},{fast}", 7)
    mixed = teacher_targets(both, shifted, hard, 1.0, tta="flip", rows=rows)[:, 7:]
    expected = soften((recorded.recorded(rows) + with_tta(live.predict, shifted, "flip")) / 2, 1.0)
    np.testing.assert_allclose(mixed, expected, atol=1e-5)
    with pytest.raises(ModelError, match="needs the faces' row ids"):
        teacher_targets(both, shifted, hard, 1.0, tta="flip")
    with pytest.raises(ModelError, match="no recorded targets for data row 999999"):
        recorded.recorded(np.array([999999]))
    with pytest.raises(ModelError, match="cannot run on other faces"):
        recorded.predict(faces)
    (tmp_path / "junk.npz").write_bytes(b"not a recording")
    with pytest.raises(ModelError, match="junk.npz: not a recorded teacher"):
        load_teacher(tmp_path / "junk.npz", 7)


@pytest.mark.slow
def test_a_student_distils_from_a_recorded_member(tmp_path):
    from edgefer.data.loading import load_dataset
    from edgefer.predictor import packaged_model_path
    from edgefer.train.distill import record_teacher

    path = record_teacher(packaged_model_path("fast"), load_dataset(None), tmp_path / "fast.npz")
    result = train(TrainConfig(img_size=32, model=TEST_BACKBONE, weights="none", epochs=2, batch_size=64, seed=0,
                               out=str(tmp_path / "runs"), teacher=f"{path},{packaged_model_path('default')}",
                               kd_tta="flip"))
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["complete"] and "fast.npz" in run["config"]["teacher"]


def test_cli_teacher_record_writes_what_train_teacher_reads(tmp_path):
    """`edgefer teacher record` (the product command that replaced a benchmarks/ script) on the embedded sample."""
    from typer.testing import CliRunner

    from edgefer.cli import app
    from edgefer.data.loading import load_dataset
    from edgefer.predictor import packaged_model_path
    from helpers import one_line_error

    out = tmp_path / "fast.npz"
    result = CliRunner().invoke(app, ["teacher", "record", str(packaged_model_path("fast")), str(out), "--tta", "none"])
    assert result.exit_code == 0, result.output
    dataset = load_dataset(None)
    teacher = load_teacher(out, 7)
    probs = teacher.recorded(dataset.row_ids)
    assert probs.shape == (len(dataset.labels), 7) and np.allclose(probs.sum(1), 1, atol=0.02)  # int8 outputs: steps of 1/256
    assert np.mean(probs.argmax(1) == dataset.labels) > 0.5  # the fast model knows these faces
    one_line_error(CliRunner().invoke(app, ["teacher", "record", "fast", str(out), "--tta", "twice"]), "--tta")


def test_a_teacher_with_more_classes_is_used_on_the_students_by_name():
    """The FER+ model (8 classes, with Contempt) teaching a 7-class FER2013 student: its probabilities of the seven,
    renormalised, in the student's order."""
    from edgefer.data.classes import FER2013_CLASSES
    from edgefer.predictor import packaged_model_path
    from edgefer.train.distill import load_teacher

    path = packaged_model_path("ferplus")
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1), dtype=np.uint8)
    full = load_teacher(path, 8).predict(faces)
    seven = load_teacher(path, 7, classes=FER2013_CLASSES).predict(faces)
    assert seven.shape == (8, 7) and np.allclose(seven.sum(1), 1, atol=1e-5)
    assert np.allclose(seven, full[:, :7] / full[:, :7].sum(1, keepdims=True), atol=1e-5)
    with pytest.raises(ModelError, match="gives 8 outputs"):
        load_teacher(path, 7)  # without the student's class names it cannot be matched
