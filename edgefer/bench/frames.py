"""`edgefer bench --frames`: what a user pays per frame (decode, find faces, crop, classify), side by side.

`edgefer bench` times one classifier call on a 48x48 face. A user of the predictor pays for the frame:
decoding the photo, the detector's resize and invoke, anchor decoding and NMS, cropping and resizing each
face, and the classifier on all faces at once. This module runs edgefer's `predict_frame` (and, where it is
installed, the `fer` package's own `detect_emotions`) over the same frames, each pipeline in a process of
its own (`edgefer.bench.frame_worker`), in rounds where every pipeline takes its turn, so a slow spell of
the machine falls on all of them. Per pipeline, thread count and frame size it reports p50 / p99 ms per
frame, mean ms per stage, faces found per frame and, where the frames come with the truth (`faces.json`, as
in the built-in set of `edgefer.bench.frameset`), how many of the faces that are there were found.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgefer.bench.frameset import TRUTH_FILE, make_frame_set
from edgefer.bench.jobs import run_in_worker
from edgefer.core.fileio import discard_damaged, write_json, write_text
from edgefer.core.progress import note
from edgefer.core.run_folder import machine_info, package_versions
from edgefer.errors import DataError, ModelError
from edgefer.predictor import (
    FRAME_STAGES,
    IMAGE_SUFFIXES,
    PACKAGED_MODELS,
    RESIZE_BACKENDS,
    resize_backend,
    resolve_model_path,
)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
PEERS = ("fer", "faceapi")
BUILT_IN = "sample"  # --frames sample: the frame set of edgefer.bench.frameset, built into OUT/frames
RESIZE_STAGES = ("detector_preprocess", "crop_resize")  # edgefer's own resizing and cropping


@dataclass
class FrameBenchConfig:
    source: str  # a folder of images, a video file, or "sample"
    models: list[str] = field(default_factory=lambda: ["default"])  # .tflite paths or packaged names
    peers: list[str] = field(default_factory=list)  # other pipelines in the same run: "fer"
    threads: list[int] = field(default_factory=lambda: [1, 2])
    rounds: int = 3
    warmup: int = 3  # untimed frames first, in each worker
    max_frames: int = 300  # of a video
    out: Path = Path("bench/frames")
    resize_backend: str | None = None  # force edgefer's "numpy" or "pillow" resizing
    timeout_s: int = 1800


@dataclass
class FrameSet:
    """Frames to time: image files (with their sizes) or a video, and the true face boxes where known."""

    files: list[Path]
    video: str | None = None
    truth: dict[str, list[list[int]]] | None = None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.files]


def open_frame_set(source: str, out: Path) -> FrameSet:
    if source == BUILT_IN:  # disposable: a damaged set (or one of another version) is built again
        folder = out / "frames"
        if (folder / TRUTH_FILE).is_file():
            try:
                frames = _folder_frames(folder)
                if sorted(frames.truth) == frames.names:
                    return frames
                raise DataError("its faces.json and its images differ")
            except DataError as error:
                discard_damaged(folder / TRUTH_FILE, "the built-in frame set", error)
        note(f"building the frame set (sample faces on a photo) in {folder}")
        make_frame_set(folder)
        return _folder_frames(folder)
    path = Path(source)
    if path.is_dir():
        return _folder_frames(path)
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return FrameSet(files=[], video=str(path))
    raise DataError(f"--frames {source}: expected a folder of images, a video file ({', '.join(VIDEO_SUFFIXES)}) "
                    f"or '{BUILT_IN}' (the built-in frame set)")


def _folder_frames(folder: Path) -> FrameSet:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no images here ({', '.join(IMAGE_SUFFIXES)})")
    truth = None
    truth_file = folder / TRUTH_FILE
    if truth_file.is_file():
        try:
            truth = json.loads(truth_file.read_text())["faces"]
            if not isinstance(truth, dict):
                raise TypeError("'faces' is not an object")
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{truth_file}: not a face list edgefer wrote ({error}); delete it to bench "
                            f"without the truth") from None
    return FrameSet(files=files, truth=truth)


def _sizes(frame_set: FrameSet) -> list[str]:
    from PIL import Image

    sizes = []
    for path in frame_set.files:
        with Image.open(path) as image:  # the header only
            sizes.append(f"{image.width}x{image.height}")
    return sizes


def matched(found: list[list[int]], truth: list[list[int]]) -> int:
    """How many true faces a detection stands on: its centre inside the true box and the true centre inside
    it (whatever each detector's idea of a box's margins), each detection counted once."""
    used, hits = set(), 0
    for tx, ty, tw, th in truth:
        for i, (x, y, w, h) in enumerate(found):
            if i in used:
                continue
            if tx <= x + w / 2 <= tx + tw and ty <= y + h / 2 <= ty + th and x <= tx + tw / 2 <= x + w \
                    and y <= ty + th / 2 <= y + h:
                used.add(i)
                hits += 1
                break
    return hits


@dataclass
class PipelineRow:
    """One pipeline at one thread count on the frames of one size."""

    pipeline: str
    threads: int
    frame_size: str
    frames: int
    runs: int  # timed frames over all rounds
    p50_ms: float
    p99_ms: float
    mean_ms: float
    stages_ms: dict[str, float]  # mean per frame
    faces_per_frame: float
    found: int | None  # true faces found (where the truth is known)
    truth: int | None
    extra: int | None  # detections standing on no true face
    runtime: str
    peak_rss_mb: float

    @property
    def resize_share(self) -> float | None:
        """Share of the frame in edgefer's own resizing and cropping (None for other pipelines)."""
        if not all(stage in self.stages_ms for stage in RESIZE_STAGES):
            return None
        return sum(self.stages_ms[s] for s in RESIZE_STAGES) / self.mean_ms


