"""`edgefer analyze`: one video, a folder of frames or a camera in, each person's emotions over time out.

Two halves, so that the same analysis runs in this process, in a pool of processes or on a Ray cluster
(`edgefer.analyze.batch`):

- `analyze_tables` reads the source: for every `every`-th frame the faces and their probabilities from
  `EmotionPredictor.predict_frame`, a track id from `Tracker`, and a thumbnail of each person's best-seen face; the
  raw rows go to a temporary file as they come (memory stays flat over a long source). At the end each track's
  probabilities are smoothed as the source asks (`edgefer.analyze.smoothing`: two-sided for a file, causal for a
  camera) and everything comes back as `SourceTables`: faces.csv's text, the per-track summaries, summary.json's
  content and the thumbnails.
- `write_tables` writes them into a folder, each file whole or not at all: faces.csv, tracks.csv, summary.json,
  track_<id>.jpg, and timeline.png (one shared time axis, each person shown by their thumbnail).

A source that breaks off, or Ctrl-C, ends the loop early: what was analysed is written, and summary.json says
`complete: false` with the reason. `--save-video` reads a file source a second time and draws each face's smoothed
label (a camera's frames are drawn as they come, with the causal labels it has then).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgefer.analyze.outputs import (
    AnnotatedVideo,
    TrackStats,
    face_columns,
    face_thumbnail,
    plot_timeline,
    thumbnail_name,
    write_summary,
    write_tracks,
)
from edgefer.analyze.smoothing import (
    SMOOTHING_MODES,
    EmotionSmoother,
    causal_labels,
    default_tau,
    resolve_mode,
    smooth_track,
)
from edgefer.analyze.sources import open_source
from edgefer.analyze.tracking import Tracker
from edgefer.core.fileio import atomic_path, write_text
from edgefer.core.progress import console, note
from edgefer.core.run_folder import machine_info
from edgefer.core.workers import ENGINES
from edgefer.errors import ConfigError
from edgefer.predictor import EmotionPredictor


@dataclass
class AnalyzeConfig:
    """The options of `edgefer analyze` for one source (flag and help in each field's metadata)."""

    source: str
    out: Path = field(default=Path("analyze"), metadata={
        "flag": "--out", "help": "Folder for faces.csv, tracks.csv, summary.json, timeline.png and the track thumbnails "
        "(with several sources: a folder per source inside it, and index.csv and summary.json for the batch)."})
    model: str | None = field(default=None, metadata={
        "flag": "--model", "help": "A packaged model (default, fast, ferplus) or a .tflite path. Default: default."})
    every: int = field(default=1, metadata={
        "flag": "--every", "help": "Analyse every Nth frame; the frames between reuse the tracks.", "min": 1})
    max_frames: int | None = field(default=None, metadata={
        "flag": "--max-frames", "help": "Stop after this many frames of the source (a camera runs until Ctrl-C "
        "without it).", "min": 1})
    threads: int | None = field(default=None, metadata={
        "flag": "--threads", "help": "TFLite interpreter threads per source (default: the cores shared among "
        "--workers).", "min": 1})
    min_score: float = field(default=0.5, metadata={
        "flag": "--min-score", "help": "Face detector confidence threshold, as in predict.", "min": 0.0, "max": 1.0})
    smoothing: str = field(default="auto", metadata={
        "flag": "--smoothing", "help": "How each person's probabilities are smoothed over time: two-sided (a file is "
        "known in full: the frames after a moment count as much as those before, so a change shows where it happened, "
        "with no lag), causal (a moving average of the past: what a live camera can do; it lags changes), none, or "
        "auto: causal for a camera, two-sided for anything else."})
    smooth: float | None = field(default=None, metadata={
        "flag": "--smooth", "help": "Time constant of the smoothing, in seconds, whatever the frame rate (0: off): an "
        "expression held much shorter than this counts as flicker. Default: 1.0 two-sided, 0.5 causal (a camera's "
        "labels lag by up to this).", "min": 0.0})
    max_missed: int = field(default=5, metadata={
        "flag": "--max-missed", "help": "Analysed frames a person's track survives without their face; after that "
        "a returning person gets a new id.", "min": 0})
    fps: float | None = field(default=None, metadata={
        "flag": "--fps", "help": "Frames per second of a folder of frames (default 30); videos give their own.",
        "min": 0.01})
    save_video: Path | None = field(default=None, metadata={
        "flag": "--save-video", "help": "Also write the frames with boxes, track ids and smoothed labels (mp4, "
        "needs OpenCV; one source).", "metavar": "PATH"})
    workers: int | None = field(default=None, metadata={
        "flag": "--workers", "help": "Several sources: how many to analyse at once, each in a process of its own with "
        "its share of the cores (default: the machine's cores; with --engine ray: CPUs of the local Ray).", "min": 1})
    engine: str = field(default="local", metadata={
        "flag": "--engine", "help": "Several sources: local (this machine: --workers processes) or ray (a Ray cluster: "
        "a local one started for the run, or the one --address names; pip install -e '.[scale]'). Results come back "
        "to this machine, which writes every output."})
    address: str | None = field(default=None, metadata={
        "flag": "--address", "help": "With --engine ray: the cluster to use (e.g. auto, or ray://HEAD:10001); "
        "its workers must be able to read the sources."})

    def validate(self) -> None:
        if self.every < 1:
            raise ConfigError(f"--every {self.every}; expected 1 or more")
        if self.smooth is not None and self.smooth < 0:
            raise ConfigError(f"--smooth {self.smooth}; expected seconds >= 0")
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"--min-score {self.min_score}; expected 0..1")
        if self.smoothing not in SMOOTHING_MODES:
            raise ConfigError(f"--smoothing {self.smoothing!r}; expected one of {', '.join(SMOOTHING_MODES)}")
        if self.engine not in ENGINES:
            raise ConfigError(f"--engine {self.engine!r}; expected one of {', '.join(ENGINES)}")
        if self.address is not None and self.engine != "ray":
            raise ConfigError("--address names a Ray cluster: give it with --engine ray")


