"""`edgefer bench --photos DIR|sample`: faces found, end-to-end accuracy and time per photo, by photo size.

Users bring photos and camera frames, not 48x48 crops. This bench runs each pipeline (edgefer's `predict_frame`
per model, and `fer`'s `detect_emotions` where installed) over a folder of photos, in a worker process per
pipeline, input form and round (`edgefer.bench.frame_worker`, 1 thread by default), and reports per size bucket of
the photos' short side:

- faces found, where `faces.json` gives the truth (as `edgefer.bench.photoset` writes it);
- end-to-end accuracy and macro-recall where the photo's folder is a class name (`DIR/Happy/x.jpg`): the face on the
  true box (else the largest face) must carry that label; a photo where no face is found counts as wrong;
- p50 / p99 ms per photo and mean ms per stage, with the photo given as a file (decoded inside, as
  `Image.open`), and decoded before the clock (as a camera loop or a web service holds it): a PIL image, and numpy
  arrays in RGB and in BGR (OpenCV's order); `numpy_overheads` compares the arrays with the PIL image.

`sample` builds the photo set of `edgefer.bench.photoset` into OUT/photos (its proxy from `--data`'s PublicTest
faces when given, else from the embedded sample). Writes photos.json, photos.md and photos.png in OUT.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from edgefer.bench.frames import matched, pipelines_for
from edgefer.bench.frameset import TRUTH_FILE
from edgefer.bench.jobs import run_in_worker
from edgefer.bench.photoset import make_photo_set
from edgefer.core.fileio import atomic_path, write_json, write_text
from edgefer.core.progress import note
from edgefer.core.run_folder import machine_info, package_versions
from edgefer.errors import DataError
from edgefer.predictor import FER2013_CLASSES, IMAGE_SUFFIXES

BUILT_IN = "sample"
INPUTS = ("file", "pil", "rgb", "bgr")
PEER_INPUTS = {"fer": ("file", "bgr"), "faceapi": ("file", "rgb")}  # fer's detect_emotions takes BGR arrays (OpenCV's order) or files it reads
# Buckets of the photo's short side, px: [low, high).
BUCKETS = (("under 100", 0, 100), ("100-199", 100, 200), ("200-399", 200, 400), ("400-599 (VGA)", 400, 600),
           ("600+ (720p)", 600, 10**9))
KNOWN_CLASSES = {name.lower(): name for name in (*FER2013_CLASSES, "Contempt")}


@dataclass
class PhotoBenchConfig:
    source: str  # a folder of photos, or "sample"
    models: list[str] = field(default_factory=lambda: ["default"])
    peers: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=lambda: list(INPUTS))
    threads: int = 1
    rounds: int = 2
    warmup: int = 3
    out: Path = Path("bench/photos")
    data: str | None = None  # FER2013 for the built-in set's proxy (its PublicTest faces)
    per_class: int = 30  # proxy faces per class in the built-in set
    timeout_s: int = 1800


@dataclass
class PhotoSet:
    files: list[Path]
    names: list[str]  # paths relative to the set's folder, "/"-separated
    labels: list[str | None]  # the class folder's name, where it is one
    truth: dict[str, list[list[int]]] | None
    sizes: list[tuple[int, int]]  # width, height (upright)


def bucket_of(width: int, height: int) -> str:
    short = min(width, height)
    return next(name for name, low, high in BUCKETS if low <= short < high)


def open_photo_set(source: str, out: Path, data: str | None = None, per_class: int = 30) -> PhotoSet:
    if source == BUILT_IN:
        folder = out / "photos"
        note(f"building the photo set (real photos + labelled proxy) in {folder}")
        make_photo_set(folder, data=data, per_class=per_class)
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise DataError(f"--photos {source}: expected a folder of photos (class subfolders where labelled) or "
                            f"'{BUILT_IN}' (the built-in photo set)")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no photos here ({', '.join(IMAGE_SUFFIXES)}), nor in its subfolders")
    names = [p.relative_to(folder).as_posix() for p in files]
    labels = [KNOWN_CLASSES.get(p.parent.name.lower()) if p.parent != folder else None for p in files]
    truth = None
    if (folder / TRUTH_FILE).is_file():
        try:
            truth = json.loads((folder / TRUTH_FILE).read_text())["faces"]
            if not isinstance(truth, dict):
                raise TypeError("'faces' is not an object")
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{folder / TRUTH_FILE}: not a face list edgefer wrote ({error})") from None
    return PhotoSet(files=files, names=names, labels=labels, truth=truth, sizes=_upright_sizes(files))


def _upright_sizes(files: list[Path]) -> list[tuple[int, int]]:
    """(width, height) of each photo as seen upright (a phone photo stored sideways is turned by its EXIF tag)."""
    from PIL import Image

    sizes = []
    for path in files:
        with Image.open(path) as image:  # the header only
            sideways = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
            sizes.append((image.height, image.width) if sideways else (image.width, image.height))
    return sizes


@dataclass
class PhotoRow:
    pipeline: str
    input: str
    bucket: str
    photos: int
    p50_ms: float
    p99_ms: float
    stages_ms: dict[str, float]
    found: int | None
    truth: int | None
    extra: int | None
    labelled: int
    correct: int
    recall: dict[str, float]  # per class, of the labelled photos in this bucket
    class_counts: dict[str, list[int]] = field(default_factory=dict)  # per class: [correct, labelled photos]

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    @property
    def macro_recall(self) -> float | None:
        return float(np.mean(list(self.recall.values()))) if self.recall else None


@dataclass
class PhotoReport:
    source: str
    threads: int
    rounds: int
    machine: dict
    versions: dict
    rows: list[PhotoRow]
    failures: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        for row, out in zip(self.rows, data["rows"]):
            out.update(accuracy=row.accuracy, macro_recall=row.macro_recall)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "PhotoReport":
        """The report photos.json holds (`to_json`'s derived figures and any added note are left out; they are
        recomputed or not part of the report)."""
        row_fields = {f.name for f in fields(PhotoRow)}
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in fields(cls)} - {"rows"}},
                   rows=[PhotoRow(**{k: v for k, v in r.items() if k in row_fields}) for r in data["rows"]])

    def numpy_overheads(self) -> list[dict]:
        """Per edgefer pipeline and bucket: p50 of a numpy frame (rgb, bgr) over the same decoded PIL image's."""
        pil = {(r.pipeline, r.bucket): r for r in self.rows if r.input == "pil"}
        return [{"pipeline": r.pipeline, "bucket": r.bucket, "input": r.input, "ratio": r.p50_ms / base.p50_ms}
                for r in self.rows if r.input in ("rgb", "bgr") and (base := pil.get((r.pipeline, r.bucket)))]

    def speedups(self) -> list[dict]:
        """Each peer row beside edgefer's first model on the same input and bucket."""
        ours = {(r.input, r.bucket): r for r in reversed(self.rows) if r.pipeline.startswith("edgefer")}
        out = []
        for peer in (r for r in self.rows if not r.pipeline.startswith("edgefer")):
            mine = ours.get((peer.input, peer.bucket))
            if mine is not None:
                out.append({"bucket": peer.bucket, "input": peer.input, "edgefer": mine.pipeline, "peer": peer.pipeline,
                            "edgefer_p50_ms": mine.p50_ms, "peer_p50_ms": peer.p50_ms,
                            "speedup": peer.p50_ms / mine.p50_ms})
        return out


