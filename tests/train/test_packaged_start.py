"""`--weights default|fast`: training starts from a packaged model's weights, read from its shipped int8 TFLite;
a team's own classes (`--labels folders`) get a new head, and the result exports and predicts with their names."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgefer.cli import app
from edgefer.data.sample import SAMPLE_PATH
from edgefer.errors import ConfigError
from edgefer.predictor import PACKAGED_MODELS, EmotionPredictor
from edgefer.train.config import TrainConfig
from edgefer.train.model import build_model
from edgefer.train.packaged_start import load_packaged_weights, packaged_source, tflite_layers

runner = CliRunner()


@pytest.fixture(scope="module")
def sample():
    with np.load(SAMPLE_PATH, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name", PACKAGED_MODELS)
def test_float_model_from_the_packaged_int8_gives_its_answers(name, sample):
    """Rebuilt from the shipped file alone: the Keras float model agrees with the int8 model it came from."""
    config = TrainConfig(weights=name).validate()
    source = packaged_source(name)
    assert (config.model, config.alpha, config.img_size, config.dense_units) == (source.model, source.alpha,
                                                                                 source.img_size, ())
    assert config.recipe == "finetune"
    fer = build_model(config, len(source.classes))
    load_packaged_weights(fer, source, keep_classes=source.classes)
    test = sample["usage"] == "PublicTest"
    faces, labels = sample["images"][test], sample["labels"][test]
    keras_labels = fer.full.predict(faces[..., None].astype(np.float32), verbose=0).argmax(axis=1)
    int8 = EmotionPredictor(name, num_threads=1)
    int8_labels = np.array([int8.classes.index(r.label) for r in int8.predict_batch(list(faces))])
    assert np.mean(keras_labels == int8_labels) >= 0.9
    # 140 balanced faces with FER2013 labels: chance is 14%, the int8 models 65-67% (ferplus: other labels, less)
    assert np.mean(keras_labels == labels) >= 0.45


def test_every_weighted_op_is_read_in_keras_layout():
    layers = tflite_layers(packaged_source("default").path)
    ops = [op for op, _, _ in layers]
    assert ops.count("FULLY_CONNECTED") == 1 and ops[-1] == "FULLY_CONNECTED" and len(ops) == 53
    first_kernel, first_bias = layers[0][1:]
    assert first_kernel.shape == (3, 3, 3, 32) and first_bias.shape == (32,)
    assert all(np.isfinite(k).all() and np.isfinite(b).all() for _, k, b in layers)


def test_a_packaged_start_is_checked_against_its_architecture():
    with pytest.raises(ConfigError, match="--weights default is a mobilenetv2 with --alpha 1"):
        TrainConfig(weights="default", model="efficientnetb0").validate()
    with pytest.raises(ConfigError, match="--weights fast is a plaincnn-deep with --alpha 0.5"):
        TrainConfig(weights="fast", alpha=1.0).validate()
    with pytest.raises(ConfigError, match="scratch recipe would re-learn BatchNorm"):
        TrainConfig(weights="default", recipe="scratch").validate()
    assert TrainConfig(weights="default", img_size=96).validate().img_size == 96  # any size: conv weights carry over
    assert TrainConfig(weights="none").validate().img_size == 224 and TrainConfig().validate().alpha == 1.0




@pytest.fixture(scope="module")
def own_classes_tree(sample, tmp_path_factory):
    """A team's 3 classes as folders, from the sample's Happy, Surprise and Neutral faces."""
    root = tmp_path_factory.mktemp("own") / "faces"
    names = {"joy": 3, "shock": 5, "calm": 6}
    for split, usage in (("train", "Training"), ("test", "PublicTest")):
        for name, label in names.items():
            rows = np.flatnonzero((sample["labels"] == label) & (sample["usage"] == usage))
            for row in rows:
                path = root / split / name / f"{row}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(sample["images"][row]).save(path)
    return root


def test_own_classes_fine_tuned_from_the_default_export_and_predict_with_their_names(own_classes_tree, tmp_path):
    result = runner.invoke(app, ["train", "--data", str(own_classes_tree), "--labels", "folders", "--weights", "default",
                                 "--mode", "advanced", "--epochs", "3", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    record = json.loads((run / "run.json").read_text())
    assert record["classes"] == ["calm", "joy", "shock"] and record["label_source"] == "folders"
    assert "packaged model 'default'" in record["weights"] and record["config"]["weights"] == "default"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["n"] == 60 and metrics["test"]["accuracy"] >= 0.6  # 3 classes: chance is 33%
    exported = runner.invoke(app, ["export", str(run), "--int8", "--out", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    predictor = EmotionPredictor(tmp_path / "export" / "model_int8.tflite")
    assert predictor.classes == ["calm", "joy", "shock"]
    faces = sorted((own_classes_tree / "test" / "joy").glob("*.png"))[:10]
    predicted = runner.invoke(app, ["predict", str(tmp_path / "export" / "model_int8.tflite"), *map(str, faces),
                                    "--json"])
    assert predicted.exit_code == 0, predicted.output
    labels = [face["label"] for image in json.loads(predicted.stdout) for face in image["faces"]]
    assert set(labels) <= {"calm", "joy", "shock"} and labels.count("joy") >= 6


def test_own_class_folders_need_the_option(own_classes_tree):
    from edgefer import DataError, load_dataset

    with pytest.raises(DataError, match="calm: unknown class folder.*--labels folders"):
        load_dataset(own_classes_tree, use_cache=False)
    dataset = load_dataset(own_classes_tree, labels="folders", use_cache=False)
    assert dataset.classes == ("calm", "joy", "shock") and dataset.report.label_source == "folders"
    assert sorted(dataset.split_names()) == ["PublicTest", "Training"] and len(dataset) == 240


@pytest.fixture(scope="module")
def sample_ferplus(sample, tmp_path_factory):
    """A fer2013new.csv row-aligned with the sample's source rows: 6-8 votes for its FER2013 class, the rest
    for the next class, Contempt for every 25th face (synthetic votes; the real file is not needed)."""
    rows = sample["row_ids"]
    lines = ["Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"]
    column = {6: 0, 3: 1, 5: 2, 4: 3, 0: 4, 1: 5, 2: 6, 7: 7}  # class id -> vote column
    by_row = {int(r): i for i, r in enumerate(rows)}
    for row in range(int(rows.max()) + 1):
        votes = [0] * 10
        i = by_row.get(row)
        if i is None:
            lines.append("Training,," + ",".join(map(str, [10] + [0] * 9)))
            continue
        label = 7 if i % 25 == 0 else int(sample["labels"][i])
        top = 6 + i % 3
        votes[column[label]] = top
        votes[column[(label + 1) % 8]] = 10 - top
        lines.append(f"{sample['usage'][i]},fer{row:07d}.png," + ",".join(map(str, votes)))
    path = tmp_path_factory.mktemp("ferplus") / "fer2013new.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("target", ["votes", "majority"])
def test_ferplus_training_on_votes_or_majority(target, sample_ferplus, tmp_path):
    result = runner.invoke(app, ["train", "--labels", "ferplus", "--ferplus", str(sample_ferplus), "--ferplus-target",
                                 target, "--weights", "default", "--epochs", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run,) = tmp_path.iterdir()
    record = json.loads((run / "run.json").read_text())
    assert record["config"]["ferplus_target"] == target and len(record["classes"]) == 8
    assert record["classes"][-1] == "Contempt"
    metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert metrics["n"] == 140 and metrics["accuracy"] > 0.3  # 8 classes, the 7 balanced ones from the packaged start
    agreed = metrics["where_fer2013_agrees"]
    assert 0 < agreed["n"] < metrics["n"] and 0 <= agreed["accuracy"] <= 1


def test_votes_targets_are_the_distributions_majority_the_one_hot(sample_ferplus):
    from edgefer import load_dataset
    from edgefer.train.training import fit_targets

    dataset = load_dataset(None, labels="ferplus", ferplus=sample_ferplus)
    for target in ("votes", "majority"):
        y = fit_targets(dataset, 8, TrainConfig(labels="ferplus", ferplus_target=target))
        assert y.shape == (len(dataset), 8) and np.allclose(y.sum(axis=1), 1.0, atol=1e-5)
        assert y.argmax(axis=1).tolist() == dataset.labels.tolist()
        assert (y.max(axis=1) < 1.0).all() if target == "votes" else (y.max(axis=1) == 1.0).all()
    with pytest.raises(ConfigError, match="--ferplus-target 'soft'"):
        TrainConfig(labels="ferplus", ferplus_target="soft", weights="none").validate()


def test_bench_scores_seven_class_models_on_ferplus_labels(sample_ferplus, tmp_path):
    """--labels-source ferplus: 7-class models map onto FER+'s 8 by name, Contempt counts as wrong for them."""
    result = runner.invoke(app, ["bench", "default", "--labels-source", "ferplus", "--ferplus", str(sample_ferplus),
                                 "--threads", "1", "--runs", "5", "--rounds", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["label_source"] == "ferplus" and len(report["classes"]) == 8
    (row,) = report["artifacts"]
    contempt = report["classes"].index("Contempt")
    assert row["per_class_recall"]["Contempt"] == 0.0 and sum(row["confusion_matrix"][contempt]) > 0
    assert 0.3 < row["accuracy"] < row["where_fer2013_agrees"]["accuracy"] + 0.2
    assert "acc. where FER2013 agrees" in (tmp_path / "bench.md").read_text()


def test_votes_and_a_teacher_compose(sample_ferplus, tmp_path):
    """--ferplus-target votes with --teacher: the loss sees [each face's vote distribution | the teacher's softened
    probabilities], and a student trains on that end to end (the packaged 8-class ferplus model as the teacher)."""
    from edgefer import load_dataset
    from edgefer.train.distill import load_teacher, teacher_targets
    from edgefer.train.training import fit_targets

    dataset = load_dataset(None, labels="ferplus", ferplus=sample_ferplus)
    teacher_path = packaged_source("ferplus").path
    votes = fit_targets(dataset, 8, TrainConfig(labels="ferplus", ferplus_target="votes"))
    targets = teacher_targets(load_teacher(teacher_path, 8), dataset.images[:64], votes[:64], temperature=4.0)
    assert targets.shape == (64, 16)
    assert np.allclose(targets[:, :8], votes[:64]) and (votes[:64].max(axis=1) < 1.0).all()
    assert np.allclose(targets[:, 8:].sum(axis=1), 1.0, atol=1e-5) and (targets[:, 8:].max(axis=1) < 1.0).all()

    result = runner.invoke(app, ["train", "--labels", "ferplus", "--ferplus", str(sample_ferplus), "--ferplus-target",
                                 "votes", "--weights", "default", "--mode", "advanced", "--epochs", "2",
                                 "--teacher", str(teacher_path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run,) = tmp_path.iterdir()
    config = json.loads((run / "run.json").read_text())["config"]
    assert (config["ferplus_target"], config["teacher"]) == ("votes", str(teacher_path))
    assert json.loads((run / "metrics.json").read_text())["test"]["accuracy"] > 0.3


def test_an_exported_tflite_is_a_start_and_a_subset_of_its_classes_keeps_their_rows(sample, tmp_path):
    """--weights PATH.tflite (an earlier packaged model from git history, or an export): its metadata names the
    architecture; a student with some of its classes (FER2013's seven of the FER+ model's eight) keeps those rows."""
    import shutil

    path = tmp_path / "old_ferplus.tflite"
    shutil.copy(packaged_source("ferplus").path, path)
    config = TrainConfig(weights=str(path)).validate()
    source = config.packaged_source
    assert (config.model, config.img_size, len(source.classes)) == ("mobilenetv2", 64, 8)
    assert "edgefer int8 export" in source.describe()
    seven = source.classes[:7]
    fer = build_model(config, 7)
    load_packaged_weights(fer, source, keep_classes=seven)
    faces = sample["images"][sample["usage"] == "PublicTest"]
    keras_labels = fer.full.predict(faces[..., None].astype(np.float32), verbose=0).argmax(axis=1)
    int8 = EmotionPredictor(str(path), num_threads=1)
    probs = np.array([[r.probabilities[c] for c in seven] for r in int8.predict_batch(list(faces))])
    assert np.mean(keras_labels == probs.argmax(axis=1)) >= 0.9
    with pytest.raises(Exception, match="int8 .tflite that edgefer exported"):
        TrainConfig(weights=str(packaged_source("default").path.parent / "face_detection_short_range.tflite")).validate()
