"""An archive of recordings: several sources at once on one worker, a process pool and a real local Ray cluster, the
same tables from each; a broken file is a row with its error and the rest go on; a rerun skips what is done; the
same runner writes a CSV of the faces of a folder of photos."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgefer.analyze.batch import expand_sources, output_names
from edgefer.cli import app

pd = pytest.importorskip("pandas")
runner = CliRunner()
PHOTOS = Path(__file__).resolve().parents[2] / "edgefer" / "assets" / "photos"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    pytest.importorskip("cv2")
    from edgefer.analyze.sources import SampleClip

    folder = tmp_path_factory.mktemp("archive")
    clip = SampleClip(seconds=1)
    for name in ("monday", "tuesday"):
        clip.write(folder / f"{name}.mp4")
    (folder / "later").mkdir()
    clip.write(folder / "later" / "wednesday.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00not a video\x00" * 200)
    return folder


def _faces(out: Path, name: str):
    return pd.read_csv(out / name / "faces.csv")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_one_worker_a_pool_and_ray_write_the_same_tables_and_report_the_broken_file(archive, tmp_path):
    outs = {}
    for engine, workers in (("local", "1"), ("local", "2"), ("ray", "2")):
        out = tmp_path / f"{engine}{workers}"
        result = runner.invoke(app, ["analyze", str(archive), "--out", str(out), "--workers", workers, "--engine",
                                     engine])
        assert result.exit_code == 1, result.output  # one source failed
        index = pd.read_csv(out / "index.csv")
        assert list(index["folder"]) == ["broken", "wednesday", "monday", "tuesday"] or \
            sorted(index["folder"]) == ["broken", "monday", "tuesday", "wednesday"]
        rows = index.set_index("folder")
        assert rows.loc["broken", "status"] == "failed" and "cannot be opened as a video" in rows.loc["broken", "error"]
        assert (rows.drop("broken")["status"] == "done").all() and (rows.drop("broken")["frames"] == 15).all()
        assert not (out / "broken").exists() and not list(out.glob(".partial-*"))
        summary = json.loads((out / "summary.json").read_text())
        assert summary["done"] == 3 and summary["failed"] == 1 and summary["engine"] == engine
        assert summary["this_run"]["frames"] == 45 and summary["this_run"]["videos_per_hour"] > 0
        for name in ("monday", "tuesday", "wednesday"):
            for part in ("faces.csv", "tracks.csv", "summary.json", "timeline.png", "track_1.jpg"):
                assert (out / name / part).is_file(), (out, name, part)
        outs[(engine, workers)] = out
    reference = outs[("local", "1")]
    columns = None
    for out in outs.values():
        for name in ("monday", "tuesday", "wednesday"):
            mine, theirs = _faces(out, name), _faces(reference, name)
            columns = columns or [c for c in theirs.columns]
            pd.testing.assert_frame_equal(mine[columns], theirs[columns])


@pytest.mark.slow
def test_a_rerun_skips_what_is_done_and_resumes_a_killed_batch(archive, tmp_path):
    out = tmp_path / "out"
    first = runner.invoke(app, ["analyze", str(archive / "monday.mp4"), str(archive / "tuesday.mp4"), "--out", str(out),
                                "--workers", "1"])
    assert first.exit_code == 0, first.output
    done = (out / "monday" / "faces.csv").stat().st_mtime_ns
    # A batch killed while writing tuesday: its folder is still under the temporary name, and is done again.
    os.replace(out / "tuesday", out / ".partial-tuesday")
    again = runner.invoke(app, ["analyze", str(archive / "monday.mp4"), str(archive / "tuesday.mp4"), "--out", str(out),
                                "--workers", "1"])
    assert again.exit_code == 0, again.output
    assert "monday: done" in again.stdout and "analysed before: skipped" in again.stdout
    assert (out / "monday" / "faces.csv").stat().st_mtime_ns == done  # not written twice
    assert (out / "tuesday" / "faces.csv").is_file() and not (out / ".partial-tuesday").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["this_run"]["sources"] == 1 and summary["skipped_as_analysed_before"] == 1


def test_sources_are_expanded_and_named_uniquely(archive, tmp_path):
    sources, batch = expand_sources([str(archive)])
    assert batch and sorted(Path(s).name for s in sources) == ["broken.mp4", "monday.mp4", "tuesday.mp4",
                                                                "wednesday.mp4"]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# recordings\n{archive / 'monday.mp4'}\nhttps://example.org/cam/monday.mp4\n")
    sources, batch = expand_sources([str(listing)])
    assert batch and sources[1].startswith("https://")
    assert output_names(sources) == ["monday", "monday-2"]
    assert expand_sources([str(archive / "m*.mp4")])[0] == [str(archive / "monday.mp4")]
    assert expand_sources(["sample"]) == (["sample"], False) and expand_sources([str(archive / "monday.mp4")])[1] is False
    assert output_names(["a/x.mp4", "b/x.mp4"]) == ["a__x", "b__x"]


def test_predict_writes_a_row_per_face_of_a_folder_with_workers(tmp_path, monkeypatch):
    import edgefer.predict.run as predict_run

    monkeypatch.setattr(predict_run, "CHUNK", 2)  # 3 jobs for the pool
    out = tmp_path / "faces.csv"
    result = runner.invoke(app, ["predict", str(PHOTOS), str(tmp_path / "missing.jpg"), "--csv", str(out),
                                 "--workers", "2"])
    assert result.exit_code == 2  # the missing photo
    rows = pd.read_csv(out)
    faces = rows[rows["error"].isna()]
    assert len(faces) == 6 and (faces["face"] == 1).all()
    assert all(label.lower() in name for name, label in zip(faces["image"], faces["label"]))
    assert rows[rows["image"].str.endswith("missing.jpg")]["error"].str.contains("no such image").all()