def _pipelines(config: PhotoBenchConfig) -> list[dict]:
    """The frame bench's pipelines, each with the input forms it takes (edgefer all, a peer those it accepts)."""
    unknown = [i for i in config.inputs if i not in INPUTS]
    if unknown:
        raise DataError(f"--inputs {', '.join(unknown)}; expected some of {', '.join(INPUTS)}")
    pipelines = pipelines_for(config.models, config.peers, "photo")
    for pipeline in pipelines:
        accepted = PEER_INPUTS.get(pipeline["pipeline"], INPUTS)
        pipeline["inputs"] = [i for i in config.inputs if i in accepted]
    return pipelines


def _collect(config: PhotoBenchConfig, photos: PhotoSet, pipelines: list[dict], workdir: Path) -> dict:
    collected: dict = {}
    for r in range(config.rounds):
        note(f"photos: round {r + 1} of {config.rounds}")
        for pipeline in pipelines:
            forms = pipeline["inputs"]
            for form in forms[r % len(forms):] + forms[: r % len(forms)]:  # a new order each round: no form always first
                key = (pipeline["name"], form)
                if "error" in collected.get(key, {}):
                    continue
                job = {"name": pipeline["name"], "pipeline": pipeline["pipeline"], "model": pipeline["model"],
                       "threads": config.threads, "frames": [str(p) for p in photos.files], "video": None,
                       "max_frames": 0, "warmup": config.warmup, "input": form, "timeout_s": config.timeout_s}
                result = run_in_worker("edgefer.bench.frame_worker", job, workdir, stem="photo_")
                if "error" in result:
                    collected[key] = {"error": result["error"]}
                    note(f"  {pipeline['name']} ({form}): failed, {result['error']}")
                    continue
                entry = collected.setdefault(key, {"samples": [], "faces": result["samples"]})
                entry["samples"] += result["samples"]
    return collected