@dataclass
class FrameReport:
    source: str
    threads: list[int]
    rounds: int
    resize_backend: str
    machine: dict
    versions: dict
    rows: list[PipelineRow]
    failures: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> FrameReport:
        return cls(**{**data, "rows": [PipelineRow(**row) for row in data["rows"]]})

    def comparisons(self) -> list[dict]:
        """For each peer row, edgefer's row of the same thread count and frame size: speed-up and faces."""
        edgefer = {(r.threads, r.frame_size): r for r in self.rows if r.pipeline.startswith("edgefer")}
        out = []
        for peer in (r for r in self.rows if not r.pipeline.startswith("edgefer")):
            ours = edgefer.get((peer.threads, peer.frame_size))
            if ours is not None:
                out.append({"frame_size": peer.frame_size, "threads": peer.threads, "edgefer": ours.pipeline,
                            "peer": peer.pipeline, "edgefer_p50_ms": ours.p50_ms, "peer_p50_ms": peer.p50_ms,
                            "speedup": peer.p50_ms / ours.p50_ms, "edgefer_found": ours.found,
                            "peer_found": peer.found, "truth": ours.truth})
        return out


def pipelines_for(models: list[str], peers: list[str], bench: str) -> list[dict]:
    """The worker pipelines of a whole-image bench (`bench`: "frame" or "photo"): edgefer's predictor per model
    (a .tflite path or a packaged name), then each peer library; unknown peers and non-TFLite models are errors."""
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise DataError(f"--peer {', '.join(unknown)}; expected {' or '.join(PEERS)}")
    pipelines = []
    for model in models:
        path = resolve_model_path(model)
        if path.suffix.lower() != ".tflite" or not path.is_file():
            raise ModelError(f"{model}: the {bench} bench runs the device predictor on a .tflite model (or a packaged "
                             f"one: {', '.join(PACKAGED_MODELS)})")
        name = f"edgefer {model}" if model in PACKAGED_MODELS else f"edgefer {path.name}"
        pipelines.append({"name": name, "pipeline": "edgefer", "model": str(path)})
    return pipelines + [{"name": peer, "pipeline": peer, "model": None} for peer in peers]


