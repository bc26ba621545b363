"""The options of `edgefer bench`, written once: each field's flag, default and help (the CLI derives its options
from them, edgefer.cli_support), and the configuration of the bench they ask for (crops, `--frames` or `--photos`).

A module of its own so that the CLI reads the options without importing the bench's runners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgefer.cli_support import option
from edgefer.errors import DataError

# Defaults shared by the options and the bench configurations (edgefer.bench.run.BenchConfig and the others).
THREADS, RUNS, WARMUP, ROUNDS = "1,2", 200, 20, 3


@dataclass
class BenchOptions:
    """Every option of `edgefer bench`; `crops()`, `frames_config()` and `photos_config()` turn them into the bench's
    own configurations."""

    data: Path | None = field(default=None, metadata=option(
        "--data", "FER2013 in any form. Default: the embedded sample (its 140 test faces)."))
    split: str = field(default="PublicTest", metadata=option("--split", "Split to score on."))
    threads: str = field(default=THREADS, metadata=option(
        "--threads", "Thread counts for the latency runs, comma-separated."))
    runs: int = field(default=RUNS, metadata=option(
        "--runs", "Timed single-face inferences per thread count.", min=1))
    warmup: int = field(default=WARMUP, metadata=option("--warmup", "Untimed inferences first (in each round).", min=0))
    rounds: int = field(default=ROUNDS, metadata=option(
        "--rounds", "Latency rounds: --runs is split between them and every artifact takes its turn in each, so a slow "
        "spell of the machine falls on all rows, not on one.", min=1))
    min_accuracy: float | None = field(default=None, metadata=option(
        "--min-accuracy", "Exit 1 if any artifact scores under this (0..1)."))
    out: Path = field(default=Path("bench"), metadata=option(
        "--out", "Folder for bench.json/.csv/.md and plots (frames.json/.md with --frames, photos.* with --photos)."))
    input_size: int | None = field(default=None, metadata=option(
        "--input-size", "External models: their input side (the face is resized to it)."))
    normalize: str = field(default="none", metadata=option(
        "--normalize", "External models: 0_1, -1_1, imagenet or none."))
    class_names: str | None = field(default=None, metadata=option(
        "--class-names", "External models: their class names in output order, comma-separated."))
    labels: str | None = field(default=None, metadata=option(
        "--labels", "The old spelling of --class-names.", hidden=True))
    tta: str = field(default="none", metadata=option(
        "--tta", "none, flip (each artifact also measured with flip averaging, as a row of its own: accuracy and "
        "latency), or none,flip."))
    labels_source: str = field(default="fer2013", metadata=option(
        "--labels-source", "Labels to score against: fer2013 (and, where fer2013new.csv is beside the CSV, the same "
        "faces against the FER+ annotators' majority in the 7 classes, a column of its own), or ferplus (the FER+ "
        "majority vote, 8 classes; 7-class models map onto it by name and Contempt counts as wrong for them; also "
        "reports accuracy on the faces where both label sources agree)."))
    ferplus: Path | None = field(default=None, metadata=option(
        "--ferplus", "fer2013new.csv[.gz] (the FER+ votes); default: found beside the CSV."))
    frames: str | None = field(default=None, metadata=option(
        "--frames", "Time whole frames instead (decode, find faces, crop, classify) as EmotionPredictor.predict_frame "
        "runs them: a folder of images (with faces.json: faces found are scored), a video file, or 'sample' (a built-in "
        "set of VGA, 720p and portrait frames with known faces). Per frame p50/p99, ms per stage, faces found."))
    peer: str | None = field(default=None, metadata=option(
        "--peer", "With --frames or --photos: also time other pipelines on the same images, comma-separated: fer (the "
        "fer package; see benchmarks/frames_vs_fer.sh), faceapi (face-api.js's expression model on edgefer's boxes; "
        "convert it once with benchmarks/faceapi_peer.py)."))
    resize_backend: str | None = field(default=None, metadata=option(
        "--resize-backend", "With --frames: force edgefer's resizing to pillow or numpy (default: pillow when "
        "importable)."))
    photos: str | None = field(default=None, metadata=option(
        "--photos", "A folder of photos whose class subfolders (happy/, neutral/, ...) are the truth: with --data, each "
        "TFLite artifact is also scored end to end on them (the largest face of each photo), a column of the same "
        "table beside the crops' accuracy. Without --data (or with 'sample', a built-in set: real photos from 36 px "
        "thumbnails to 720p, and FER2013 test faces placed into frames as a camera shows them; --data gives its "
        "faces): whole photos timed by size bucket: faces found (faces.json), accuracy, macro-recall, per-class recall, "
        "p50/p99 ms per photo as a file and as numpy RGB and BGR; --peer fer,faceapi beside it. Runs on the first "
        "--threads count."))
    proxy_per_class: int = field(default=30, metadata=option(
        "--proxy-per-class", "With --photos sample: FER2013 test faces per class placed into frames (the labelled "
        "proxy; 30 gives 210 photos, 120 gives 840 for figures with less noise).", min=1))

    @property
    def peers(self) -> list[str]:
        return [p.strip() for p in (self.peer or "").split(",") if p.strip()]

    def thread_counts(self) -> list[int]:
        return thread_counts(self.threads)


def thread_counts(text: str) -> list[int]:
    """--threads 1,2 -> [1, 2] (positive integers), or a DataError."""
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise DataError(f"--threads {text!r}; expected positive integers separated by commas, e.g. 1,2")
    return values