def _predicted_label(boxes, labels, truth) -> str | None:
    """The label of the face on the true box (else of the largest face); None when no face was found."""
    if not boxes:
        return None
    if truth:
        for box, label in zip(boxes, labels):
            if matched([box], truth[:1]):
                return label
    return labels[int(np.argmax([w * h for _, _, w, h in boxes]))]


def _rows(name: str, form: str, entry: dict, photos: PhotoSet) -> list[PhotoRow]:
    buckets = [bucket_of(*size) for size in photos.sizes]
    rows = []
    for bucket, _, _ in BUCKETS:
        indices = [i for i, b in enumerate(buckets) if b == bucket]
        if not indices:
            continue
        chosen = set(indices)
        samples = [s for s in entry["samples"] if s["frame"] in chosen]
        ms = np.array([s["ms"] for s in samples])
        stages = {k: float(np.mean([s["stages"].get(k, 0.0) for s in samples]))
                  for k in dict.fromkeys(k for s in samples for k in s["stages"])}
        faces = {s["frame"]: s for s in entry["faces"]}
        found = truth_count = extra = None
        if photos.truth is not None:
            pairs = [(faces[i]["boxes"], photos.truth.get(photos.names[i], [])) for i in indices]
            found = sum(matched(b, t) for b, t in pairs)
            truth_count = sum(len(t) for _, t in pairs)
            extra = sum(len(b) for b, _ in pairs) - found
        hits: dict[str, list[bool]] = {}
        for i in indices:
            if photos.labels[i] is None:
                continue
            truth = (photos.truth or {}).get(photos.names[i])
            label = _predicted_label(faces[i]["boxes"], faces[i]["labels"], truth)
            hits.setdefault(photos.labels[i], []).append(label is not None and label.lower() == photos.labels[i].lower())
        labelled = sum(len(v) for v in hits.values())
        rows.append(PhotoRow(
            pipeline=name, input=form, bucket=bucket, photos=len(indices), p50_ms=float(np.median(ms)),
            p99_ms=float(np.percentile(ms, 99)), stages_ms=stages, found=found, truth=truth_count, extra=extra,
            labelled=labelled, correct=sum(sum(v) for v in hits.values()),
            recall={k: float(np.mean(v)) for k, v in sorted(hits.items())},
            class_counts={k: [int(sum(v)), len(v)] for k, v in sorted(hits.items())}))
    return rows