@dataclass
class SourceTables:
    """One source's analysis, ready to be written anywhere (plain data: it travels from a worker to the driver)."""

    faces_csv: str
    tracks: list[dict]
    summary: dict
    thumbnails: dict[int, bytes]  # track id -> JPEG of their best-seen face
    classes: list[str]


@dataclass
class AnalyzeResult:
    out: Path
    summary: dict
    files: list[Path]


def _progress(total: int | None):
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("[bold]analyze"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[fps]:.1f} frames/s"), TimeRemainingColumn()]
    return Progress(*columns, console=console, transient=True, disable=not sys.stderr.isatty())


class _RawRows:
    """The raw rows of one source, in a temporary file as they come (flat memory), read back once at the end."""

    def __init__(self, classes):
        self.classes = list(classes)
        fd, self.path = tempfile.mkstemp(prefix="edgefer-faces-", suffix=".csv")
        self.file = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file)
        self.rows = 0

    def add(self, frame, time_s: float, track: int, result) -> None:
        self.writer.writerow([frame, f"{time_s:.4f}", track, *result.box, result.label, f"{result.probability:.5f}",
                              "" if result.face_score is None else f"{result.face_score:.4f}",
                              *(f"{result.probabilities[c]:.5f}" for c in self.classes)])
        self.rows += 1

    def read(self) -> list[list[str]]:
        self.file.close()
        with open(self.path, newline="", encoding="utf-8") as f:
            return list(csv.reader(f))

    def remove(self) -> None:
        if not self.file.closed:
            self.file.close()
        Path(self.path).unlink(missing_ok=True)


class _Thumbnails:
    """Each track's best-seen face (the highest detector score), cut out of its frame when it is seen."""

    def __init__(self):
        self.best: dict[int, tuple[float, bytes]] = {}

    def offer(self, track: int, result, frame) -> None:
        score = result.face_score or 0.0
        if track not in self.best or score > self.best[track][0] + 0.01:
            self.best[track] = (score, face_thumbnail(frame.pixels, frame.channels, result.box))

    def images(self) -> dict[int, bytes]:
        return {track: image for track, (_, image) in self.best.items()}


