"""`edgefer bench --frames`: the built-in frame set, scoring faces found, the report and its round trip."""

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgefer.bench.frames import FrameReport, matched
from edgefer.bench.frameset import FRAME_KINDS, make_frame_set
from edgefer.cli import app


@pytest.fixture(scope="module")
def frame_set(tmp_path_factory):
    return make_frame_set(tmp_path_factory.mktemp("frames"), per_kind=2)


def test_frame_set_is_deterministic_and_its_faces_are_inside_and_apart(frame_set, tmp_path):
    truth = json.loads((frame_set / "faces.json").read_text())["faces"]
    assert sorted(truth) == sorted(p.name for p in frame_set.glob("*.jpg")) and len(truth) == 2 * len(FRAME_KINDS)
    for file, boxes in truth.items():
        kind = FRAME_KINDS[file.split("_")[0]]
        with Image.open(frame_set / file) as image:
            assert image.size == kind.size
        assert kind.pasted <= len(boxes) <= kind.pasted + 1
        for i, (x, y, w, h) in enumerate(boxes):
            assert x >= 0 and y >= 0 and x + w <= kind.size[0] and y + h <= kind.size[1]
            for ox, oy, ow, oh in boxes[i + 1:]:
                assert x + w <= ox or ox + ow <= x or y + h <= oy or oy + oh <= y
    again = make_frame_set(tmp_path / "again", per_kind=2)
    assert json.loads((again / "faces.json").read_text())["faces"] == truth
    first = sorted(frame_set.glob("*.jpg"))[0].name
    assert np.array_equal(np.asarray(Image.open(frame_set / first)), np.asarray(Image.open(again / first)))


def test_a_detection_counts_once_and_only_on_a_face():
    truth = [[100, 100, 50, 50], [300, 100, 60, 60]]
    assert matched([[95, 95, 60, 60]], truth) == 1  # a looser box around the face
    assert matched([[95, 95, 60, 60], [98, 98, 55, 55]], truth) == 1  # a duplicate finds no second face
    assert matched([[120, 120, 200, 200]], truth) == 0  # its centre is on no face
    assert matched([[90, 90, 70, 70], [290, 90, 80, 80]], truth) == 2
    assert matched([], truth) == 0


def test_frame_bench_reports_per_size_stages_and_faces_found(frame_set, tmp_path):
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["bench", "--frames", str(frame_set), "--threads", "1", "--rounds", "2",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = FrameReport.from_json(json.loads((out / "frames.json").read_text()))
    assert FrameReport.from_json(report.to_json()) == report
    sizes = {f"{k.size[0]}x{k.size[1]}" for k in FRAME_KINDS.values()}
    assert {r.frame_size for r in report.rows} == sizes and report.rounds == 2
    for row in report.rows:
        assert row.pipeline == "edgefer default" and row.frames == 2 and row.runs == 4
        assert 0 < row.p50_ms <= row.p99_ms
        assert list(row.stages_ms)[:6] == ["decode", "detector_preprocess", "detector_invoke", "detector_nms",
                                           "crop_resize", "classifier_invoke"]
        assert sum(row.stages_ms.values()) == pytest.approx(row.mean_ms, rel=0.05)
        assert 0 < row.resize_share < 1
        assert row.truth >= 2 and 0 <= row.found <= row.truth and row.extra >= 0
    assert sum(r.found for r in report.rows) >= sum(r.truth for r in report.rows) / 2
    assert "faces found" in (out / "frames.md").read_text() and "1280x720" in result.output


@pytest.mark.skipif(importlib.util.find_spec("fer") is not None, reason="fer is installed here")
def test_fer_peer_without_fer_is_a_failed_row_that_says_how(frame_set, tmp_path):
    result = CliRunner().invoke(app, ["bench", "--frames", str(frame_set), "--peer", "fer", "--threads", "1",
                                      "--rounds", "1", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "frames_vs_fer.sh" in result.output


def test_bad_frame_sources_are_clear_errors(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["bench", "--frames", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "expected a folder of images, a video file" in missing.output
    empty = runner.invoke(app, ["bench", "--frames", str(tmp_path)])
    assert empty.exit_code == 2 and "no images here" in empty.output
    (tmp_path / "a.jpg").write_bytes(b"")
    peer = runner.invoke(app, ["bench", "--frames", str(tmp_path), "--peer", "deepface"])
    assert peer.exit_code == 2 and "expected fer" in peer.output
    no_models = runner.invoke(app, ["bench"])
    assert no_models.exit_code == 2 and "no artifacts given" in no_models.output


@pytest.fixture(scope="module")
def clip(frame_set, tmp_path_factory):
    """The frame set's VGA frames as an MJPG video."""
    cv2 = pytest.importorskip("cv2")
    video = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for path in sorted(frame_set.glob("vga_*.jpg")) * 3:
        writer.write(cv2.cvtColor(np.asarray(Image.open(path)), cv2.COLOR_RGB2BGR))
    writer.release()
    return video


def test_frame_bench_reads_a_video(clip, tmp_path):
    result = CliRunner().invoke(app, ["bench", "--frames", str(clip), "--threads", "1", "--rounds", "1",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = FrameReport.from_json(json.loads((tmp_path / "frames.json").read_text()))
    (row,) = report.rows
    assert row.frame_size == "640x480" and row.frames == 6 and row.truth is None
    assert row.stages_ms["decode"] > 0 and row.faces_per_frame >= 1


def test_camera_loop_reports_stage_times(clip):
    result = CliRunner().invoke(app, ["predict", "--camera", str(clip), "--max-frames", "5", "--json",
                                      "--stage-times"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 5
    assert set(summary["stages_ms"]) >= {"decode", "detector_invoke", "classifier_invoke", "total"}
    assert all(v >= 0 for v in summary["stages_ms"].values())