def class_recall(rows: list[PhotoRow]) -> dict[str, float]:
    """Per-class recall over every bucket of `rows` (one pipeline and input), from the per-class counts."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        for name, (correct, n) in row.class_counts.items():
            entry = totals.setdefault(name, [0, 0])
            entry[0], entry[1] = entry[0] + correct, entry[1] + n
    order = list(KNOWN_CLASSES.values())
    return {k: c / n for k, (c, n) in sorted(totals.items(), key=lambda kv: (order + [kv[0]]).index(kv[0])) if n}


def total_row(rows: list[PhotoRow]) -> dict:
    """All buckets together for one pipeline and input: found, accuracy, macro-recall and per-class recall."""
    labelled = sum(r.labelled for r in rows)
    correct = sum(r.correct for r in rows)
    found = None if rows[0].found is None else sum(r.found for r in rows)
    truth = None if rows[0].truth is None else sum(r.truth for r in rows)
    recall = class_recall(rows)
    return {"photos": sum(r.photos for r in rows), "found": found, "truth": truth,
            "accuracy": correct / labelled if labelled else None, "labelled": labelled,
            "macro_recall": float(np.mean(list(recall.values()))) if recall else None, "recall": recall}


def pipeline_totals(report: PhotoReport) -> dict[str, dict]:
    """Per pipeline, its totals (`total_row`) on its first input form: the accuracy figures of a run."""
    totals = {}
    for r in report.rows:
        if r.pipeline not in totals:
            totals[r.pipeline] = {"input": r.input, **total_row(
                [x for x in report.rows if x.pipeline == r.pipeline and x.input == r.input])}
    return totals


def run_photo_bench(config: PhotoBenchConfig) -> PhotoReport:
    pipelines = _pipelines(config)
    photos = open_photo_set(config.source, Path(config.out), config.data, config.per_class)
    note(f"photos: {len(photos.files)} ({sum(lb is not None for lb in photos.labels)} labelled)")
    with tempfile.TemporaryDirectory() as tmp:
        collected = _collect(config, photos, pipelines, Path(tmp))
    rows, failures = [], []
    for (name, form), entry in collected.items():
        if "error" in entry:
            failures.append({"pipeline": name, "input": form, "error": entry["error"]})
        else:
            rows.extend(_rows(name, form, entry, photos))
    return PhotoReport(source=config.source, threads=config.threads, rounds=config.rounds, machine=machine_info(),
                       versions=package_versions(), rows=rows, failures=failures)


# ---------------------------------------------------------------------------------------------------
# Outputs


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def flat_rows(report: PhotoReport) -> list[dict]:
    out = []
    for r in report.rows:
        faces = "-" if r.found is None else f"{r.found}/{r.truth} (+{r.extra})"
        stages = ", ".join(f"{k} {v:.2f}" for k, v in r.stages_ms.items() if v >= 0.005)
        out.append({"short side px": r.bucket, "pipeline": r.pipeline, "input": r.input, "photos": str(r.photos),
                    "faces found": faces, "accuracy": _pct(r.accuracy), "macro-recall": _pct(r.macro_recall),
                    "p50 ms": f"{r.p50_ms:.2f}", "p99 ms": f"{r.p99_ms:.2f}", "mean ms per stage": stages})
    return out


def summary_lines(report: PhotoReport) -> list[str]:
    lines = []
    groups: dict[tuple[str, str], list[PhotoRow]] = {}
    for r in report.rows:
        groups.setdefault((r.pipeline, r.input), []).append(r)
    for (pipeline, form), rows in groups.items():
        total = total_row(rows)
        faces = "" if total["found"] is None else f"faces found {total['found']}/{total['truth']}"
        accuracy = "" if total["accuracy"] is None else f", end-to-end accuracy {total['accuracy']:.1%} of {total['labelled']}"
        lines.append(f"{pipeline} ({form}): {total['photos']} photos, {faces}{accuracy}")
    for o in report.numpy_overheads():
        lines.append(f"{o['bucket']} px: {o['pipeline']} numpy {o['input']} frame {o['ratio']:.2f}x the time of the "
                     f"decoded PIL image (p50)")
    for s in report.speedups():
        lines.append(f"{s['bucket']} px, {s['input']}: {s['edgefer']} {s['edgefer_p50_ms']:.2f} ms vs {s['peer']} "
                     f"{s['peer_p50_ms']:.2f} ms per photo (p50): {s['speedup']:.1f}x faster")
    return lines


def recall_table(report: PhotoReport) -> list[str]:
    """Per-class recall over all buckets, per pipeline (first input form of each), with accuracy and macro-recall."""
    totals = pipeline_totals(report)
    order = list(KNOWN_CLASSES.values())
    classes = sorted({k for t in totals.values() for k in t["recall"]}, key=lambda k: (order + [k]).index(k))
    if not classes:
        return []
    lines = ["| pipeline | accuracy | macro-recall | " + " | ".join(classes) + " |",
             "|---|---|---|" + "---|" * len(classes)]
    for name, t in totals.items():
        cells = [_pct(t["recall"].get(k)) for k in classes]
        lines.append(f"| {name} | {_pct(t['accuracy'])} | {_pct(t['macro_recall'])} | " + " | ".join(cells) + " |")
    return lines


def markdown(report: PhotoReport) -> str:
    rows = flat_rows(report)
    machine = report.machine
    text = [f"# Photo bench: {report.source}", "",
            f"Machine: {machine['cpu']} ({', '.join(machine['vector_extensions']) or 'no listed vector extensions'}), "
            f"{machine['cores']} cores; {report.threads} thread(s); {report.rounds} round(s).",
            "Faces found: true faces found / faces there (+ detections on no true face). Accuracy: end to end (a "
            "photo with no face found counts as wrong). input: file (decoded inside), or decoded before the clock: pil, "
            "numpy rgb / bgr.", ""]
    if rows:
        columns = list(rows[0])
        text += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        text += ["| " + " | ".join(row[c] for c in columns) + " |" for row in rows]
    text += [""] + [f"- {line}" for line in summary_lines(report)]
    table = recall_table(report)
    if table:
        text += ["", "Per-class recall (end to end, all sizes):", ""] + table
    text += [f"- {f['pipeline']} ({f['input']}): failed, {f['error']}" for f in report.failures]
    return "\n".join(text) + "\n"


def plot(report: PhotoReport, path: Path) -> Path | None:
    """p50 ms per photo and accuracy by size bucket, one line per pipeline (file input)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [b for b, _, _ in BUCKETS if any(r.bucket == b for r in report.rows)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for pipeline in dict.fromkeys(r.pipeline for r in report.rows):
        rows = {r.bucket: r for r in report.rows if r.pipeline == pipeline and r.input == "file"}
        if not rows:
            continue
        xs = [i for i, b in enumerate(names) if b in rows]
        left.plot(xs, [rows[names[i]].p50_ms for i in xs], marker="o", label=pipeline)
        accuracy = [(i, rows[names[i]].accuracy) for i in xs if rows[names[i]].accuracy is not None]
        if accuracy:
            right.plot(*zip(*accuracy), marker="o", label=pipeline)
    for axis, title in ((left, "p50 ms per photo (file, 1 thread)"), (right, "end-to-end accuracy (labelled photos)")):
        axis.set_xticks(range(len(names)), names, fontsize=8)
        axis.set_xlabel("photo's short side, px")
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    left.set_yscale("log")
    fig.suptitle(f"{report.machine['cpu']}", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def report_photos(config: PhotoBenchConfig, say, warn) -> int:
    """Run the photo bench, write photos.json, photos.md and photos.png, show the table; exit status 1 on a failure."""
    report = run_photo_bench(config)
    out = Path(config.out)
    write_json(out / "photos.json", report.to_json())
    write_text(out / "photos.md", markdown(report))
    plot(report, out / "photos.png")
    from rich.table import Table

    rows = flat_rows(report)
    table = Table(title=f"per photo: {report.source} ({report.machine['cpu']})")
    for column in (rows[0] if rows else {}):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row.values())
    say(table)
    for line in summary_lines(report):
        say(line, highlight=False)
    say(f"wrote {out}/photos.json, photos.md and photos.png", highlight=False)
    for failure in report.failures:
        warn(f"[red]{failure['pipeline']} ({failure['input']}): failed:[/] {failure['error']}", highlight=False,
             soft_wrap=True)
    return 1 if report.failures else 0
