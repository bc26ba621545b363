"""`edgefer analyze` end to end on the built-in clip: the files, their schema (pandas reads them as they are), the
tracks against the clip's truth, a truncated video, an unreadable one, and the error without OpenCV."""

import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefer.analyze import AnalyzeConfig, SampleClip, analyze, open_source
from edgefer.analyze.outputs import face_columns
from edgefer.bench.frames import matched
from edgefer.cli import app
from edgefer.core.fileio import current_umask
from edgefer.errors import DataError
from edgefer.predictor import FER2013_CLASSES

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("analyze")
    result = CliRunner().invoke(app, ["analyze", "sample", "--out", str(out), "--threads", "1"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_analyze_sample_writes_tables_pandas_reads_and_a_timeline(sample_run):
    out, output = sample_run
    faces = pd.read_csv(out / "faces.csv")
    assert list(faces.columns) == face_columns(FER2013_CLASSES)
    assert faces["frame"].is_monotonic_increasing and faces["track"].nunique() == 3
    raw = faces[[f"p_{c}" for c in FER2013_CLASSES]].to_numpy()
    smooth = faces[[f"smooth_{c}" for c in FER2013_CLASSES]].to_numpy()
    assert np.allclose(raw.sum(1), 1, atol=0.02) and np.allclose(smooth.sum(1), 1, atol=0.02)
    tracks = pd.read_csv(out / "tracks.csv")
    shares = tracks[[f"share_{c}" for c in FER2013_CLASSES]].to_numpy()
    assert len(tracks) == 3 and np.allclose(shares.sum(1), 1, atol=1e-3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["error"] is None and summary["frames_read"] == SampleClip().expected
    assert summary["fps_achieved"] > 0 and len(summary["tracks"]) == 3 and summary["cpu"]
    assert (out / "timeline.png").stat().st_size > 20_000
    assert "3 track(s)" in output and summary["smoothing"] == "two-sided"  # a file: smoothed both ways


def test_each_track_has_a_thumbnail_of_its_face_named_in_tracks_csv(sample_run):
    from PIL import Image

    from edgefer.predictor import EmotionPredictor

    out, _ = sample_run
    tracks = pd.read_csv(out / "tracks.csv")
    assert list(tracks["thumbnail"]) == [f"track_{t}.jpg" for t in tracks["track"]]
    predictor = EmotionPredictor()
    for name in tracks["thumbnail"]:
        image = Image.open(out / name)
        assert image.size == (96, 96)
        assert len(predictor.predict_frame(image, min_score=0.3)) == 1  # a face, not background


def test_each_person_of_the_clip_keeps_one_track_and_their_emotion_change_shows(sample_run):
    out, _ = sample_run
    faces = pd.read_csv(out / "faces.csv")
    clip = SampleClip()
    person_tracks = {}
    for frame, rows in faces.groupby("frame"):
        boxes = rows[["x", "y", "w", "h"]].to_numpy().tolist()
        for person, (box, _) in enumerate(clip.faces_at(frame)):
            for track, found in zip(rows["track"], boxes):
                if matched([found], [list(box)]):
                    person_tracks.setdefault(person, set()).add(int(track))
    assert sorted(len(t) for t in person_tracks.values()) == [1, 1, 1]
    # Each pasted person changes expression halfway: the smoothed label follows within the time constant.
    for person, track in ((p, next(iter(t))) for p, t in person_tracks.items()):
        rows = faces[faces["track"] == track]
        before, after = rows[rows["time_s"] < 2.5], rows[rows["time_s"] > 3.0 + 0.5]
        first, second = clip.faces_at(0)[person][1], clip.faces_at(clip.expected - 1)[person][1]
        assert (before["smooth_label"] == first).mean() > 0.8, person
        assert (after["smooth_label"] == second).mean() > 0.8, person


def _write_avi(path, frames):
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (960, 540))
    for frame in frames:
        writer.write(cv2.cvtColor(frame.pixels, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_a_truncated_video_keeps_what_was_analysed_and_says_so(tmp_path):
    whole = _write_avi(tmp_path / "clip.avi", list(SampleClip(seconds=2).frames()))
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    result = analyze(AnalyzeConfig(str(cut), out=tmp_path / "out", every=2))
    summary = result.summary
    assert not summary["complete"] and "truncated" in summary["error"]
    assert 5 <= summary["frames_read"] < 30
    faces = pd.read_csv(tmp_path / "out" / "faces.csv")
    assert faces["frame"].max() < summary["frames_read"] and set(faces["frame"] % 2) == {0}
    assert len(faces) == summary["faces"] and faces.notna().all().all()


def test_unreadable_video_is_one_clear_line(tmp_path):
    pytest.importorskip("cv2")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00not a video\x00" * 100)
    result = CliRunner().invoke(app, ["analyze", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "cannot be opened as a video" in result.output
    assert not (tmp_path / "out" / "faces.csv").exists()
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "nothing.mp4"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no such video file or folder" in result.output


def test_without_opencv_videos_say_how_to_install_it_and_the_sample_still_runs(tmp_path, monkeypatch):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    with pytest.raises(DataError, match=r"pip install -e '\.\[video\]'"):
        open_source(str(video))
    with pytest.raises(DataError, match=r"'video' extra"):
        open_source("0")
    frames = list(open_source("sample").frames())
    assert len(frames) == SampleClip().expected and frames[0].pixels.shape == (540, 960, 3)


def test_a_folder_of_frames_is_a_source(tmp_path):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for frame in list(SampleClip(seconds=1).frames())[:6]:
        Image.fromarray(frame.pixels).save(folder / f"{frame.index:04d}.jpg", quality=90)
    result = analyze(AnalyzeConfig(str(folder), out=tmp_path / "out", fps=10, smooth=0))
    faces = pd.read_csv(tmp_path / "out" / "faces.csv")
    assert result.summary["complete"] and faces["frame"].nunique() == 6
    assert np.allclose(sorted(faces["time_s"].unique()), np.arange(6) / 10)
    assert (faces["label"] == faces["smooth_label"]).all()  # --smooth 0: the raw labels


def test_save_video_draws_every_frame_of_the_source(tmp_path):
    cv2 = pytest.importorskip("cv2")
    clip = _write_avi(tmp_path / "clip.avi", list(SampleClip(seconds=1).frames()))
    analyze(AnalyzeConfig(str(clip), out=tmp_path / "out", every=3, save_video=tmp_path / "out" / "annotated.mp4"))
    capture = cv2.VideoCapture(str(tmp_path / "out" / "annotated.mp4"))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 15 and frames[0].shape == (540, 960, 3)
    assert (tmp_path / "out" / "annotated.mp4").stat().st_mode & 0o777 == 0o666 & ~current_umask()
    # The skipped frames show the tracks too: the box colour (BGR 0, 196, 255) is drawn on frame 1 and 2.
    for frame in frames[:3]:
        assert (np.abs(frame.astype(int) - [0, 196, 255]).sum(-1) < 60).sum() > 500
