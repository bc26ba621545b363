"""The original FER2013 CSV, plain and gzipped, and every kind of bad row."""

import gzip

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefer import FER2013_CLASSES, DataError, load_dataset
from helpers import csv_line, faces, write_csv

runner = CliRunner()


def test_reads_plain_csv_exactly(small_csv):
    path, images, labels, usage = small_csv
    ds = load_dataset(path, use_cache=False)
    assert ds.images.dtype == np.uint8 and ds.images.shape == (21, 48, 48)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.usage.tolist() == usage
    assert ds.classes == FER2013_CLASSES
    assert ds.report.format == "fer2013-csv"


def test_reads_gzipped_csv_and_folder_holding_it(small_csv, tmp_path):
    path, images, labels, _ = small_csv
    folder = tmp_path / "data"
    folder.mkdir()
    gz = folder / "fer2013.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for source in (gz, folder):
        ds = load_dataset(source, use_cache=False)
        np.testing.assert_array_equal(ds.images, images)
        np.testing.assert_array_equal(ds.labels, labels)


def test_column_order_follows_header(tmp_path):
    image = faces(1)[0]
    pixels = " ".join(map(str, image.reshape(-1)))
    path = write_csv(tmp_path / "x.csv", [f"PublicTest,{pixels},5"], header="Usage,pixels,emotion")
    ds = load_dataset(path, use_cache=False)
    assert ds.labels.tolist() == [5] and ds.usage.tolist() == ["PublicTest"]
    np.testing.assert_array_equal(ds.images[0], image)


def test_private_test_rows_are_kept(tmp_path):
    path = write_csv(tmp_path / "x.csv", [csv_line(0, im, "PrivateTest") for im in faces(2)])
    assert load_dataset(path, use_cache=False).split_names() == ["PrivateTest"]


BAD_ROWS = {
    "too few pixels": ("3,{short},Training", "has 2303 values; expected 2304"),
    "non-integer pixel": ("3,{float},Training", "pixel 0 is '12.5'; expected an integer 0..255"),
    "out-of-range pixel": ("3,{big},Training", "pixel 0 is '300'; expected an integer 0..255"),
    "negative pixel": ("3,{neg},Training", "pixel 0 is '-1'; expected an integer 0..255"),
    "unknown label": ("9,{ok},Training", "field 'emotion' is '9'; expected an integer 0..6"),
    "text label": ("happy,{ok},Training", "field 'emotion' is 'happy'"),
    "unknown usage": ("3,{ok},Validation", "field 'Usage' is 'Validation'; expected one of"),
    "missing field": ("3", "expected 3 fields, found 1"),
}


def _bad_line(template: str) -> str:
    ok = " ".join(["7"] * 2304)
    return template.format(
        ok=ok,
        short=" ".join(["7"] * 2303),
        float="12.5 " + " ".join(["7"] * 2303),
        big="300 " + " ".join(["7"] * 2303),
        neg="-1 " + " ".join(["7"] * 2303),
    )


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_is_named_with_file_line_and_expectation(tmp_path, case):
    template, expected = BAD_ROWS[case]
    good = [csv_line(i % 7, im, "Training") for i, im in enumerate(faces(4))]
    path = write_csv(tmp_path / "bad.csv", good[:2] + [_bad_line(template)] + good[2:])
    with pytest.raises(DataError) as error:
        load_dataset(path, use_cache=False)
    message = str(error.value)
    assert str(path) in message and "line 4" in message and expected in message


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_skip_bad_skips_and_counts(tmp_path, case):
    template, _ = BAD_ROWS[case]
    images = faces(4)
    good = [csv_line(i, im, "Training") for i, im in enumerate(images)]
    path = write_csv(tmp_path / "bad.csv", good[:2] + [_bad_line(template)] + good[2:])
    ds = load_dataset(path, skip_bad=True, use_cache=False)
    assert len(ds) == 4 and ds.report.skipped == 1
    np.testing.assert_array_equal(ds.images, images)
    assert ds.labels.tolist() == [0, 1, 2, 3]
    assert ds.row_ids.tolist() == [0, 1, 3, 4]  # row positions in the file survive the skip
    assert "line 4" in ds.report.skipped_examples[0]


def test_missing_header(tmp_path):
    path = write_csv(tmp_path / "nohead.csv", [csv_line(0, im, "Training") for im in faces(2)], header=None)
    with pytest.raises(DataError, match=r"line 1: missing header; expected 'emotion,pixels,Usage'"):
        load_dataset(path, use_cache=False)


def test_empty_and_binary_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="file is empty"):
        load_dataset(empty, use_cache=False)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match="not a readable FER2013 CSV"):
        load_dataset(broken, use_cache=False)


def test_unknown_source_kinds(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_dataset(tmp_path / "missing.csv")
    other = tmp_path / "notes.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(DataError, match="not a FER2013 source"):
        load_dataset(other)


def test_csv_with_a_byte_order_mark_loads(small_csv, tmp_path):
    from edgefer.data.loading import load_dataset

    path, images, labels, _ = small_csv
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    dataset = load_dataset(bom, use_cache=False)
    np.testing.assert_array_equal(dataset.labels, labels)
    np.testing.assert_array_equal(dataset.images, images)
