"""FER+ majority-vote labels over the row-aligned FER2013 CSV."""

import numpy as np
import pytest

from edgefer import FERPLUS_CLASSES, DataError, load_dataset
from helpers import csv_line, faces, write_csv

FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def ferplus_row(usage, name, votes):
    return f"{usage},{name}," + ",".join(map(str, votes))


@pytest.fixture
def fer_and_ferplus(tmp_path):
    images = faces(6)
    usage = ["Training", "Training", "Training", "PublicTest", "PublicTest", "Training"]
    write_csv(tmp_path / "fer2013.csv", [csv_line(0, im, u) for im, u in zip(images, usage)])
    votes = [
        [0, 0, 0, 0, 0, 0, 0, 10, 0, 0],  # contempt -> 7
        [0, 6, 4, 0, 0, 0, 0, 0, 0, 0],  # happiness -> 3
        [0, 0, 0, 0, 0, 0, 0, 0, 7, 3],  # unknown -> dropped
        [1, 0, 0, 0, 0, 0, 2, 0, 0, 7],  # NF -> dropped
        [0, 0, 0, 0, 5, 5, 0, 0, 0, 0],  # tie anger/disgust -> anger (first column) -> 0
        [9, 0, 0, 0, 0, 0, 0, 0, 1, 0],  # neutral but no image name -> dropped
    ]
    names = ["fer0000000.png", "fer0000001.png", "fer0000002.png", "fer0000003.png", "fer0000004.png", ""]
    write_csv(tmp_path / "fer2013new.csv", [ferplus_row(u, n, v) for u, n, v in zip(usage, names, votes)],
              header=FERPLUS_HEADER)
    return tmp_path, images


def test_majority_vote_labels_and_drops(fer_and_ferplus):
    folder, images = fer_and_ferplus
    ds = load_dataset(folder / "fer2013.csv", labels="ferplus", use_cache=False)
    assert ds.classes == FERPLUS_CLASSES and ds.classes[:7] == load_dataset(folder).classes
    assert ds.labels.tolist() == [7, 3, 0]
    np.testing.assert_array_equal(ds.images, images[[0, 1, 4]])
    assert ds.report.dropped == 3
    assert ds.report.dropped_reasons == {"no image name": 1, "top vote unknown": 1, "top vote NF": 1}


def test_explicit_ferplus_path_and_missing_file(fer_and_ferplus, tmp_path):
    folder, _ = fer_and_ferplus
    moved = tmp_path / "elsewhere.csv"
    (folder / "fer2013new.csv").rename(moved)
    with pytest.raises(DataError, match="no fer2013new.csv or fer2013new.csv.gz found"):
        load_dataset(folder / "fer2013.csv", labels="ferplus", use_cache=False)
    ds = load_dataset(folder / "fer2013.csv", labels="ferplus", ferplus=moved, use_cache=False)
    assert len(ds) == 3


def test_misaligned_file_is_refused(fer_and_ferplus):
    folder, _ = fer_and_ferplus
    lines = (folder / "fer2013new.csv").read_text().splitlines()
    lines[1] = lines[1].replace("Training", "PublicTest", 1)
    (folder / "fer2013new.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 2: Usage 'PublicTest' differs"):
        load_dataset(folder / "fer2013.csv", labels="ferplus", use_cache=False)


def test_unknown_label_source(small_csv):
    with pytest.raises(DataError, match="unknown label source 'affectnet'"):
        load_dataset(small_csv[0], labels="affectnet")


def test_votes_travel_as_distributions_whose_argmax_is_the_majority(fer_and_ferplus):
    folder, _ = fer_and_ferplus
    ds = load_dataset(folder / "fer2013.csv", labels="ferplus", use_cache=False)
    assert ds.targets.shape == (3, 8)
    np.testing.assert_allclose(ds.targets.sum(axis=1), 1.0, rtol=1e-5)
    assert ds.targets[0, 7] == pytest.approx(1.0)  # all ten for contempt
    assert ds.targets[1, 3] == pytest.approx(0.6, abs=1e-3) and ds.targets[1, 5] == pytest.approx(0.4, abs=1e-3)
    assert ds.targets[2, 0] > ds.targets[2, 1] and ds.targets[2, 0] == pytest.approx(0.5, abs=1e-3)  # the tie
    assert ds.targets.argmax(axis=1).tolist() == ds.labels.tolist()
    assert ds.subset(np.array([2, 0])).targets.argmax(axis=1).tolist() == [0, 7]
