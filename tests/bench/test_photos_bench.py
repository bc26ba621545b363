"""`edgefer bench --photos`: the built photo set (real photos + labelled proxy), scoring end to end, the report."""

import json

import numpy as np
import pytest
from PIL import Image, ImageOps
from typer.testing import CliRunner

from edgefer.bench.photos import BUCKETS, PhotoRow, _predicted_label, bucket_of, open_photo_set
from edgefer.bench.photoset import PHOTO_KINDS, REAL_PHOTOS, make_photo_set
from edgefer.cli import app
from edgefer.predictor import FER2013_CLASSES

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory):
    return make_photo_set(tmp_path_factory.mktemp("photos"), per_class=3)


def test_photo_set_has_every_size_its_faces_inside_and_is_deterministic(photo_set, tmp_path):
    truth = json.loads((photo_set / "faces.json").read_text())["faces"]
    files = sorted(p.relative_to(photo_set).as_posix() for p in photo_set.rglob("*.jpg"))
    assert sorted(truth) == files
    assert len([f for f in files if f.startswith("real/")]) == len(REAL_PHOTOS) * sum(k.per_photo for k in PHOTO_KINDS)
    assert {f.split("/")[1] for f in files if f.startswith("proxy/")} == set(FER2013_CLASSES)
    buckets, sideways = set(), 0
    for name in files:
        with Image.open(photo_set / name) as stored:
            sideways += stored.getexif().get(0x0112, 1) != 1
            image = ImageOps.exif_transpose(stored)
        buckets.add(bucket_of(*image.size))
        (x, y, w, h), = truth[name]
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= image.width and y + h <= image.height, name
    assert buckets == {b for b, _, _ in BUCKETS} and sideways >= 4
    assert "public domain" in (photo_set / "README.md").read_text()
    again = make_photo_set(tmp_path / "again", per_class=3)
    assert json.loads((again / "faces.json").read_text())["faces"] == truth
    assert np.array_equal(np.asarray(Image.open(photo_set / files[-1])), np.asarray(Image.open(again / files[-1])))


def test_labels_come_from_class_folders_and_sizes_are_upright(photo_set):
    photos = open_photo_set(str(photo_set), photo_set)
    for name, label, size in zip(photos.names, photos.labels, photos.sizes):
        assert label == (name.split("/")[1] if name.startswith("proxy/") else None)
        with Image.open(photo_set / name) as image:
            assert size == ImageOps.exif_transpose(image).size


def test_the_label_of_a_photo_is_the_face_on_the_true_box():
    boxes, labels = [[0, 0, 10, 10], [50, 50, 40, 40]], ["Sad", "Happy"]
    assert _predicted_label(boxes, labels, [[0, 0, 12, 12]]) == "Sad"  # on the truth, though smaller
    assert _predicted_label(boxes, labels, None) == "Happy"  # no truth: the largest face
    assert _predicted_label([], [], [[0, 0, 12, 12]]) is None  # no face: wrong, end to end
    row = PhotoRow("p", "file", "under 100", 4, 1.0, 2.0, {}, 3, 4, 0, 4, 3, {"Happy": 1.0, "Sad": 0.5})
    assert row.accuracy == 0.75 and row.macro_recall == 0.75


def test_photo_bench_reports_buckets_inputs_accuracy_and_plots(photo_set, tmp_path):
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["bench", "--photos", str(photo_set), "--rounds", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "photos.json").read_text())
    assert report["threads"] == 1 and (out / "photos.png").stat().st_size > 10_000
    rows = report["rows"]
    assert {r["input"] for r in rows} == {"file", "pil", "rgb", "bgr"}
    assert {r["bucket"] for r in rows} == {b for b, _, _ in BUCKETS}
    by_input = {}
    for r in rows:
        assert r["pipeline"] == "edgefer default" and 0 < r["p50_ms"] <= r["p99_ms"]
        assert 0 <= r["found"] <= r["truth"] == r["photos"]
        by_input.setdefault(r["input"], []).append((r["bucket"], r["found"], r["correct"]))
    # The same faces and labels whatever form the photo came in.
    assert by_input["file"] == by_input["pil"] == by_input["rgb"] == by_input["bgr"]
    labelled = sum(r["labelled"] for r in rows if r["input"] == "file")
    assert labelled == 3 * len(FER2013_CLASSES)
    found = sum(r["found"] for r in rows if r["input"] == "file")
    assert found >= 0.85 * sum(r["truth"] for r in rows if r["input"] == "file")
    text = (out / "photos.md").read_text()
    assert "Per-class recall" in text and "numpy bgr frame" in text and "macro-recall" in text


def test_photo_bench_says_what_it_expects(tmp_path):
    result = CliRunner().invoke(app, ["bench", "--photos", str(tmp_path / "nowhere")])
    assert result.exit_code != 0 and "expected a folder of photos" in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["bench", "--photos", str(tmp_path / "empty")])
    assert result.exit_code != 0 and "no photos here" in result.output
