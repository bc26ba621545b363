"""The parse cache: a second load is served from it, and any change to the source invalidates it."""

import os

import numpy as np

from edgefer import load_dataset
from helpers import csv_line, faces, write_csv


def test_second_load_hits_cache_with_same_arrays(small_csv, tmp_path):
    path, images, labels, _ = small_csv
    cache = tmp_path / "c"
    first = load_dataset(path, cache_dir=cache)
    second = load_dataset(path, cache_dir=cache)
    assert not first.report.cache_hit and second.report.cache_hit
    assert len(list(cache.glob("*.npz"))) == 1
    for ds in (first, second):
        np.testing.assert_array_equal(ds.images, images)
        np.testing.assert_array_equal(ds.labels, labels)
    np.testing.assert_array_equal(first.usage, second.usage)


def test_changed_file_invalidates_cache(small_csv, tmp_path):
    path, images, _, _ = small_csv
    cache = tmp_path / "c"
    load_dataset(path, cache_dir=cache)
    stat = path.stat()
    new_images = faces(21, seed=5)
    write_csv(path, [csv_line(3, im, "Training") for im in new_images])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: the content hash must catch it
    reloaded = load_dataset(path, cache_dir=cache)
    assert not reloaded.report.cache_hit
    np.testing.assert_array_equal(reloaded.images, new_images)
    assert reloaded.labels.tolist() == [3] * 21


def test_skip_bad_counts_survive_the_cache(tmp_path):
    path = write_csv(tmp_path / "x.csv", [csv_line(0, im, "Training") for im in faces(3)] + ["1,2 3,Training"])
    cache = tmp_path / "c"
    load_dataset(path, cache_dir=cache, skip_bad=True)
    again = load_dataset(path, cache_dir=cache, skip_bad=True)
    assert again.report.cache_hit and again.report.skipped == 1 and len(again) == 3


def test_damaged_cache_entry_is_rebuilt(small_csv, tmp_path):
    path, images, _, _ = small_csv
    cache = tmp_path / "c"
    load_dataset(path, cache_dir=cache)
    entry = next(cache.glob("*.npz"))
    entry.write_bytes(b"not an npz")
    ds = load_dataset(path, cache_dir=cache)
    assert not ds.report.cache_hit
    np.testing.assert_array_equal(ds.images, images)


def test_no_cache_writes_nothing(small_csv, tmp_path):
    load_dataset(small_csv[0], cache_dir=tmp_path / "c", use_cache=False)
    assert not (tmp_path / "c").exists()
