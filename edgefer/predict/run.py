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
from edgefer.predict.annotate import save_annotated
from edgefer.predictor import (
    AUTO,
    IMAGE_SUFFIXES,
    PACKAGED_MODELS,
    EmotionPredictor,
    Prediction,
    PredictorError,
    StageTimes,
    resolve_model_path,
    to_array,
)

OTHER_MODELS = {".onnx", ".keras", ".h5"}


@dataclass
class PredictOptions:
    """Every option of `edgefer predict` (flag, default and help in each field's metadata)."""

    detect: bool = field(default=False, metadata=option(
        "--detect", "Find faces in full photos first (BlazeFace); a line per face."))
    as_json: bool = field(default=False, metadata=option("--json", "Print JSON instead of lines."))
    threads: int | None = field(default=None, metadata=option("--threads", "TFLite interpreter threads.", min=1))
    camera: str | None = field(default=None, metadata=option(
        "--camera", "Live loop on camera N (or a video file) with OpenCV; prints FPS."))
    max_frames: int | None = field(default=None, metadata=option(
        "--max-frames", "With --camera: stop after this many frames.", min=1))
    annotated_dir: Path | None = field(default=None, metadata=option(
        "--save-annotated", "Write each image with boxes and labels drawn into this folder."))
    detector: str = field(default="blazeface", metadata=option(
        "--detector", "blazeface (shipped, TFLite) or haar (needs OpenCV 4.x)."))
    min_score: float = field(default=0.5, metadata=option(
        "--min-score", "Face detector confidence threshold.", min=0.0, max=1.0))
    tta: str = field(default="none", metadata=option(
        "--tta", "Test-time augmentation: none, or flip (average with the mirrored face: more accurate, twice the "
        "work)."))
    model: str | None = field(default=None, metadata=option(
        "--model", "A packaged model: default (the most accurate on FER2013 labels), fast (the fastest), auto (the one "
        "`edgefer models` recommends for this CPU, timed here) or ferplus (8 classes, FER+ labels). Or a .tflite path."))
    stage_times: bool = field(default=False, metadata=option(
        "--stage-times", "With --camera: show where each frame's time goes (read, detector resize / invoke / NMS, "
        "crops, classifier), mean ms per stage in every report."))


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
    """Folders stand for the images directly inside them (sorted)."""
    images = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise PredictorError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
            images.extend(found)
        else:
            images.append(path)
    return images


def describe(image: str, result: Prediction, index: int | None = None) -> str:
    runners_up = sorted(result.probabilities.items(), key=lambda kv: -kv[1])[1:3]
    others = ", ".join(f"{name} {p:.0%}" for name, p in runners_up)
    where = ""
    if result.box is not None:
        x, y, w, h = result.box
        where = f" face {index} at x={x} y={y} w={w} h={h}"
    return f"{image}:{where} {result.label} {result.probability:.1%}  ({others})"


def predict_images(predictor: EmotionPredictor, images: list[Path], options: PredictOptions, emit) -> int:
    """Predict each image, emit lines (or one JSON array at the end); returns the count of images that failed."""
    records, failures = [], 0
    for path in images:
        try:
            array = to_array(path)
            results = (predictor.predict_frame(array, options.min_score) if options.detect
                       else [predictor.predict(array)])
        except PredictorError as error:
            failures += 1
            records.append({"image": str(path), "error": str(error)})
            if not options.as_json:  # name the file once
                message = str(error)
                emit(f"error: {message}" if message.startswith(str(path)) else f"error: {path}: {message}")
            continue
        records.append({"image": str(path), "faces": [r.to_dict() for r in results]})
        if not options.as_json:
            for line in [describe(str(path), r, i + 1) for i, r in enumerate(results)] or [f"{path}: no face found"]:
                emit(line)
        if options.annotated_dir is not None:

            save_annotated(array, results, options.annotated_dir / f"{path.stem}_annotated.png")
    if options.as_json:
        emit(json.dumps(records, indent=1))
    return failures


def open_camera(source: str):
    try:
        import cv2
    except ImportError:
        raise PredictorError("--camera needs OpenCV: pip install 'opencv-python-headless<5'") from None
    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        raise PredictorError(f"camera {source}: cannot be opened (no such device or video file)")
    return cv2, capture


def stage_line(summary: dict[str, float]) -> str:
    """'decode 1.2, detector_preprocess 0.8, ... ms (total 7.9)' from StageTimes.summary()."""
    stages = ", ".join(f"{k} {v:.1f}" for k, v in summary.items() if k != "total")
    return f"{stages} ms (total {summary['total']:.1f})"


def camera_loop(predictor: EmotionPredictor, source: str, options: PredictOptions, emit,
                max_frames: int | None = None, report_every_s: float = 1.0) -> dict:
    """Read frames from a camera index or a video file, predict every face, print FPS about once a second
    (with options.stage_times, also the mean ms per stage since the last report; the record is then cleared,
    so a loop of any length keeps its memory flat)."""
    cv2, capture = open_camera(source)
    times = StageTimes() if options.stage_times else None
    frames, started, last_report, last_frames = 0, time.perf_counter(), time.perf_counter(), 0
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
            if now - last_report >= report_every_s:
                fps = (frames - last_frames) / (now - last_report)
                emit(_report_line(frames, fps, results, times, options.as_json))
                if times is not None:
                    times.clear()
                last_report, last_frames = now, frames
    except KeyboardInterrupt:
        pass
    finally:
        capture.release()
    elapsed = time.perf_counter() - started
    summary = {"frames": frames, "seconds": round(elapsed, 2), "fps": round(frames / elapsed, 1) if elapsed else 0.0}
    if times is not None and times.frames:
        summary["stages_ms"] = {k: round(v, 3) for k, v in times.summary().items()}
    emit(json.dumps(summary) if options.as_json else
         f"{frames} frames in {summary['seconds']} s: {summary['fps']} FPS on average")
    return summary


def _report_line(frames: int, fps: float, results, times, as_json: bool) -> str:
    summary = times.summary() if times is not None else {}
    if as_json:
        record = {"frame": frames, "fps": round(fps, 1), "faces": [r.to_dict() for r in results]}
        if summary:
            record["stages_ms"] = {k: round(v, 3) for k, v in summary.items()}
        return json.dumps(record)
    faces = ", ".join(f"{r.label} {r.probability:.0%}" for r in results) or "no face"
    line = f"frame {frames}: {fps:.1f} FPS  {faces}"
    return f"{line}  [{stage_line(summary)}]" if summary else line
