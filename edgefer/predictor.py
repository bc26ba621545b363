"""Facial-expression predictor for devices: numpy + a TFLite runtime, nothing else.

This one file is the whole on-device side of edgefer. It works as `edgefer.predictor` and when copied
alone next to a model (the export bundle does that, as `edgefer_predictor.py`). It imports numpy and a
TFLite interpreter (`ai_edge_litert`, then `tflite_runtime`, then `tensorflow.lite`), and Pillow only
when given a file path or a PIL image; never TensorFlow when a lighter runtime is present.

    from edgefer_predictor import EmotionPredictor
    predictor = EmotionPredictor("model_int8.tflite", num_threads=2)
    predictor.predict("face.jpg")            # Prediction(label='Happy', probability=0.91, ...)
    predictor.predict_frame(camera_frame)    # one Prediction per face found, each with its box

Faces are found with BlazeFace short-range (MediaPipe, Apache-2.0; the .tflite ships beside this
file with its licence) on the same TFLite runtime, or OpenCV's Haar cascade when OpenCV 4.x is there.
Run `python edgefer_predictor.py MODEL IMAGE... [--detect] [--json]` for a command line.
"""

from __future__ import annotations

import json
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

FER2013_CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
BLAZEFACE_FILE = "face_detection_short_range.tflite"
DEFAULT_MODEL_FILE = "default_model.tflite"
# Models shipped inside the package, by name (`edgefer predict --model NAME`, `EmotionPredictor("fast")`);
# each file has a card NAME_model.json beside it (benchmarks/ship_model.py writes both; `edgefer models` lists them).
PACKAGED_MODELS = {"default": DEFAULT_MODEL_FILE, "fast": "fast_model.tflite"}
# Image files edgefer reads (Pillow decodes them all): photos for predict, faces in the Kaggle folder layout.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
# Test-time augmentation: "flip" averages the probabilities of the face and its mirror image
# (one interpreter call on a batch of two): about +1 pp on FER2013 for twice the work.
TTA_MODES = ("none", "flip")
_HERE = Path(__file__).resolve().parent
# Value range the model's float input expects, given raw pixels 0..255.
NORMALIZERS = {
    "0_255": lambda x: x,
    "0_1": lambda x: x / 255.0,
    "-1_1": lambda x: x / 127.5 - 1.0,
}


class PredictorError(ValueError):
    """A model or an image the predictor cannot use; the message names it and says what was expected."""


# ---------------------------------------------------------------------------------------------------
# TFLite runtime


def _ai_edge_litert():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter, "ai-edge-litert"


def _tflite_runtime():
    from tflite_runtime.interpreter import Interpreter

    return Interpreter, "tflite-runtime"


def _tensorflow():
    import tensorflow as tf

    return tf.lite.Interpreter, "tensorflow"


INTERPRETERS = {"ai-edge-litert": _ai_edge_litert, "tflite-runtime": _tflite_runtime, "tensorflow": _tensorflow}


def find_interpreter(prefer: str | None = None):
    """(Interpreter class, runtime name); `prefer` names one of INTERPRETERS to use only that one."""
    errors = []
    for name in [prefer] if prefer else list(INTERPRETERS):
        try:
            return INTERPRETERS[name]()
        except ImportError as error:
            errors.append(f"{name}: {error}")
    raise ImportError("no TFLite runtime found; install one: pip install ai-edge-litert "
                      "(or tflite-runtime on 32-bit ARM). " + "; ".join(errors))


# What the runtimes print to stderr on every load and that tells a user nothing.
_NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


