"""`edgefer analyze`: a video, a folder of frames or a camera in, each person's emotions over time out.

For every `every`-th frame: faces and their probabilities from `EmotionPredictor.predict_frame`, a track id from
`Tracker`, smoothed probabilities and label from that track's `EmotionSmoother`; one faces.csv row per face. The
frames in between reuse the tracks (the annotated video draws them). At the end: tracks.csv, summary.json and
timeline.png (see `edgefer.analyze.outputs`). A source that breaks off, or Ctrl-C, ends the loop early: what was
analysed is written, and summary.json says `complete: false` with the reason.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgefer.analyze.outputs import AnnotatedVideo, FaceRows, TrackStats, plot_timeline, write_summary, write_tracks
from edgefer.analyze.sources import open_source
from edgefer.analyze.tracking import EmotionSmoother, Tracker
from edgefer.core.progress import console, note
from edgefer.core.run_folder import machine_info
from edgefer.errors import ConfigError
from edgefer.predictor import EmotionPredictor


@dataclass
class AnalyzeConfig:
    """The options of `edgefer analyze` (flag and help in each field's metadata)."""

    source: str
    out: Path = field(default=Path("analyze"), metadata={
        "flag": "--out", "help": "Folder for faces.csv, tracks.csv, summary.json and timeline.png."})
    model: str | None = field(default=None, metadata={
        "flag": "--model", "help": "A packaged model (default, fast, ferplus) or a .tflite path. Default: default."})
    every: int = field(default=1, metadata={
        "flag": "--every", "help": "Analyse every Nth frame; the frames between reuse the tracks.", "min": 1})
    max_frames: int | None = field(default=None, metadata={
        "flag": "--max-frames", "help": "Stop after this many frames of the source (a camera runs until Ctrl-C "
        "without it).", "min": 1})
    threads: int | None = field(default=None, metadata={
        "flag": "--threads", "help": "TFLite interpreter threads.", "min": 1})
    min_score: float = field(default=0.5, metadata={
        "flag": "--min-score", "help": "Face detector confidence threshold, as in predict.", "min": 0.0, "max": 1.0})
    smooth: float = field(default=0.5, metadata={
        "flag": "--smooth", "help": "Time constant in seconds of each person's moving average of probabilities "
        "(0: off). A label the model holds this long is shown at once.", "min": 0.0})
    max_missed: int = field(default=5, metadata={
        "flag": "--max-missed", "help": "Analysed frames a person's track survives without their face; after that "
        "a returning person gets a new id.", "min": 0})
    fps: float | None = field(default=None, metadata={
        "flag": "--fps", "help": "Frames per second of a folder of frames (default 30); videos give their own.",
        "min": 0.01})
    save_video: Path | None = field(default=None, metadata={
        "flag": "--save-video", "help": "Also write the frames with boxes, track ids and smoothed labels (mp4, "
        "needs OpenCV).", "metavar": "PATH"})

    def validate(self) -> None:
        if self.every < 1:
            raise ConfigError(f"--every {self.every}; expected 1 or more")
        if self.smooth < 0:
            raise ConfigError(f"--smooth {self.smooth}; expected seconds >= 0")
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"--min-score {self.min_score}; expected 0..1")


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


def analyze(config: AnalyzeConfig, predictor=None, source=None, on_frame=None) -> AnalyzeResult:
    """Run the analysis the config describes and write its outputs; see the module docstring.

    `predictor`: an EmotionPredictor to use instead of opening config.model; `source`: a FrameSource to read instead
    of opening config.source (a generator of frames of your own); `on_frame(frames_read)` is called after each frame
    (benchmarks watch memory with it)."""
    config.validate()
    out = Path(config.out)
    source = source or open_source(config.source, config.fps)
    predictor = predictor or EmotionPredictor(config.model, num_threads=config.threads)
    classes = list(predictor.classes)
    tracker = Tracker(max_missed=config.max_missed)
    smoothers: dict[int, EmotionSmoother] = {}
    stats = TrackStats(classes)
    rows = FaceRows(out / "faces.csv", classes)
    video = AnnotatedVideo(config.save_video, source.fps / 1.0) if config.save_video else None
    total = source.expected if config.max_frames is None else min(source.expected or config.max_frames,
                                                                   config.max_frames)
    frames_read = analysed = 0
    shown: list = []  # what the annotated video draws until the next analysed frame
    error, started = None, time.perf_counter()
    try:
        with _progress(total) as progress:
            task = progress.add_task("analyze", total=total, fps=0.0)
            for frame in source.frames():
                if config.max_frames is not None and frames_read >= config.max_frames:
                    break
                frames_read += 1
                if frame.index % config.every == 0:
                    shown = _analyse(frame, predictor, tracker, smoothers, stats, rows, classes, config)
                    analysed += 1
                if video is not None:
                    video.add(frame.pixels, frame.channels, shown)
                elapsed = time.perf_counter() - started
                progress.update(task, completed=frames_read, fps=frames_read / elapsed if elapsed else 0.0)
                if on_frame is not None:
                    on_frame(frames_read)
    except KeyboardInterrupt:
        error = f"interrupted after {frames_read} frames"
    except Exception:
        rows.discard()
        if video is not None:
            video.close()
        raise
    finally:
        source.close()
    error = error or source.error
    if error:
        note(f"warning: {error}")
    rows.close()
    if video is not None:
        video.close()
    seconds = time.perf_counter() - started
    summaries = stats.summaries()
    summary = {
        "source": source.name, "kind": source.kind, "model": str(predictor.model_path), "classes": classes,
        "cpu": machine_info()["cpu"], "frames_read": frames_read, "frames_analysed": analysed,
        "faces": rows.rows, "source_fps": round(source.fps, 3), "seconds": round(seconds, 3),
        "fps_achieved": round(frames_read / seconds, 2) if seconds else None,
        "ms_per_analysed_frame": round(seconds * 1e3 / analysed, 3) if analysed else None,
        "complete": error is None, "error": error,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "tracks": summaries,
    }
    files = [out / "faces.csv"]
    write_tracks(out / "tracks.csv", summaries, classes)
    write_summary(out / "summary.json", summary)
    files += [out / "tracks.csv", out / "summary.json"]
    timeline = plot_timeline(out / "faces.csv", out / "timeline.png", classes,
                             f"{source.name}: {len(summaries)} track(s), {analysed} frames analysed")
    if timeline is None:
        note("timeline.png not drawn: matplotlib is not installed (pip install 'edgefer[video]')")
    else:
        files.append(timeline)
    if video is not None:
        files.append(Path(config.save_video))
    return AnalyzeResult(out=out, summary=summary, files=files)


def _analyse(frame, predictor, tracker, smoothers, stats, rows, classes, config) -> list:
    results = predictor.predict_frame(frame.pixels, config.min_score, channels=frame.channels)
    ids = tracker.update(frame.index, [r.box for r in results])
    live = {t.id for t in tracker.tracks}
    for track in [t for t in smoothers if t not in live]:
        del smoothers[track]  # an ended track's smoother is not needed again: memory stays flat
    shown = []
    for track, result in zip(ids, results):
        raw = [result.probabilities[c] for c in classes]
        smoother = smoothers.setdefault(track, EmotionSmoother(config.smooth))
        smooth, label_index = smoother.update(frame.time_s, raw)
        label = classes[label_index]
        rows.add(frame.index, frame.time_s, track, result.box, result.label, result.probability, result.face_score,
                 raw, label, smooth)
        stats.add(track, frame.time_s, label_index)
        shown.append((track, tuple(int(v) for v in result.box), label, float(smooth[label_index])))
    return shown
