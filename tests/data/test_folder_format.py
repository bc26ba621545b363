"""The Kaggle folder layout: train/<class>/*, test/<class>/*, with name variants and conversions."""

import numpy as np
import pytest
from PIL import Image

from edgefer import DataError, load_dataset
from helpers import faces


def save_gray(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode="L").save(path)


@pytest.fixture
def kaggle_tree(tmp_path):
    root = tmp_path / "kaggle"
    images = faces(8)
    layout = [("train", "angry"), ("train", "Disgusted"), ("train", "FEARFUL"), ("train", "happy"),
              ("test", "surprised"), ("test", "sad"), ("test", "neutral"), ("test", "angry")]
    for i, ((split, name), pixels) in enumerate(zip(layout, images)):
        save_gray(root / split / name / f"im{i}.png", pixels)
    return root, images


def test_reads_tree_with_case_insensitive_class_variants(kaggle_tree):
    root, images = kaggle_tree
    ds = load_dataset(root, use_cache=False)
    assert ds.report.format == "image-folders"
    by_split = {s: ds.split(s) for s in ds.split_names()}
    assert sorted(by_split) == ["PublicTest", "Training"]
    assert sorted(by_split["Training"].labels.tolist()) == [0, 1, 2, 3]
    assert sorted(by_split["PublicTest"].labels.tolist()) == [0, 4, 5, 6]
    # the angry training face round-trips exactly (PNG is lossless)
    angry = by_split["Training"].subset(by_split["Training"].labels == 0)
    np.testing.assert_array_equal(angry.images[0], images[0])
    assert ds.report.converted == 0


def test_converts_color_and_resizes_and_counts(kaggle_tree):
    root, _ = kaggle_tree
    rgb = np.random.default_rng(1).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(rgb, mode="RGB").save(root / "train" / "happy" / "big.jpg")
    (root / "train" / "happy" / "Thumbs.db").write_bytes(b"x")
    ds = load_dataset(root, use_cache=False)
    assert len(ds) == 9 and ds.images.shape[1:] == (48, 48)
    assert ds.report.converted == 1 and ds.report.ignored_files == 1
    assert any("converted 1 image" in line for line in ds.report.lines())


def test_split_folder_itself_is_training(kaggle_tree):
    root, _ = kaggle_tree
    ds = load_dataset(root / "train", use_cache=False)
    assert ds.split_names() == ["Training"] and len(ds) == 4


def test_unknown_class_folder(kaggle_tree):
    root, images = kaggle_tree
    save_gray(root / "train" / "bored" / "x.png", images[0])
    with pytest.raises(DataError, match=r"bored: unknown class folder; expected one of .*disgusted"):
        load_dataset(root, use_cache=False)


def test_unknown_split_folder(kaggle_tree):
    root, images = kaggle_tree
    save_gray(root / "holdout" / "angry" / "x.png", images[0])
    with pytest.raises(DataError, match=r"holdout: unknown split folder"):
        load_dataset(root, use_cache=False)


def test_empty_folders(tmp_path, kaggle_tree):
    root, _ = kaggle_tree
    (root / "train" / "neutral").mkdir()
    with pytest.raises(DataError, match=r"neutral: empty folder; expected images \(.png, .jpg"):
        load_dataset(root, use_cache=False)
    empty = tmp_path / "nothing" / "train"
    empty.mkdir(parents=True)
    with pytest.raises(DataError, match=r"train: empty folder; expected class folders"):
        load_dataset(empty.parent, use_cache=False)


def test_unreadable_image_named_and_skippable(kaggle_tree):
    root, _ = kaggle_tree
    bad = root / "test" / "sad" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match=r"broken.png: unreadable image"):
        load_dataset(root, use_cache=False)
    ds = load_dataset(root, skip_bad=True, use_cache=False)
    assert len(ds) == 8 and ds.report.skipped == 1 and "broken.png" in ds.report.skipped_examples[0]