@contextmanager
def _without_runtime_noise():
    """Run a block with file descriptor 2 captured; pass on what it printed except the known noise lines
    (the C++ runtimes write them directly to fd 2, past Python's sys.stderr and any log level)."""
    import os
    import sys
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreters): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if not line.startswith(_NOISE)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def load_interpreter(path, num_threads: int | None = None, prefer: str | None = None):
    """(interpreter with tensors allocated, runtime name)."""
    cls, name = find_interpreter(prefer)
    with _without_runtime_noise():
        interpreter = cls(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    return interpreter, name


def _open_tflite(path: Path, num_threads: int | None, runtime: str | None):
    if not path.is_file():
        raise PredictorError(f"{path}: no such model file; expected a .tflite file from `edgefer export`")
    try:
        return load_interpreter(path, num_threads, runtime)
    except (ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise PredictorError(f"{path}: not a valid TFLite model ({first})") from None


def read_model_meta(path) -> dict | None:
    """The facts edgefer embeds in a .tflite (a zip with model.json appended), else None."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("model.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None


def _labels_beside(path: Path) -> list[str] | None:
    labels_json, labels_txt = path.parent / "labels.json", path.parent / "labels.txt"
    if labels_json.is_file():
        data = json.loads(labels_json.read_text())
        return list(data["classes"] if isinstance(data, dict) else data)
    if labels_txt.is_file():
        return [line.strip() for line in labels_txt.read_text().splitlines() if line.strip()]
    return None


# ---------------------------------------------------------------------------------------------------
# Images -> numpy


# Large photos are reduced while decoding (JPEG: DCT scaling in `draft`) or right after (others:
# `reduce`, a box filter) to at most this side: a face crop ends at 48 px and the detector at 128.
MAX_DECODE_SIDE = 2048


def _exif_turn(orientation: int):
    """The transposition that makes an image with this EXIF orientation upright (as ImageOps.exif_transpose)."""
    from PIL import Image

    t = Image.Transpose
    return {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE, 6: t.ROTATE_270,
            7: t.TRANSVERSE, 8: t.ROTATE_90}.get(orientation)


def open_image(path):
    """A decoded, upright PIL image of at most MAX_DECODE_SIDE per side, or a PredictorError naming the file.

    Pillow's decompression-bomb guard stays on: an image over its pixel limit is refused, not decoded."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise PredictorError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            if max(image.size) > MAX_DECODE_SIDE and image.format == "JPEG":
                scale = max(image.size) / MAX_DECODE_SIDE
                image.draft(image.mode, (int(image.width / scale), int(image.height / scale)))
            orientation = image.getexif().get(0x0112, 1)  # EXIF orientation; 1 = upright
            image.load()
            factor = -(-max(image.size) // MAX_DECODE_SIDE)
            reduced = image.reduce(factor) if factor > 1 else image
            # No copy of a full-size photo: reduce first, then turn the small image as EXIF says.
            turn = _exif_turn(orientation)
            if turn is not None:
                return reduced.transpose(turn)
            return reduced if reduced is not image else image.copy()  # the file's image closes with `with`
    except Image.DecompressionBombError as error:
        raise PredictorError(f"{path}: refused, too many pixels for a safe decode ({error})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        reason = str(error).replace(f" '{path}'", "").replace(str(path), "this file")  # name the file once
        raise PredictorError(f"{path}: not an image Pillow can read ({reason})") from None


def _load_path(path) -> np.ndarray:
    return pil_to_array(open_image(path))


def _high_depth_to_uint8(image) -> np.ndarray:
    """16-bit (I;16*), 32-bit integer (I) or float (F) grayscale -> uint8 by scaling, never by clipping
    (Pillow's convert('L') clips: a 16-bit face would come out white)."""
    values = np.asarray(image).astype(np.float64)
    if image.mode == "F":
        top = 1.0 if values.size and values.max() <= 1.0 else 255.0
    else:  # 16-bit PNGs open as I;16 or I: full scale 65535, unless the values fit 8 bits already
        top = 65535.0 if image.mode.startswith("I;16") or (values.size and values.max() > 255) else 255.0
    return np.clip(np.round(values * (255.0 / top)), 0, 255).astype(np.uint8)


def pil_to_array(image) -> np.ndarray:
    if image.width == 0 or image.height == 0:
        raise PredictorError(f"empty image ({image.width}x{image.height} pixels)")
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return _high_depth_to_uint8(image)
    gray = image.mode in ("1", "L", "LA")
    return np.asarray(image.convert("L" if gray else "RGB"))


def to_array(image) -> np.ndarray:
    """Any accepted image form -> numpy (H, W) or (H, W, 3), uint8 or float 0..255."""
    if isinstance(image, (str, Path)):
        return _load_path(image)
    if type(image).__module__.startswith("PIL."):
        return pil_to_array(image)
    if not isinstance(image, np.ndarray):
        raise PredictorError(f"expected an image path, a PIL image or a numpy array; got {type(image).__name__}")
    return _check_array(image)


def _check_array(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        array = array[..., 0] if array.shape[-1] == 1 else array[..., :3]  # alpha is dropped
    elif array.ndim != 2:
        raise PredictorError(f"image array of shape {array.shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)")
    if array.size == 0:
        raise PredictorError(f"empty image (array of shape {array.shape})")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        if array.min() < 0 or array.max() > 255:
            raise PredictorError(f"{array.dtype} image with values {array.min()}..{array.max()}; expected 0..255")
        return array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.floating):
        raise PredictorError(f"image array of dtype {array.dtype}; expected uint8 or float")
    if not np.isfinite(array).all():
        raise PredictorError("float image contains NaN or infinity")
    # Floats: 0..1 (as most libraries produce) or 0..255.
    return (array * 255.0 if array.max() <= 1.0 else array).clip(0, 255).astype(np.float32)


def to_gray(array: np.ndarray) -> np.ndarray:
    """(H, W[, 3]) -> (H, W) with ITU-R 601 luma, as Pillow's convert('L')."""
    if array.ndim == 2:
        return array
    return array.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


@lru_cache(maxsize=64)
def _resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) triangle-filter weights, widened when shrinking (antialiased bilinear, as Pillow)."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centers = (np.arange(n_out) + 0.5) * scale
    taps = np.maximum(0.0, 1.0 - np.abs((np.arange(n_in) + 0.5)[None, :] - centers[:, None]) / support)
    return (taps / taps.sum(axis=1, keepdims=True)).astype(np.float32)


def resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (H, W) or (H, W, C) to (height, width[, C]) float32 with numpy only."""
    if array.shape[:2] == (height, width):
        return array.astype(np.float32)
    rows, cols = _resize_weights(array.shape[0], height), _resize_weights(array.shape[1], width)
    out = np.tensordot(rows, array.astype(np.float32), axes=(1, 0))  # (height, W[, C])
    return np.moveaxis(np.tensordot(cols, out, axes=(1, 1)), 0, 1)  # (height, width[, C])


def crop_face(gray: np.ndarray, box, margin: float) -> np.ndarray:
    """Square crop around `box` (x, y, w, h) grown by `margin` on each side, edges replicated."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    x0, y0 = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2))
    x1, y1 = x0 + max(int(round(side)), 1), y0 + max(int(round(side)), 1)
    pad = max(0, -x0, -y0, x1 - gray.shape[1], y1 - gray.shape[0])
    if pad:
        gray = np.pad(gray, pad, mode="edge")
        x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
    return gray[y0:y1, x0:x1]


# ---------------------------------------------------------------------------------------------------
# Emotion model


@dataclass
class Prediction:
    label: str
    probability: float
    probabilities: dict[str, float]
    box: tuple[int, int, int, int] | None = None  # x, y, width, height in the frame, for detected faces
    face_score: float | None = None

    def to_dict(self) -> dict:
        out = {"label": self.label, "probability": round(self.probability, 6),
               "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()}}
        if self.box is not None:
            out["box"] = list(self.box)
            out["face_score"] = None if self.face_score is None else round(self.face_score, 4)
        return out


class TFLiteModel:
    """One TFLite model's input and output: quantize a batch, resize the batch axis, invoke, dequantize.

    The one place that knows a model's tensors; EmotionPredictor runs its faces through it and
    edgefer's bench and export checks wrap it (edgefer.export.runners.TFLiteRunner)."""

    def __init__(self, interpreter):
        self.interpreter = interpreter
        self._read()

    def _read(self) -> None:
        self.input, self.output = self.interpreter.get_input_details()[0], self.interpreter.get_output_details()[0]
        self.batch = int(self.input["shape"][0])

    @property
    def input_dtype(self):
        return self.input["dtype"]

    @property
    def output_dtype(self):
        return self.output["dtype"]

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Values in the model's input units -> its input dtype (uint8 with scale 1, zero 0: raw pixels as they are)."""
        dtype = self.input["dtype"]
        if dtype == np.float32:
            return values.astype(np.float32)
        scale, zero = self.input["quantization"]
        if values.dtype == dtype and (scale, zero) == (1.0, 0):
            return values
        info = np.iinfo(dtype)
        return np.clip(np.round(values / scale + zero), info.min, info.max).astype(dtype)

    def dequantize(self, values: np.ndarray) -> np.ndarray:
        if self.output["dtype"] == np.float32:
            return values.copy()
        scale, zero = self.output["quantization"]
        return (values.astype(np.float32) - zero) * scale

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Quantized inputs (N, H, W, C) -> outputs (N, classes) float32, resizing the batch axis when N changes."""
        if len(batch) != self.batch:
            self.interpreter.resize_tensor_input(self.input["index"], [len(batch), *self.input["shape"][1:]])
            self.interpreter.allocate_tensors()
            self._read()
            self.batch = len(batch)
        self.interpreter.set_tensor(self.input["index"], batch)
        self.interpreter.invoke()
        return self.dequantize(self.interpreter.get_tensor(self.output["index"]))


class EmotionPredictor:
    """A TFLite emotion model with its labels and input facts; call `predict`, `predict_batch`, `predict_frame`."""

    def __init__(self, model_path=None, num_threads: int | None = None, labels=None, normalize: str | None = None,
                 detector: str = "blazeface", margin: float = 0.1, runtime: str | None = None, tta: str = "none"):
        self.model_path = resolve_model_path(model_path)
        self.interpreter, self.runtime = _open_tflite(self.model_path, num_threads, runtime)
        self.num_threads = num_threads
        self._read_tensors()
        meta = read_model_meta(self.model_path) or {}
        self.meta = meta
        self.classes = self._classes(labels, meta)
        self._normalize = NORMALIZERS[self._normalize_name(normalize, meta)]
        self._detector_name, self._detector, self.margin = detector, None, margin
        if tta not in TTA_MODES:
            raise PredictorError(f"tta={tta!r}; expected one of {', '.join(TTA_MODES)}")
        self.tta = tta

    # -- set-up --------------------------------------------------------------------------------------
    def _read_tensors(self) -> None:
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        shape = tuple(int(v) for v in inputs[0]["shape"]) if len(inputs) == 1 else ()
        out_shape = tuple(int(v) for v in outputs[0]["shape"]) if len(outputs) == 1 else ()
        if len(shape) != 4 or shape[-1] not in (1, 3) or len(out_shape) != 2:
            raise PredictorError(
                f"{self.model_path}: not an image classifier; expected one input (1, H, W, 1|3) and one output "
                f"(1, classes), got inputs {[tuple(int(v) for v in d['shape']) for d in inputs]}, "
                f"outputs {[tuple(int(v) for v in d['shape']) for d in outputs]}")
        self.model = TFLiteModel(self.interpreter)
        self.input_size = (int(shape[1]), int(shape[2]))
        self.channels = int(shape[3])
        # uint8 input with scale 1 and zero point 0 takes raw pixels as they are (edgefer's int8 export).
        self._raw_uint8 = self.model.input_dtype == np.uint8 and tuple(self.model.input["quantization"]) == (1.0, 0)

    def _classes(self, labels, meta) -> list[str]:
        count = int(self.model.output["shape"][-1])
        classes = list(labels or meta.get("classes") or _labels_beside(self.model_path) or [])
        if not classes and count == len(FER2013_CLASSES):
            classes = list(FER2013_CLASSES)  # no labels anywhere: the FER2013 order most models use
        if len(classes) != count:
            raise PredictorError(
                f"{self.model_path}: the model has {count} outputs but {len(classes) or 'no'} class names were "
                f"found; pass labels=[...] or put labels.json beside the model")
        return classes

    def _normalize_name(self, normalize, meta) -> str:
        if normalize is None:
            low, high = meta.get("input", {}).get("range", [0, 255])
            normalize = {(0, 255): "0_255", (0, 1): "0_1", (-1, 1): "-1_1"}.get((low, high), "0_255")
        if normalize not in NORMALIZERS:
            raise PredictorError(f"normalize={normalize!r}; expected one of {', '.join(NORMALIZERS)}")
        return normalize

    # -- running -------------------------------------------------------------------------------------
    def prepare(self, image) -> np.ndarray:
        """One image (any accepted form) -> the model's input tensor for it, without the batch axis."""
        array = to_array(image)
        height, width = self.input_size
        if self._raw_uint8 and array.dtype == np.uint8 and array.shape == (height, width) and self.channels == 1:
            return array[..., None]  # the common case: a 48x48 uint8 face goes in as it is
        pixels = resize(to_gray(array), height, width)
        if self.channels == 3:
            pixels = np.repeat(pixels[..., None], 3, axis=-1)
        else:
            pixels = pixels[..., None]
        return self.model.quantize(self._normalize(pixels))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Prepared inputs (N, H, W, C) -> class probabilities (N, classes) float32."""
        return self.model.run(batch)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """`run` with this predictor's test-time augmentation."""
        return with_tta(self.run, batch, self.tta)

    def _result(self, probabilities: np.ndarray) -> Prediction:
        values = probabilities.tolist()
        best = max(range(len(values)), key=values.__getitem__)
        return Prediction(self.classes[best], values[best], dict(zip(self.classes, values)))

    def predict(self, face) -> Prediction:
        """The expression of one face image (already cropped to the face)."""
        return self._result(self.infer(self.prepare(face)[None])[0])

    def predict_batch(self, faces, batch_size: int = 32) -> list[Prediction]:
        """`predict` for many faces, `batch_size` per interpreter call."""
        prepared = [self.prepare(face) for face in faces]
        results = []
        for start in range(0, len(prepared), batch_size):
            probabilities = self.infer(np.stack(prepared[start : start + batch_size]))
            results.extend(self._result(p) for p in probabilities)
        return results

    # -- full frames ---------------------------------------------------------------------------------
    @property
    def detector(self):
        if self._detector is None:
            self._detector = make_detector(self._detector_name, self.num_threads)
        return self._detector

    def predict_frame(self, frame, min_score: float = 0.5) -> list[Prediction]:
        """Find the faces in a full image and predict each; one Prediction per face with its `box`."""
        array = to_array(frame)
        faces = self.detector.detect(array, min_score)
        if not faces:
            return []
        gray = to_gray(array)
        crops = [crop_face(gray, face.box, self.margin) for face in faces]
        results = self.predict_batch(crops)
        for result, face in zip(results, faces):
            result.box, result.face_score = face.box, face.score
        return results


def with_tta(run, batch: np.ndarray, tta: str = "none") -> np.ndarray:
    """run(batch) -> probabilities; with tta="flip" the mean over each face and its mirror (NHWC, one call)."""
    if tta == "none":
        return run(batch)
    n = len(batch)
    both = run(np.concatenate([batch, batch[:, :, ::-1]]))
    return (both[:n] + both[n:]) / 2


def packaged_model_path(name: str = "default") -> Path:
    """A model shipped inside the edgefer package by name (PACKAGED_MODELS), or its file beside this one."""
    if name not in PACKAGED_MODELS:
        raise PredictorError(f"no packaged model named {name!r}; expected one of {', '.join(PACKAGED_MODELS)} "
                             f"or the path of a .tflite file")
    file = PACKAGED_MODELS[name]
    for candidate in (_HERE / "assets" / file, _HERE / file):
        if candidate.is_file():
            return candidate
    raise PredictorError(f"packaged model {name!r}: no {file} in {_HERE / 'assets'} or beside {_HERE}; "
                         f"pass the .tflite path")


def resolve_model_path(model=None) -> Path:
    """None -> the packaged default; a packaged model's name ("fast") -> its file; anything else is a path."""
    if model is None:
        return default_model_path()
    if isinstance(model, str) and model in PACKAGED_MODELS and not Path(model).exists():
        return packaged_model_path(model)
    return Path(model)


def default_model_path() -> Path:
    """The model used when none is given: the packaged "default"."""
    return packaged_model_path("default")


# ---------------------------------------------------------------------------------------------------
# Face detection


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x, y, width, height in pixels of the frame
    score: float
    keypoints: list[tuple[float, float]] = field(default_factory=list)


def _blazeface_anchors() -> np.ndarray:
    """(896, 2) anchor centres of BlazeFace short-range (MediaPipe SSD options: strides 8,16,16,16,
    two anchors per cell and layer, fixed size)."""
    centers = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = 128 // stride
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centers.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centers).astype(np.float32)


def find_blazeface() -> Path:
    for candidate in (_HERE / BLAZEFACE_FILE, _HERE / "assets" / BLAZEFACE_FILE):
        if candidate.is_file():
            return candidate
    raise PredictorError(f"{BLAZEFACE_FILE} not found beside {_HERE}; copy it from the export bundle "
                         f"or use detector='haar' with OpenCV 4.x")


class BlazeFaceDetector:
    """MediaPipe's BlazeFace short-range (faces within about 2 m) on the TFLite runtime."""

    size = 128

    def __init__(self, num_threads: int | None = None, model_path=None):
        self.interpreter, _ = _open_tflite(Path(model_path or find_blazeface()), num_threads, None)
        self._in = self.interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}
        self._boxes, self._scores = outputs["regressors"], outputs["classificators"]
        self.anchors = _blazeface_anchors()

    def detect(self, image: np.ndarray, min_score: float = 0.5, iou: float = 0.3) -> list[Face]:
        rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=-1)
        tensor, scale, pad_x, pad_y = self._letterbox(rgb)
        self.interpreter.set_tensor(self._in, tensor[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self._boxes)[0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(self.interpreter.get_tensor(self._scores)[0, :, 0].astype(np.float64), -100, 100)))
        keep = scores >= min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self.anchors[keep]
        centers = raw[:, :2] / self.size + anchors
        sizes = raw[:, 2:4] / self.size
        boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)  # x0, y0, x1, y1 in 0..1
        points = raw[:, 4:].reshape(len(raw), 6, 2) / self.size + anchors[:, None, :]
        faces = []
        for box, score, keypoints in _weighted_nms(boxes, scores, points, iou):
            x0, y0, x1, y1 = (box * self.size - [pad_x, pad_y, pad_x, pad_y]) / scale
            pixel_points = [((px * self.size - pad_x) / scale, (py * self.size - pad_y) / scale) for px, py in keypoints]
            faces.append(Face(_clip_box(x0, y0, x1, y1, image.shape), float(score), pixel_points))
        return faces

    def _letterbox(self, rgb: np.ndarray):
        """Fit the frame into 128x128 keeping its aspect ratio, zero borders, values in [-1, 1]."""
        height, width = rgb.shape[:2]
        scale = self.size / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        pad_y, pad_x = (self.size - new_h) // 2, (self.size - new_w) // 2
        tensor = np.full((self.size, self.size, 3), -1.0, np.float32)
        tensor[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resize(rgb, new_h, new_w) / 127.5 - 1.0
        return tensor, scale, pad_x, pad_y


def _clip_box(x0, y0, x1, y1, shape) -> tuple[int, int, int, int]:
    x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
    x1, y1 = min(shape[1], int(round(x1))), min(shape[0], int(round(y1)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    x1, y1 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(others) - inter + 1e-9)


def _weighted_nms(boxes, scores, points, threshold):
    """MediaPipe's weighted non-maximum suppression: overlapping boxes are averaged by score."""
    order = np.argsort(-scores)
    boxes, scores, points = boxes[order], scores[order], points[order]
    while len(boxes):
        overlap = _iou(boxes[0], boxes) > threshold
        weights = scores[overlap][:, None]
        yield ((boxes[overlap] * weights).sum(0) / weights.sum(), scores[0],
               ((points[overlap] * weights[:, :, None]).sum(0) / weights.sum()).tolist())
        boxes, scores, points = boxes[~overlap], scores[~overlap], points[~overlap]


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (needs opencv-python[-headless] 4.x)."""

    def __init__(self, num_threads: int | None = None):
        try:
            import cv2
        except ImportError:
            raise PredictorError("detector='haar' needs OpenCV: pip install 'opencv-python-headless<5'") from None
        if not hasattr(cv2, "CascadeClassifier"):
            raise PredictorError(f"OpenCV {cv2.__version__} has no CascadeClassifier (removed in 5.0); "
                                 f"install 'opencv-python-headless<5' or use detector='blazeface'")
        self.cv2 = cv2
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def detect(self, image: np.ndarray, min_score: float = 0.5) -> list[Face]:
        gray = np.ascontiguousarray(to_gray(image).clip(0, 255).astype(np.uint8))
        found = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        return [Face(tuple(int(v) for v in box), 1.0) for box in found]


DETECTORS = {"blazeface": BlazeFaceDetector, "haar": HaarDetector}


def make_detector(name: str, num_threads: int | None = None):
    if name not in DETECTORS:
        raise PredictorError(f"detector {name!r}; expected one of {', '.join(DETECTORS)}")
    return DETECTORS[name](num_threads)


# ---------------------------------------------------------------------------------------------------
# Command line for the device: python edgefer_predictor.py MODEL IMAGE... [--detect] [--json]


def _format(path, result: Prediction) -> str:
    where = f" face at x={result.box[0]} y={result.box[1]} w={result.box[2]} h={result.box[3]}" if result.box else ""
    return f"{path}:{where} {result.label} {result.probability:.1%}"


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Facial expression of faces in images (TFLite).")
    parser.add_argument("model", help=".tflite model from `edgefer export`")
    parser.add_argument("images", nargs="+", help="image files (cropped faces, or full photos with --detect)")
    parser.add_argument("--detect", action="store_true", help="find faces first (BlazeFace), one line per face")
    parser.add_argument("--detector", default="blazeface", choices=sorted(DETECTORS))
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tta", default="none", choices=TTA_MODES,
                        help="flip: average with the mirrored face (more accurate, twice the work)")
    args = parser.parse_args(argv)
    try:
        predictor = EmotionPredictor(args.model, num_threads=args.threads, detector=args.detector, tta=args.tta)
    except PredictorError as error:
        print(f"error: {error}")
        return 2
    status = 0
    for path in args.images:
        try:
            results = predictor.predict_frame(path) if args.detect else [predictor.predict(path)]
        except PredictorError as error:
            print(f"error: {error}")
            status = 2
            continue
        if args.json:
            print(json.dumps({"image": str(path), "faces": [r.to_dict() for r in results]}))
        elif not results:
            print(f"{path}: no face found")
        for result in [] if args.json else results:
            print(_format(path, result))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
