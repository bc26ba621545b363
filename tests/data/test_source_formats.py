"""Every registered source format (edgefer.data.loading.SOURCE_FORMATS) reads back the faces written in it.

Parametrized over the registry: a new reader is tested here as soon as it has a writer in WRITERS (and the
test fails, asking for one, until it does)."""

import numpy as np
import pytest
from PIL import Image

from edgefer import FER2013_CLASSES, FERDataset, load_dataset
from edgefer.data.loading import SOURCE_FORMATS, resolve_source
from edgefer.data.npz_format import save_npz
from helpers import csv_line, faces, write_csv

FOLDER_SPLITS = {"Training": "train", "PublicTest": "test"}


def write_fer2013_csv(ds: FERDataset, root):
    lines = [csv_line(label, image, usage) for image, label, usage in zip(ds.images, ds.labels, ds.usage)]
    return write_csv(root / "fer2013.csv.gz", lines)


def write_image_folders(ds: FERDataset, root):
    for i, (image, label, usage) in enumerate(zip(ds.images, ds.labels, ds.usage)):
        folder = root / "kaggle" / FOLDER_SPLITS[usage] / FER2013_CLASSES[label].lower()
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"face{i:03d}.png")
    return root / "kaggle"


WRITERS = {
    "fer2013-csv": write_fer2013_csv,
    "npz": lambda ds, root: save_npz(ds, root / "faces.npz"),
    "image-folders": write_image_folders,
}


def _rows(ds: FERDataset) -> list[tuple]:
    """Order-free view of a dataset: (usage, label, pixels) per face, sorted."""
    return sorted((str(u), int(y), im.tobytes()) for im, y, u in zip(ds.images, ds.labels, ds.usage))


@pytest.mark.parametrize("name", list(SOURCE_FORMATS))
def test_every_source_format_reads_back_what_was_written(name, tmp_path):
    assert name in WRITERS, f"source format {name!r} has no writer in this test; add one to WRITERS"
    labels = np.tile(np.arange(7), 3)
    written = FERDataset(images=faces(len(labels), seed=3), labels=labels,
                         usage=["PublicTest" if i % 3 == 0 else "Training" for i in range(len(labels))])
    path = WRITERS[name](written, tmp_path)
    assert resolve_source(path)[1].name == name
    read = load_dataset(path, use_cache=False)
    assert read.images.dtype == np.uint8 and read.images.shape == (len(labels), 48, 48)
    assert _rows(read) == _rows(written)