def _pipelines(config: FrameBenchConfig) -> list[dict]:
    return pipelines_for(config.models, config.peers, "frame")


def _run_worker(job: dict, workdir: Path) -> dict:
    return run_in_worker("edgefer.bench.frame_worker", job, workdir, stem="frame_")


def _collect(config: FrameBenchConfig, frame_set: FrameSet, pipelines: list[dict], workdir: Path) -> dict:
    """{(pipeline name, threads): {"samples": [...], "boxes": [...], "sizes": [...], ...}} over all rounds."""
    collected: dict = {}
    for r in range(config.rounds):
        note(f"frames: round {r + 1} of {config.rounds}")
        for pipeline in pipelines:
            for threads in config.threads:
                key = (pipeline["name"], threads)
                if key in collected and "error" in collected[key]:
                    continue
                job = {**pipeline, "threads": threads, "frames": [str(p) for p in frame_set.files],
                       "video": frame_set.video, "max_frames": config.max_frames, "warmup": config.warmup,
                       "resize_backend": config.resize_backend, "timeout_s": config.timeout_s}
                result = _run_worker(job, workdir)
                if "error" in result:
                    collected[key] = {"error": result["error"]}
                    note(f"  {pipeline['name']} ({threads} thread(s)): failed, {result['error']}")
                    continue
                entry = collected.setdefault(key, {"samples": [], "runtime": result["runtime"], "rss": 0.0,
                                                   "boxes": [s["boxes"] for s in result["samples"]],
                                                   "sizes": result["sizes"]})
                entry["samples"] += result["samples"]
                entry["rss"] = max(entry["rss"], result["peak_rss_mb"])
    return collected


def _rows_for(name: str, threads: int, entry: dict, sizes: list[str], frame_set: FrameSet) -> list[PipelineRow]:
    rows = []
    names = frame_set.names
    for size in dict.fromkeys(sizes):
        indices = [i for i, s in enumerate(sizes) if s == size]
        samples = [s for s in entry["samples"] if sizes[s["frame"]] == size]
        ms = np.array([s["ms"] for s in samples])
        order = list(FRAME_STAGES)
        stages = sorted({k for s in samples for k in s["stages"]}, key=lambda k: (order + [k]).index(k))
        stage_ms = {k: float(np.mean([s["stages"].get(k, 0.0) for s in samples])) for k in stages}
        boxes = [entry["boxes"][i] for i in indices]
        found = truth = extra = None
        if frame_set.truth is not None:
            true_boxes = [frame_set.truth.get(names[i], []) for i in indices]
            found = sum(matched(b, t) for b, t in zip(boxes, true_boxes))
            truth = sum(len(t) for t in true_boxes)
            extra = sum(len(b) for b in boxes) - found
        rows.append(PipelineRow(
            pipeline=name, threads=threads, frame_size=size, frames=len(indices), runs=len(samples),
            p50_ms=float(np.median(ms)), p99_ms=float(np.percentile(ms, 99)), mean_ms=float(ms.mean()),
            stages_ms=stage_ms, faces_per_frame=float(np.mean([len(b) for b in boxes])), found=found, truth=truth,
            extra=extra, runtime=entry["runtime"], peak_rss_mb=round(entry["rss"], 1)))
    return rows


def run_frame_bench(config: FrameBenchConfig) -> FrameReport:

    pipelines = _pipelines(config)
    frame_set = open_frame_set(config.source, Path(config.out))
    file_sizes = _sizes(frame_set) if frame_set.files else None
    with tempfile.TemporaryDirectory() as tmp:
        collected = _collect(config, frame_set, pipelines, Path(tmp))
    rows, failures = [], []
    for (name, threads), entry in collected.items():
        if "error" in entry:
            failures.append({"pipeline": name, "threads": threads, "error": entry["error"]})
            continue
        sizes = file_sizes or [f"{w}x{h}" for w, h in entry["sizes"]]
        rows.extend(_rows_for(name, threads, entry, sizes, frame_set))
    order = {size: i for i, size in enumerate(dict.fromkeys(r.frame_size for r in rows))}
    rows.sort(key=lambda r: (order[r.frame_size], r.threads))
    return FrameReport(source=config.source if frame_set.video is None else frame_set.video,
                       threads=list(config.threads), rounds=config.rounds,
                       resize_backend=config.resize_backend or resize_backend(), machine=machine_info(),
                       versions=package_versions(), rows=rows, failures=failures)


