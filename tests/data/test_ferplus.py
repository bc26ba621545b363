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


def test_blend_keeps_every_face_and_fer2013s_labels_and_mixes_the_votes(fer_and_ferplus):
    folder, images = fer_and_ferplus
    fer = load_dataset(folder / "fer2013.csv", use_cache=False)
    ds = load_dataset(folder / "fer2013.csv", labels="blend", label_blend=0.25, use_cache=False)
    assert len(ds) == 6 and ds.classes == fer.classes and (ds.labels == fer.labels).all()  # all Angry (0)
    assert np.allclose(ds.targets.sum(1), 1)
    # Row 1: votes 6 happiness / 4 surprise -> 0.25 x Angry + 0.75 x (0.6 Happy, 0.4 Surprise).
    assert np.allclose(ds.targets[1], [0.25, 0, 0, 0.45, 0, 0.3, 0])
    # Contempt only, unknown/NF only, or no image name: no usable vote, the FER2013 label alone.
    for row in (0, 2, 5):
        assert np.allclose(ds.targets[row], np.eye(7)[0])
    assert np.allclose(ds.targets[3], [0.25, 0, 0.5, 0, 0, 0, 0.25])  # 2 fear, 1 neutral (and 7 not-a-face)
    assert ds.report.label_source == "blend" and "keep their label alone" in "\n".join(ds.report.lines())
    with pytest.raises(DataError, match="--label-blend"):
        load_dataset(folder / "fer2013.csv", labels="blend", label_blend=1.5, use_cache=False)


def test_majority_labels_in_fer2013_classes_leave_out_what_has_none(fer_and_ferplus):
    from pathlib import Path

    from edgefer.data.ferplus import majority_labels

    folder, _ = fer_and_ferplus
    fer = load_dataset(folder / "fer2013.csv", use_cache=False)
    # contempt, happiness, unknown, NF, anger/disgust tie (anger), no name
    assert majority_labels(fer, Path(folder / "fer2013new.csv")).tolist() == [-1, 3, -1, -1, 0, -1]