def analyze_tables(config: AnalyzeConfig, predictor=None, source=None, on_frame=None, live_video=None) -> SourceTables:
    """Analyse one source (see the module docstring). `predictor`: an EmotionPredictor to use instead of opening
    config.model; `source`: a FrameSource instead of opening config.source; `on_frame(frames_read)` after each frame;
    `live_video`: an AnnotatedVideo to draw a camera's frames into as they come."""
    config.validate()
    source = source or open_source(config.source, config.fps)
    predictor = predictor or EmotionPredictor(config.model, num_threads=config.threads)
    classes = list(predictor.classes)
    mode = resolve_mode(config.smoothing, live=source.kind == "camera")
    tau = default_tau(mode) if config.smooth is None else config.smooth
    tracker, thumbnails, raw = Tracker(max_missed=config.max_missed), _Thumbnails(), _RawRows(classes)
    live_smoothers: dict[int, EmotionSmoother] = {}
    total = source.expected if config.max_frames is None else min(source.expected or config.max_frames,
                                                                   config.max_frames)
    frames_read = analysed = 0
    shown: list = []
    error, started = None, time.perf_counter()
    try:
        with _progress(total) as progress:
            task = progress.add_task("analyze", total=total, fps=0.0)
            for frame in source.frames():
                if config.max_frames is not None and frames_read >= config.max_frames:
                    break
                frames_read += 1
                if frame.index % config.every == 0:
                    results = predictor.predict_frame(frame.pixels, config.min_score, channels=frame.channels)
                    ids = tracker.update(frame.index, [r.box for r in results])
                    for track, result in zip(ids, results):
                        raw.add(frame.index, frame.time_s, track, result)
                        thumbnails.offer(track, result, frame)
                    analysed += 1
                    if live_video is not None:
                        shown = _live_labels(ids, results, frame.time_s, classes, live_smoothers, tau)
                if live_video is not None:
                    live_video.add(frame.pixels, frame.channels, shown)
                elapsed = time.perf_counter() - started
                progress.update(task, completed=frames_read, fps=frames_read / elapsed if elapsed else 0.0)
                if on_frame is not None:
                    on_frame(frames_read)
    except KeyboardInterrupt:
        error = f"interrupted after {frames_read} frames"
    except BaseException:
        raw.remove()
        raise
    finally:
        source.close()
    error = error or source.error
    if error:
        note(f"warning: {error}")
    seconds = time.perf_counter() - started
    try:
        faces_csv, stats, faces = _smoothed_table(raw.read(), classes, mode, tau)
    finally:
        raw.remove()
    summary = {
        "source": source.name, "kind": source.kind, "model": str(predictor.model_path), "classes": classes,
        "cpu": machine_info()["cpu"], "frames_read": frames_read, "frames_analysed": analysed, "faces": faces,
        "source_fps": round(source.fps, 3), "video_seconds": round(frames_read / source.fps, 3) if source.fps else None,
        "seconds": round(seconds, 3), "fps_achieved": round(frames_read / seconds, 2) if seconds else None,
        "ms_per_analysed_frame": round(seconds * 1e3 / analysed, 3) if analysed else None,
        "smoothing": mode, "smooth_s": tau, "complete": error is None, "error": error,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "tracks": stats.summaries(),
    }
    images = thumbnails.images()
    for track in summary["tracks"]:
        track["thumbnail"] = thumbnail_name(track["track"]) if track["track"] in images else ""
    return SourceTables(faces_csv, summary["tracks"], summary, images, classes)


def _live_labels(ids, results, time_s: float, classes, smoothers: dict, tau: float) -> list:
    """(track, box, causal label, its probability) of each face, for drawing a camera's frames as they come."""
    shown = []
    for track, result in zip(ids, results):
        smooth, label = smoothers.setdefault(track, EmotionSmoother(tau)).update(
            time_s, [result.probabilities[c] for c in classes])
        shown.append((track, tuple(int(v) for v in result.box), classes[label], float(smooth[label])))
    return shown


def _smoothed_table(rows: list[list[str]], classes, mode: str, tau: float) -> tuple[str, TrackStats, int]:
    """faces.csv's text from the raw rows (their smoothed columns filled per track), the track statistics, the rows."""
    k, fixed = len(classes), 10  # frame, time_s, track, x, y, w, h, label, score, face_score
    tracks = np.array([int(r[2]) for r in rows], dtype=np.int64)
    times = np.array([float(r[1]) for r in rows])
    raw = np.array([[float(v) for v in r[fixed:fixed + k]] for r in rows]).reshape(len(rows), k)
    smooth, labels = np.zeros_like(raw), np.zeros(len(rows), dtype=np.int64)
    for track in np.unique(tracks):
        mine = np.flatnonzero(tracks == track)
        smooth[mine] = smooth_track(mode, times[mine], raw[mine], tau)
        labels[mine] = (causal_labels(times[mine], raw[mine], tau) if mode == "causal" and tau > 0
                        else smooth[mine].argmax(axis=1))
    stats = TrackStats(classes)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(face_columns(classes))
    for row, track, when, values, label in zip(rows, tracks, times, smooth, labels):
        writer.writerow([*row, classes[label], *(f"{v:.5f}" for v in values)])
        stats.add(int(track), float(when), int(label))
    return text.getvalue(), stats, len(rows)