# ---------------------------------------------------------------------------------------------------
# Outputs


def _faces_cell(row: PipelineRow) -> str:
    if row.found is None:
        return f"{row.faces_per_frame:.2f}/frame"
    return f"{row.found}/{row.truth} (+{row.extra})"


def flat_rows(report: FrameReport) -> list[dict]:
    out = []
    for r in report.rows:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in r.stages_ms.items())
        share = r.resize_share
        out.append({"frame": r.frame_size, "pipeline": r.pipeline, "threads": str(r.threads),
                    "p50 ms": f"{r.p50_ms:.2f}", "p99 ms": f"{r.p99_ms:.2f}", "faces found": _faces_cell(r),
                    "resize share": "-" if share is None else f"{share:.0%}", "mean ms per stage": stages})
    return out


def comparison_lines(report: FrameReport) -> list[str]:
    lines = []
    for c in report.comparisons():
        faces = ""
        if c["truth"] is not None:
            faces = f"; faces found {c['edgefer_found']} vs {c['peer_found']} of {c['truth']}"
        lines.append(f"{c['frame_size']}, {c['threads']} thread(s): {c['edgefer']} {c['edgefer_p50_ms']:.2f} ms vs "
                     f"{c['peer']} {c['peer_p50_ms']:.2f} ms per frame (p50): {c['speedup']:.1f}x faster{faces}")
    return lines


def markdown(report: FrameReport) -> str:
    rows = flat_rows(report)
    columns = list(rows[0]) if rows else []
    machine = report.machine
    text = [f"# Frame bench: {report.source}", "",
            f"Machine: {machine['cpu']} ({', '.join(machine['vector_extensions']) or 'no listed vector extensions'}), "
            f"{machine['cores']} cores; {report.rounds} round(s); edgefer resizing: {report.resize_backend}.",
            "Faces found: true faces found / faces there (+ detections on no true face).", ""]
    if columns:
        text += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        text += ["| " + " | ".join(row[c] for c in columns) + " |" for row in rows]
    text += [""] + [f"- {line}" for line in comparison_lines(report)]
    text += [f"- {f['pipeline']} ({f['threads']} thread(s)): failed, {f['error']}" for f in report.failures]
    return "\n".join(text) + "\n"


def write_frame_outputs(report: FrameReport, out: Path) -> None:
    write_json(Path(out) / "frames.json", report.to_json())
    write_text(Path(out) / "frames.md", markdown(report))


def frame_table(report: FrameReport):
    from rich.table import Table

    rows = flat_rows(report)
    table = Table(title=f"per frame: {report.source} ({report.machine['cpu']})")
    for column in (rows[0] if rows else {}):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row.values())
    return table


def report_frames(config: FrameBenchConfig, say, warn) -> int:
    """Run the frame bench, write frames.json and frames.md, show the table and the comparisons through `say`, the
    failures through `warn`; returns the exit status (1 if a pipeline failed)."""

    if config.resize_backend is not None and config.resize_backend not in RESIZE_BACKENDS:
        raise DataError(f"--resize-backend {config.resize_backend!r}; expected {' or '.join(RESIZE_BACKENDS)}")
    report = run_frame_bench(config)
    write_frame_outputs(report, config.out)
    say(frame_table(report))
    for line in comparison_lines(report):
        say(line, highlight=False)
    say(f"wrote {config.out}/frames.json and frames.md", highlight=False)
    for failure in report.failures:
        warn(f"[red]{failure['pipeline']} ({failure['threads']} thread(s)): failed:[/] {failure['error']}",
             highlight=False, soft_wrap=True)
    return 1 if report.failures else 0
