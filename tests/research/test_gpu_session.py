"""research/gpu_session.py: what travels to a lent GPU machine and what comes back must survive the trip."""

import gzip
import lzma

import numpy as np
import pytest

from edgefer.data.npz_format import read_npz
from helpers import research_script


@pytest.fixture(scope="module")
def session():
    return research_script("gpu_session")


def test_packed_data_becomes_the_same_faces_on_the_other_side(session, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    usage = np.array(["Training"] * 6 + ["PublicTest"] * 4)
    pixels, labels = rng.integers(0, 256, (10, 48, 48), dtype=np.uint8), rng.integers(0, 7, 10)
    source = tmp_path / "shared"
    source.mkdir()
    (source / "fer2013_pixels.u8.xz").write_bytes(lzma.compress(pixels.tobytes()))
    np.savez(source / "fer2013_meta.npz", labels=labels, usage=usage)
    (source / "fer2013new.csv.gz").write_bytes(gzip.compress(b"Usage,Image name\n"))
    monkeypatch.setattr(session, "TEST_ROWS", 2)
    session.pack(source, tmp_path / "carry")
    session.setup(tmp_path / "carry", tmp_path / "work")
    dataset = read_npz(tmp_path / "work" / "data" / "fer2013.npz")
    rows = [0, 1, 2, 3, 4, 5, 6, 7]  # every Training row, then the first 2 PublicTest rows
    np.testing.assert_array_equal(dataset.images, pixels[rows])
    np.testing.assert_array_equal(dataset.labels, labels[rows])
    np.testing.assert_array_equal(dataset.row_ids, rows)  # FER+ votes stay aligned by row id
    assert (tmp_path / "work" / "data" / "fer2013new.csv.gz").exists()


@pytest.mark.slow
def test_a_large_model_comes_back_in_fp16_parts_and_is_rebuilt(session, tmp_path, monkeypatch):
    import keras

    from edgefer.train.config import TrainConfig
    from edgefer.train.training import train

    work = tmp_path / "work"
    result = train(TrainConfig(img_size=32, alpha=0.35, weights="none", epochs=1, batch_size=64, seed=0,
                               out=str(work / "runs" / "job")))
    monkeypatch.setattr(session, "SPLIT_BYTES", 200_000)  # forces several parts, as a 45 MB ResNet-18 against the 16 MiB limit
    session.collect(work, tmp_path / "back")
    parts = sorted((tmp_path / "back").glob("job.fp16.part*.npz"))
    assert len(parts) > 1 and all(p.stat().st_size < 400_000 for p in parts)
    session.unpack(tmp_path / "back", tmp_path / "here")
    rebuilt = tmp_path / "here" / "runs" / "job" / result.run_dir.name
    assert {"run.json", "metrics.json", "history.csv", "model.keras"} <= {p.name for p in rebuilt.iterdir()}
    faces = np.random.default_rng(1).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    original = keras.saving.load_model(result.run_dir / "model.keras", safe_mode=True).predict(faces, verbose=0)
    copy = keras.saving.load_model(rebuilt / "model.keras", safe_mode=True).predict(faces, verbose=0)
    np.testing.assert_allclose(copy, original, atol=2e-3)  # fp16 weights
