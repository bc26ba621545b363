"""Training split 80/20, stratified and seeded; the test split is PublicTest unless asked."""

import numpy as np
import pytest

from edgefer import DataError, FERDataset, split_dataset


def imbalanced(n_per_class=(50, 10, 40, 100, 30, 20, 60), test_rows=14):
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)] + [np.arange(test_rows) % 7])
    usage = ["Training"] * sum(n_per_class) + ["PublicTest"] * test_rows
    images = np.zeros((len(labels), 48, 48), np.uint8)
    images[:, 0, 0] = np.arange(len(labels)) % 256
    images[:, 0, 1] = np.arange(len(labels)) // 256
    return FERDataset(images=images, labels=labels, usage=usage)


def test_stratified_disjoint_and_complete():
    ds = imbalanced()
    splits = split_dataset(ds, val_fraction=0.2, seed=3)
    train_counts, val_counts = splits.train.class_counts(), splits.val.class_counts()
    np.testing.assert_array_equal(val_counts, [10, 2, 8, 20, 6, 4, 12])
    np.testing.assert_array_equal(train_counts + val_counts, ds.split("Training").class_counts())
    assert not set(splits.train.row_ids.tolist()) & set(splits.val.row_ids.tolist())
    assert len(splits.test) == 14 and set(splits.test.usage.tolist()) == {"PublicTest"}


def test_same_seed_same_rows_other_seed_other_rows():
    ds = imbalanced()
    a, b, c = (split_dataset(ds, seed=s).val.row_ids for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_private_test_requested_but_absent():
    with pytest.raises(DataError, match="no PrivateTest rows; this data has Training, PublicTest"):
        split_dataset(imbalanced(), test_split="PrivateTest")


def test_bad_fraction():
    with pytest.raises(DataError, match="validation fraction"):
        split_dataset(imbalanced(), val_fraction=1.5)


def test_a_runs_splits_follow_its_split_seed_or_its_seed_before_split_seed_existed():
    from edgefer.data.splits import run_splits

    ds = imbalanced()
    config = {"seed": 5, "split_seed": 1, "val_fraction": 0.2, "test_split": "PublicTest"}
    np.testing.assert_array_equal(run_splits(ds, config).val.row_ids, split_dataset(ds, seed=1).val.row_ids)
    older = {**config, "split_seed": None}  # run.json written before --split-seed: split by the training seed
    np.testing.assert_array_equal(run_splits(ds, older).val.row_ids, split_dataset(ds, seed=5).val.row_ids)
