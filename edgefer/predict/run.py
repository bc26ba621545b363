"""`edgefer predict`: which model, which images, and what to print, save or stream.

The predicting itself is `edgefer.predictor` (the file that also runs alone on devices); this module
resolves the command line's arguments, prints a line (or JSON) per face, writes annotated images and
runs the camera loop.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgefer.cli_support import option
from edgefer.core.fileio import csv_text, write_text
from edgefer.core.video import opencv, quiet_native
from edgefer.core.workers import JobFailure, run_jobs, threads_per_worker
from edgefer.predict.annotate import save_annotated
from edgefer.predict.sample_photo import SAMPLE, write_group_photo
from edgefer.predictor import (
    AUTO,
    IMAGE_SUFFIXES,
    PACKAGED_MODELS,
    EmotionPredictor,
    Prediction,
    PredictorError,
    StageTimes,
    open_image,
    resolve_model_path,
)

OTHER_MODELS = {".onnx", ".keras", ".h5"}


@dataclass
class PredictOptions:
    """Every option of `edgefer predict` (flag, default and help in each field's metadata)."""

    detect: bool = field(default=False, metadata=option(
        "--detect", "Only the faces found: never read a whole image as one face. (Default: faces are found; a small "
        "image, up to 128 px, that is one face or has none found is read whole, as a face crop.)"))
    crop: bool = field(default=False, metadata=option(
        "--crop", "Read each whole image as one face, with no face detection (images already cropped to a face, like "
        "FER2013's)."))
    as_json: bool = field(default=False, metadata=option("--json", "Print JSON instead of lines."))
    threads: int | None = field(default=None, metadata=option("--threads", "TFLite interpreter threads.", min=1))
    camera: str | None = field(default=None, metadata=option(
        "--camera", "Live loop on camera N (or a video file) with OpenCV: prints each face's expression and the frame "
        "rate about once a second (JSON lines with --json). For tables and a timeline over time, use `edgefer "
        "analyze`."))
    max_frames: int | None = field(default=None, metadata=option(
        "--max-frames", "With --camera: stop after this many frames.", min=1))
    annotated_dir: Path | None = field(default=None, metadata=option(
        "--save-annotated", "Write each image, at its own size, with each face's number, box and label drawn into this "
        "folder."))
    detector: str = field(default="blazeface", metadata=option(
        "--detector", "blazeface (shipped, TFLite) or haar (needs OpenCV 4.x)."))
    min_score: float = field(default=0.5, metadata=option(
        "--min-score", "Face detector confidence threshold.", min=0.0, max=1.0))
    tta: str = field(default="none", metadata=option(
        "--tta", "Test-time augmentation: none, or flip (average with the mirrored face: more accurate, twice the "
        "work)."))
    model: str | None = field(default=None, metadata=option(
        "--model", "A packaged model: default (the most accurate), fast (the fastest), auto (the one `edgefer models` "
        "recommends for this CPU, timed here) or ferplus (8 classes, FER+ labels). Or a .tflite path."))
    stage_times: bool = field(default=False, metadata=option(
        "--stage-times", "With --camera: show where each frame's time goes (read, detector resize / invoke / NMS, "
        "crops, classifier), mean ms per stage in every report."))
    csv: Path | None = field(default=None, metadata=option(
        "--csv", "Write one row per face of every image (image, face number, box, label, probabilities; an image that "
        "failed: its error) into this CSV instead of printing lines: for a folder of many photos, with --workers.",
        metavar="FILE"))
    workers: int = field(default=1, metadata=option(
        "--workers", "With --csv: processes predicting at once, each with its share of the cores.", min=1))
    engine: str = field(default="local", metadata=option(
        "--engine", "With --csv: local (--workers processes) or ray (a Ray cluster; see edgefer analyze)."))
    address: str | None = field(default=None, metadata=option(
        "--address", "With --csv --engine ray: the cluster to use (e.g. auto)."))

    @property
    def mode(self) -> str:
        """How each image is read (EmotionPredictor.predict_image): auto, detect or crop."""
        if self.detect and self.crop:
            raise PredictorError("--detect and --crop contradict each other: give one (neither: faces are found, and "
                                 "a small image with none is read as one face)")
        return "detect" if self.detect else "crop" if self.crop else "auto"


def split_model_and_images(paths: list[str], model: str | None = None) -> tuple[Path, list[Path]]:
    """MODEL is optional: a first argument ending in .tflite, or --model (a packaged name or a .tflite path);
    without either the packaged default is used."""
    paths = [Path(p) for p in paths]
    if paths and paths[0].suffix.lower() in OTHER_MODELS:
        raise PredictorError(f"{paths[0]}: predict runs TFLite models (what devices run); "
                             f"make one with `edgefer export RUN`")
    positional = paths[0] if paths and paths[0].suffix.lower() == ".tflite" else None
    if positional is not None and model is not None:
        raise PredictorError(f"two models given: {positional} and --model {model}; give one")
    if positional is not None:
        return positional, paths[1:]
    if model is not None and model not in (*PACKAGED_MODELS, AUTO) and Path(model).suffix.lower() != ".tflite":
        raise PredictorError(f"--model {model}: expected a packaged model ({', '.join(PACKAGED_MODELS)}), "
                             f"{AUTO} (the one for this CPU) or a .tflite file")
    return resolve_model_path(model), paths


def expand_images(paths: list[Path]) -> list[Path]:
    """Folders stand for the images inside them and inside their subfolders (class folders), sorted by path."""
    images = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise PredictorError(f"{path}: folder holds no images, in it or its subfolders "
                                     f"({', '.join(IMAGE_SUFFIXES)})")
            images.extend(found)
        else:
            images.append(path)
    return images


def describe(image: str, result: Prediction, index: int, mode: str = "auto") -> str:
    """One face's line: 'photo.jpg: face 1 at x=.. y=.. w=.. h=.. Happy 91.2%  (Neutral 5%, Surprise 2%)'."""
    runners_up = sorted(result.probabilities.items(), key=lambda kv: -kv[1])[1:3]
    others = ", ".join(f"{name} {p:.0%}" for name, p in runners_up)
    if result.box is not None:
        x, y, w, h = result.box
        where = f" face {index} at x={x} y={y} w={w} h={h}"
    elif mode == "auto":
        where = " a face crop (a small image that is one face, or with no face found), read whole (--detect: never):"
    else:
        where = ""
    return f"{image}:{where} {result.label} {result.probability:.1%}  ({others})"


def predict_images(predictor: EmotionPredictor, images: list[Path], options: PredictOptions, emit, warn=None,
                   names: dict | None = None) -> int:
    """Predict each image, emit lines (or one JSON array at the end); problems go to `warn` (stderr); returns the
    count of images that failed. `names`: how to call some images in the output (the sample photo)."""
    warn = warn or emit
    mode = options.mode
    records, failures = [], 0
    for file in images:
        path = Path((names or {}).get(file, file))
        try:
            image = open_image(file)
            results = predictor.predict_image(image, mode, options.min_score)
        except PredictorError as error:
            failures += 1
            records.append({"image": str(path), "error": str(error)})
            message = str(error)  # name the file once
            warn(f"error: {message}" if message.startswith(str(path)) else f"error: {path}: {message}")
            continue
        records.append({"image": str(path), "faces": [{"face": i, **r.to_dict()} for i, r in enumerate(results, 1)]})
        if not options.as_json:
            for line in [describe(str(path), r, i, mode) for i, r in enumerate(results, 1)] or [f"{path}: no face found"]:
                emit(line)
        if options.annotated_dir is not None:
            save_annotated(image, results, options.annotated_dir / f"{path.stem}_annotated.png")
    if options.as_json:
        emit(json.dumps(records, indent=1))
    return failures


def open_camera(source: str):
    """(cv2, an opened VideoCapture) for a camera index or a video file; OpenCV's and FFmpeg's own messages about a
    source they cannot open are silenced (edgefer says it in one line)."""
    cv2 = opencv()
    with quiet_native():
        capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
        opened = capture.isOpened()
    if not opened:
        raise PredictorError(f"camera {source}: cannot be opened (no such device, or not a video file OpenCV reads)")
    return cv2, capture


def stage_line(summary: dict[str, float]) -> str:
    """'decode 1.2, detector_preprocess 0.8, ... ms (total 7.9)' from StageTimes.summary()."""
    stages = ", ".join(f"{k} {v:.1f}" for k, v in summary.items() if k != "total")
    return f"{stages} ms (total {summary['total']:.1f})"


def camera_loop(predictor: EmotionPredictor, source: str, options: PredictOptions, emit,
                max_frames: int | None = None, report_every_s: float = 1.0) -> dict:
    """Read frames from a camera index or a video file, predict every face, and print what is seen (each face's
    label and probability, left to right) with the frame rate about once a second: of wall time for a camera, of
    the video's own time for a file (a file is read faster than it plays) and at its last frame. With
    options.stage_times, also the mean ms per stage since the last report; the record is then cleared, so a loop of
    any length keeps its memory flat."""
    cv2, capture = open_camera(source)
    video_fps = capture.get(cv2.CAP_PROP_FPS) if not source.isdigit() else 0.0
    frames_per_report = max(1, round(video_fps * report_every_s)) if video_fps and video_fps > 0 else None
    times = StageTimes() if options.stage_times else None
    frames, started, last_report, last_frames = 0, time.perf_counter(), time.perf_counter(), 0
    results: list[Prediction] = []
    try:
        while max_frames is None or frames < max_frames:
            read_start = time.perf_counter()
            ok, bgr = capture.read()
            if not ok:
                break
            read_ms = (time.perf_counter() - read_start) * 1e3
            # OpenCV's frame goes in as it is (BGR): the predictor converts only the face crops.
            results = predictor.predict_frame(bgr, options.min_score, times=times, channels="bgr")
            if times is not None:
                times.add("decode", read_ms)  # the camera's read
            frames += 1
            if options.annotated_dir is not None:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                save_annotated(rgb, results, options.annotated_dir / f"frame_{frames:06d}.jpg")
            now = time.perf_counter()
            due = (frames - last_frames >= frames_per_report if frames_per_report
                   else now - last_report >= report_every_s)
            if due:
                emit(_report_line(frames, (frames - last_frames) / max(now - last_report, 1e-9), results, times,
                                  options.as_json, frames / video_fps if video_fps else None))
                if times is not None:
                    times.clear()
                last_report, last_frames = now, frames
    except KeyboardInterrupt:
        pass
    finally:
        capture.release()
    now = time.perf_counter()
    if frames > last_frames:  # the last frames since the last report (a clip shorter than a second: its only report)
        emit(_report_line(frames, (frames - last_frames) / max(now - last_report, 1e-9), results, times,
                          options.as_json, frames / video_fps if video_fps else None))
    elapsed = now - started
    summary = {"frames": frames, "seconds": round(elapsed, 2), "fps": round(frames / elapsed, 1) if elapsed else 0.0}
    if times is not None and times.frames:
        summary["stages_ms"] = {k: round(v, 3) for k, v in times.summary().items()}
    emit(json.dumps(summary) if options.as_json else
         f"{frames} frames in {summary['seconds']} s: {summary['fps']} FPS on average")
    return summary


def _report_line(frames: int, fps: float, results, times, as_json: bool, video_s: float | None = None) -> str:
    summary = times.summary() if times is not None else {}
    if as_json:
        record = {"frame": frames, "fps": round(fps, 1),
                  "faces": [{"face": i, **r.to_dict()} for i, r in enumerate(results, 1)]}
        if video_s is not None:
            record["video_s"] = round(video_s, 3)
        if summary:
            record["stages_ms"] = {k: round(v, 3) for k, v in summary.items()}
        return json.dumps(record)
    faces = ", ".join(f"face {i} {r.label} {r.probability:.0%}" for i, r in enumerate(results, 1)) or "no face"
    when = f" ({video_s:.1f} s)" if video_s is not None else ""
    line = f"frame {frames}{when}: {fps:.1f} FPS  {faces}"
    return f"{line}  [{stage_line(summary)}]" if summary else line


def run_predict(paths: list[str], options: PredictOptions, emit, warn) -> None:
    """`edgefer predict`: the model, then the camera loop or every image (`sample`: the built-in group photo)."""
    import tempfile

    import typer

    model, images = split_model_and_images(paths, options.model)
    options.mode  # noqa: B018 - --detect with --crop: an error before anything is loaded
    if options.camera is None and not images:
        raise PredictorError("no images given; usage: edgefer predict [MODEL.tflite] IMAGE... (or sample, or --camera 0)")
    predictor = EmotionPredictor(model, num_threads=options.threads, detector=options.detector, tta=options.tta)
    if options.camera is not None and options.csv is not None:
        raise PredictorError("--csv writes the faces of images; a camera's go to stdout (or use edgefer analyze)")
    if options.camera is not None:
        camera_loop(predictor, options.camera, options, emit, max_frames=options.max_frames)
        return
    with tempfile.TemporaryDirectory() as scratch:
        sample = _sample_photo(Path(scratch)) if SAMPLE in map(str, images) and not Path(SAMPLE).exists() else None
        files = [sample if sample is not None and str(p) == SAMPLE else Path(p) for p in images]
        if sample is not None:
            warn("sample: a 4000x3000 photo of five faces made from edgefer's own portraits (London Set, CC BY 4.0)")
        if options.csv is not None:
            failed = predict_to_csv(model, expand_images(files), options, emit, names={sample: SAMPLE})
        else:
            failed = predict_images(predictor, expand_images(files), options, emit, warn, names={sample: SAMPLE})
        if failed:
            raise typer.Exit(2)


def _sample_photo(folder: Path) -> Path:
    return write_group_photo(folder / "sample.jpg")


CHUNK = 64  # photos per job of a --csv batch: a predictor is opened once per job


def predict_job(job: dict, progress) -> list[dict]:
    """One chunk of a --csv batch, in whatever process runs it (edgefer.core.workers): a row per face, or per image
    that failed, back to the driver."""
    predictor = EmotionPredictor(job["model"], num_threads=job["threads"], detector=job["detector"], tta=job["tta"])
    rows = []
    for done, (file, name) in enumerate(zip(job["files"], job["names"]), start=1):
        try:
            results = predictor.predict_image(file, job["mode"], job["min_score"])
        except PredictorError as error:
            rows.append({"image": name, "error": str(error)})
            continue
        if not results:
            rows.append({"image": name, "face": 0, "error": ""})
        for number, result in enumerate(results, start=1):
            x, y, w, h = result.box if result.box is not None else ("", "", "", "")
            rows.append({"image": name, "face": number, "x": x, "y": y, "w": w, "h": h,
                         "face_score": "" if result.face_score is None else round(result.face_score, 4),
                         "whole_image": int(result.whole_image), "label": result.label,
                         "probability": round(result.probability, 5),
                         **{f"p_{c}": round(v, 5) for c, v in result.probabilities.items()}, "error": ""})
        progress(done)
    return rows


def predict_to_csv(model: Path, images: list[Path], options: PredictOptions, emit, names: dict | None = None) -> int:
    """Every image's faces into options.csv (written whole at the end), the images split into jobs run by
    edgefer.core.workers; one summary line on `emit`; returns the count of images that failed."""
    shown = [str((names or {}).get(p, p)) for p in images]
    threads = options.threads or (1 if options.engine == "ray" else threads_per_worker(options.workers))
    jobs = [{"files": [str(p) for p in images[i:i + CHUNK]], "names": shown[i:i + CHUNK], "model": str(model),
             "mode": options.mode, "min_score": options.min_score, "threads": threads, "detector": options.detector,
             "tta": options.tta} for i in range(0, len(images), CHUNK)]
    chunks: dict[int, list[dict]] = {}

    def finished(index: int, result) -> None:
        chunks[index] = ([{"image": name, "error": result.error} for name in jobs[index]["names"]]
                         if isinstance(result, JobFailure) else result)

    started = time.perf_counter()
    run_jobs(predict_job, jobs, finished, engine=options.engine, workers=options.workers, address=options.address)
    rows = [row for i in range(len(jobs)) for row in chunks[i]]
    write_text(options.csv, csv_text(rows))
    failed = len({r["image"] for r in rows if r.get("error")})
    faces = sum(1 for r in rows if r.get("face"))
    emit(f"{len(images)} image(s), {faces} face(s), {failed} failed, in {time.perf_counter() - started:.1f} s with "
         f"{options.workers} worker(s) on {options.engine}: wrote {options.csv}")
    return failed