def write_tables(tables: SourceTables, folder: Path) -> list[Path]:
    """Write one source's tables into `folder` (each file atomically); the files written."""
    folder = Path(folder)
    files = [write_text(folder / "faces.csv", tables.faces_csv), folder / "tracks.csv", folder / "summary.json"]
    write_tracks(folder / "tracks.csv", tables.tracks, tables.classes)
    write_summary(folder / "summary.json", tables.summary)
    for track, image in sorted(tables.thumbnails.items()):
        path = folder / thumbnail_name(track)
        write_bytes_atomic(path, image)
        files.append(path)
    summary = tables.summary
    title = f"{summary['source']}: {len(tables.tracks)} track(s), {summary['frames_analysed']} frames analysed"
    timeline = plot_timeline(folder / "faces.csv", folder / "timeline.png", tables.classes, title,
                             duration=summary.get("video_seconds"), thumbnails=tables.thumbnails)
    if timeline is None:
        note("timeline.png not drawn: matplotlib is not installed (pip install -e '.[video]')")
    else:
        files.append(timeline)
    return files


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return path


def analyze(config: AnalyzeConfig, predictor=None, source=None, on_frame=None) -> AnalyzeResult:
    """Analyse one source and write its tables into config.out (see the module docstring)."""
    config.validate()
    out = Path(config.out)
    source = source or open_source(config.source, config.fps)
    live = source.kind == "camera"
    video = AnnotatedVideo(config.save_video, source.fps) if config.save_video and live else None
    try:
        tables = analyze_tables(config, predictor, source, on_frame, live_video=video)
    except BaseException:
        if video is not None:
            video.discard()
        raise
    files = write_tables(tables, out)
    if video is not None:
        video.close()
        files.append(Path(config.save_video))
    elif config.save_video:
        files.append(draw_video(config, tables))
    return AnalyzeResult(out=out, summary=tables.summary, files=files)


def draw_video(config: AnalyzeConfig, tables: SourceTables) -> Path:
    """The source read again with each analysed face's box, track id and smoothed label drawn (the frames between
    analysed ones show the last analysed frame's faces), as an mp4 at config.save_video."""
    rows = list(csv.DictReader(io.StringIO(tables.faces_csv)))
    by_frame: dict[int, list] = {}
    for row in rows:
        label = row["smooth_label"]
        by_frame.setdefault(int(row["frame"]), []).append(
            (int(row["track"]), tuple(int(row[c]) for c in ("x", "y", "w", "h")), label, float(row[f"smooth_{label}"])))
    source = open_source(config.source, config.fps)
    video = AnnotatedVideo(config.save_video, source.fps)
    shown: list = []
    try:
        for count, frame in enumerate(source.frames()):
            if config.max_frames is not None and count >= config.max_frames:
                break
            if frame.index % config.every == 0:
                shown = by_frame.get(frame.index, [])
            video.add(frame.pixels, frame.channels, shown)
    except BaseException:
        video.discard()
        raise
    finally:
        source.close()
    video.close()
    return Path(config.save_video)


def analyze_command(config: AnalyzeConfig, out) -> int:
    """`edgefer analyze` on one source: run it, print a line per track and where the files are on `out`; the exit
    code (2 when nothing could be analysed)."""
    result = analyze(config)
    summary = result.summary
    for line in track_lines(summary):
        out.print(line, highlight=False)
    state = "" if summary["complete"] else f" (incomplete: {summary['error']})"
    out.print(f"{summary['frames_read']} frames ({summary['frames_analysed']} analysed) at {summary['fps_achieved']} "
              f"frames/s, {len(summary['tracks'])} track(s), {summary['smoothing']} smoothing{state}", highlight=False)
    out.print("wrote " + ", ".join(str(p) for p in result.files if not p.name.startswith("track_"))
              + (f" and {sum(p.name.startswith('track_') for p in result.files)} track thumbnail(s)"
                 if any(p.name.startswith("track_") for p in result.files) else ""), highlight=False)
    return 2 if not summary["complete"] and summary["frames_analysed"] == 0 else 0


def track_lines(summary: dict) -> list[str]:
    return [f"track {t['track']}: {t['first_s']:.1f}-{t['last_s']:.1f} s, {t['frames_seen']} frames, mostly "
            f"{t['dominant']} ({t['share_' + t['dominant']]:.0%})" for t in summary["tracks"]]
