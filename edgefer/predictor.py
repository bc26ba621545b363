"""Facial-expression predictor for devices: numpy + a TFLite runtime, nothing else.

This one file is the whole on-device side of edgefer. It works as `edgefer.predictor` and when copied
alone next to a model (the export bundle does that, as `edgefer_predictor.py`). It imports numpy and a
TFLite interpreter (`ai_edge_litert`, then `tflite_runtime`, then `tensorflow.lite`), and Pillow only
when given a file path or a PIL image; never TensorFlow when a lighter runtime is present.

    from edgefer_predictor import EmotionPredictor
    predictor = EmotionPredictor("model_int8.tflite", num_threads=2)
    predictor.predict("face.jpg")            # Prediction(label='Happy', probability=0.91, ...)
    predictor.predict_frame("photo.jpg")     # one Prediction per face found, each with its box
    predictor.predict_frame(frame, channels="bgr")  # an OpenCV frame (cv2.VideoCapture().read()) as it comes

Numpy images are RGB unless `channels="bgr"` says otherwise (OpenCV's order); nothing is guessed. One predictor can
be shared by threads (a web server's workers): each concurrent call runs on an interpreter of its own.

Faces are found with BlazeFace short-range (MediaPipe, Apache-2.0; the .tflite ships beside this
file with its licence) on the same TFLite runtime, or OpenCV's Haar cascade when OpenCV 4.x is there.
Run `python edgefer_predictor.py MODEL IMAGE... [--detect] [--json]` for a command line.
"""

from __future__ import annotations

import json
import threading
import time
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
# each file has a card NAME_model.json beside it (python -m edgefer.bench.ship writes both; `edgefer models` lists them).
# "ferplus": 8 classes (FER2013's 7 + Contempt) learnt from the FER+ annotators' labels.
PACKAGED_MODELS = {"default": DEFAULT_MODEL_FILE, "fast": "fast_model.tflite", "ferplus": "ferplus_model.tflite"}
# Image files edgefer reads (Pillow decodes them all): photos for predict, faces in the Kaggle folder layout.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
# Test-time augmentation: "flip" averages the probabilities of the face and its mirror image
# (one interpreter call on a batch of two): about +1 pp on FER2013 for twice the work.
TTA_MODES = ("none", "flip")
# Channel order of (H, W, 3|4) numpy images: "rgb" (Pillow, matplotlib, imageio) or "bgr" (OpenCV).
CHANNEL_ORDERS = ("rgb", "bgr")
_HERE = Path(__file__).resolve().parent
# Value range the model's float input expects, given raw pixels 0..255.
NORMALIZERS = {
    "0_255": lambda x: x,
    "0_1": lambda x: x / 255.0,
    "-1_1": lambda x: x / 127.5 - 1.0,
}


class EdgeferError(ValueError):
    """The base of every error edgefer raises for bad input: one line naming the file, row, field or option and what
    was expected. Defined here, in the one-file device predictor that imports nothing of edgefer, so that the predictor
    copied alone keeps it; `edgefer.errors` re-exports it and derives the package's other errors from it."""


class PredictorError(EdgeferError):
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
    """The facts in a .tflite's associated files (a zip appended to the flatbuffer): edgefer's model.json, else the
    class names of a standard metadata label file (labels.txt, one per line) as {"classes": [...]}; else None."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "model.json" in names:
                return json.loads(archive.read("model.json"))
            label_files = sorted(n for n in names if n.endswith(".txt") and "label" in n.lower())
            if label_files:
                lines = archive.read(label_files[0]).decode("utf-8", errors="replace").splitlines()
                return {"classes": [line.strip() for line in lines if line.strip()]}
            return None
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


def _exif_turn(orientation: int):
    """The transposition that makes an image with this EXIF orientation upright (as ImageOps.exif_transpose)."""
    from PIL import Image

    t = Image.Transpose
    return {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE, 6: t.ROTATE_270,
            7: t.TRANSVERSE, 8: t.ROTATE_90}.get(orientation)


def open_image(path):
    """The decoded, upright PIL image (EXIF orientation applied), or a PredictorError naming the file.

    Decoded at its full size, never reduced while decoding (JPEG's DCT scaling): every form of the same photo (a
    path, a PIL image, a numpy array) then gives the detector and the crops the same pixels, so the same boxes, in
    the photo's own pixels. A large frame's detector view reads only the pixels it needs (FramePixels.window).
    Pillow's decompression-bomb guard stays on: an image over its pixel limit is refused, not decoded."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise PredictorError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            orientation = image.getexif().get(0x0112, 1)  # EXIF orientation; 1 = upright
            image.load()  # loaded: its pixels outlive the file, which `with` closes
            turn = _exif_turn(orientation)
            return image.transpose(turn) if turn is not None else image
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
    target = "L" if image.mode in ("1", "L", "LA") else "RGB"
    return np.asarray(image if image.mode == target else image.convert(target))


def check_channels(channels: str) -> str:
    if channels not in CHANNEL_ORDERS:
        raise PredictorError(f"channels={channels!r}; expected one of {', '.join(CHANNEL_ORDERS)} (the order of a "
                             f"colour numpy image: OpenCV gives bgr)")
    return channels


def to_array(image, channels: str = "rgb") -> np.ndarray:
    """Any accepted image form -> numpy (H, W) or (H, W, 3) RGB, uint8 or float 0..255. `channels` is the order of a
    colour numpy image ("bgr": OpenCV's); files and PIL images are decoded as RGB whatever it says."""
    if isinstance(image, (str, Path)):
        return _load_path(image)
    if type(image).__module__.startswith("PIL."):
        return pil_to_array(image)
    if not isinstance(image, np.ndarray):
        raise PredictorError(f"expected an image path, a PIL image or a numpy array; got {type(image).__name__}")
    array = _check_array(image)
    if check_channels(channels) == "bgr" and array.ndim == 3:
        return array[..., ::-1]
    return array


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
    """(H, W[, 3]) -> (H, W) with ITU-R 601 luma. uint8 in, uint8 out, computed exactly as Pillow's convert('L')
    does it (16-bit fixed point, rounded); floats in, float32 out."""
    if array.ndim == 2:
        return array
    if array.dtype == np.uint8:
        r, g, b = (array[..., i].astype(np.uint32) for i in range(3))
        return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)
    return array.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


# ---------------------------------------------------------------------------------------------------
# Resizing: antialiased bilinear (a triangle filter widened when shrinking), the filter of Pillow's BILINEAR.
# A frame is resized for the detector and every face crop for the classifier, so this is the predictor's
# hot path. Pillow's C code does it when Pillow is importable; without Pillow, numpy does the same
# computation: whole k x k blocks averaged first (k = the integer part of the shrink factor, Pillow's
# `reduce`), then the triangle filter for the factor left (below 2) as a band of a few taps per pixel. For
# uint8 images the numpy code repeats Pillow's 8-bit integer arithmetic (its rounding after the blocks, the
# 22-bit fixed-point filter weights, the horizontal pass before the vertical one), so both give the same
# pixels, bit for bit, and therefore the same faces and labels. RESIZE_BACKEND = "numpy" forces the
# fallback (tests and benchmarks compare both).

RESIZE_BACKENDS = ("pillow", "numpy")
RESIZE_BACKEND: str | None = None  # None: pillow when importable, else numpy
_FIXED_POINT_BITS = 22  # Pillow's PRECISION_BITS for 8-bit resampling


@lru_cache(maxsize=1)
def _pillow_module():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _pillow():
    """PIL.Image when Pillow resizes (importable, and not switched off by RESIZE_BACKEND), else None."""
    return None if RESIZE_BACKEND == "numpy" else _pillow_module()


def resize_backend() -> str:
    """The resizing code in use: "pillow" or "numpy"."""
    return "pillow" if _pillow() is not None else "numpy"


@lru_cache(maxsize=128)
def _resize_taps(n_in: int, n_out: int, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The triangle filter from n_in to n_out pixels (`scale` input pixels per output pixel, which differs from
    n_in / n_out after block averaging) as its band: (n_out, T) input indices, float64 weights and the weights
    in Pillow's fixed point. Computed as Pillow's `precompute_coeffs`, in the same order of operations."""
    support = max(scale, 1.0)
    centers = (np.arange(n_out) + 0.5) * scale
    first = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    last = np.minimum((centers + support + 0.5).astype(np.int64), n_in)
    taps = int((last - first).max())
    index = first[:, None] + np.arange(taps)[None, :]
    valid = index < last[:, None]
    weights = np.where(valid, np.maximum(0.0, 1.0 - np.abs((index - centers[:, None] + 0.5) * (1.0 / support))), 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    fixed = np.floor(0.5 + weights * (1 << _FIXED_POINT_BITS)).astype(np.int64)
    return np.minimum(index, n_in - 1), weights, fixed


def _along(x: np.ndarray, axis: int, part: slice) -> np.ndarray:
    return x[(slice(None),) * axis + (part,)]


def _block_sums(x: np.ndarray, k: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of k consecutive pixels along `axis` (a last partial block of the remainder too), and the count in each."""
    n = x.shape[axis]
    whole = n // k * k
    total = _along(x, axis, slice(0, whole, k)).astype(np.int64 if x.dtype.kind in "iu" else np.float64)
    for i in range(1, k):
        total += _along(x, axis, slice(i, whole, k))
    counts = [k] * (whole // k)
    if whole < n:
        total = np.concatenate([total, _along(x, axis, slice(whole, n)).sum(axis=axis, keepdims=True,
                                                                            dtype=total.dtype)], axis=axis)
        counts.append(n - whole)
    return total, np.array(counts)


def _block_mean(array: np.ndarray, k_rows: int, k_cols: int) -> np.ndarray:
    """Mean of each k_rows x k_cols block (partial blocks at the bottom and right: of what they hold), as Pillow's
    `reduce`; for uint8 with its integer rounding, ((sum + n/2) * (2^24 // n)) >> 24."""
    sums, count_rows = _block_sums(array, k_rows, 0) if k_rows > 1 else (array, np.ones(array.shape[0], int))
    sums, count_cols = _block_sums(sums, k_cols, 1) if k_cols > 1 else (sums, np.ones(array.shape[1], int))
    counts = (count_rows[:, None] * count_cols[None, :]).reshape(count_rows.size, count_cols.size,
                                                                 *([1] * (array.ndim - 2)))
    if array.dtype == np.uint8:
        return ((sums.astype(np.int64) + counts // 2) * ((1 << 24) // counts)) >> 24
    return (sums / counts).astype(np.float32)


def _filter_rows(x: np.ndarray, n_out: int, scale: float) -> np.ndarray:
    """Axis 0 of (N, ...) to n_out with the triangle filter; integer input (0..255) in Pillow's fixed point."""
    if x.shape[0] == n_out and scale == 1.0:  # nothing left to filter (the blocks did it all), as Pillow skips
        return x
    flat = x.reshape(x.shape[0], -1)
    index, weights, fixed = _resize_taps(flat.shape[0], n_out, scale)
    if x.dtype.kind in "iu":
        total = np.full((n_out, flat.shape[1]), 1 << (_FIXED_POINT_BITS - 1), np.int64)
        for t in range(index.shape[1]):
            total += flat[index[:, t]] * fixed[:, t : t + 1]
        out = np.clip(total >> _FIXED_POINT_BITS, 0, 255)
    else:
        out = flat[index[:, 0]] * weights[:, :1].astype(np.float32)
        for t in range(1, index.shape[1]):
            out += flat[index[:, t]] * weights[:, t : t + 1].astype(np.float32)
    return out.reshape(n_out, *x.shape[1:])


def _numpy_resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Block means for the integer part of the shrink factor, then the triangle filter for the rest (< 2),
    horizontal pass first, keeping the true geometry (`scale` counts the block-averaged pixels' extent)."""
    k_rows, k_cols = max(1, array.shape[0] // height), max(1, array.shape[1] // width)
    x = _block_mean(array, k_rows, k_cols) if k_rows * k_cols > 1 else array
    if array.dtype == np.uint8:
        x = x.astype(np.int64)
    elif x.dtype != np.float32:
        x = x.astype(np.float32)
    x = np.swapaxes(_filter_rows(np.swapaxes(x, 0, 1), width, array.shape[1] / k_cols / width), 0, 1)
    x = _filter_rows(x, height, array.shape[0] / k_rows / height)
    return np.ascontiguousarray(x, dtype=np.float32)


# Pillow reduces by whole blocks first (its `reduce`) while the factor left is at least this, then filters:
# with 1.0 the factor left is below 2, as in the numpy code above, and a 640x480 frame becomes the detector's
# 128x96 in 0.3 ms instead of 1.8 ms for the exact antialiased filter (2-3 gray levels away on average).
PILLOW_REDUCING_GAP = 1.0


def _nearest_taps(n_in: int, n_out: int) -> np.ndarray:
    """The input index of each output pixel in Pillow's NEAREST resize (its ImagingScaleAffine: the centre of the
    first pixel, then one step of n_in / n_out after another, in double precision, truncated)."""
    step = n_in / n_out
    centres = np.add.accumulate(np.concatenate([[step * 0.5], np.full(n_out - 1, step)]))
    return np.minimum(centres.astype(np.intp), n_in - 1)


def _pillow_resize(image_module, array: np.ndarray, height: int, width: int) -> np.ndarray:
    if array.dtype == np.uint8 and (array.ndim == 2 or array.shape[-1] == 3):
        return _pillow_resized(image_module.fromarray(np.ascontiguousarray(array)), height, width)
    if array.ndim == 2:  # float: Pillow's 32-bit float mode
        return _pillow_resized(image_module.fromarray(np.ascontiguousarray(array, dtype=np.float32)), height, width)
    return np.stack([_pillow_resize(image_module, array[..., c], height, width) for c in range(array.shape[-1])],
                    axis=-1)


def _pillow_resized(image, height: int, width: int, box=None) -> np.ndarray:
    """A PIL image (or its `box` region x0, y0, x1, y1) resized, as float32 numpy."""
    resized = image.resize((width, height), _pillow_module().Resampling.BILINEAR, box=box,
                           reducing_gap=PILLOW_REDUCING_GAP)
    return np.asarray(resized, dtype=np.float32)


def resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (H, W) or (H, W, C) to (height, width[, C]) float32 (antialiased bilinear: Pillow, else numpy)."""
    if array.shape[:2] == (height, width):
        return array.astype(np.float32)
    image_module = _pillow()
    if image_module is not None:
        return _pillow_resize(image_module, array, height, width)
    return _numpy_resize(array, height, width)


# The crop around a detected face that frames it as FER2013 did (what the models were trained on): BlazeFace's box is
# 0.87 of FER2013's square with its centre 6.6% of the side lower (research/crop_policy.py on 300 test faces), so the
# square is the box grown by FACE_MARGIN per side with its centre lifted by FACE_LIFT of the box's side. End to end on
# 840 proxy photos: 45.75% against 42.91% for the earlier 10% margin (docs/history/RESULTS.md).
FACE_MARGIN = 0.076
FACE_LIFT = 0.066


def face_square(box, margin: float, lift: float = 0.0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the square around `box` (x, y, w, h) grown by `margin` on each side, its centre moved up by
    `lift` of the box's side; may leave the frame."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    x0, y0 = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - lift * max(w, h) - side / 2))
    return x0, y0, x0 + max(int(round(side)), 1), y0 + max(int(round(side)), 1)


def crop_face(image: np.ndarray, box, margin: float, lift: float = 0.0) -> np.ndarray:
    """Square crop of (H, W[, C]) around `box` (x, y, w, h) grown by `margin` on each side and lifted by `lift`
    (`face_square`), edges replicated (only the crop is padded, never the frame)."""
    x0, y0, x1, y1 = face_square(box, margin, lift)
    height, width = image.shape[:2]
    inside = image[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]
    pads = ((max(0, -y0), max(0, y1 - height)), (max(0, -x0), max(0, x1 - width)))
    if any(any(p) for p in pads) and inside.size:
        inside = np.pad(inside, pads + ((0, 0),) * (image.ndim - 2), mode="edge")
    return inside


def _is_pil(image) -> bool:
    return type(image).__module__.startswith("PIL.")


class FramePixels:
    """One frame, held as its resizes are cheapest. A decoded file stays a PIL image (no numpy copy of the whole
    frame is made). A uint8 numpy frame, RGB or BGR (3 or 4 channels), stays the caller's array: a large frame's
    detector view is read from it by nearest pixel and each face crop is cut from it and handed to Pillow alone, so
    the whole frame is never converted; only steps that need all of it (the block average of a small frame) make it
    a PIL image, in one pass of Pillow's C unpacker, which also swaps BGR. Without Pillow, a numpy array. It gives the
    detector its views and the classifier its face crops, each resized straight from the frame; colour becomes gray
    on the crops only. Every path gives the same pixels as the decoded PIL image of the same frame."""

    # Pillow raw modes that read a (H, W, C) uint8 buffer into an RGB image, by channel order and count, and the
    # channels of such a buffer that make RGB.
    _RAW_MODES = {("rgb", 3): "RGB", ("bgr", 3): "BGR", ("rgb", 4): "RGBX", ("bgr", 4): "BGRX"}
    _RGB_CHANNELS = {"RGB": (0, 1, 2), "BGR": (2, 1, 0), "RGBX": (0, 1, 2), "BGRX": (2, 1, 0)}

    def __init__(self, frame, channels: str = "rgb"):
        image_module = _pillow()
        if image_module is not None and isinstance(frame, (str, Path)):
            frame = open_image(frame)
        self._pil, self._array, self._raw, self._raw_mode = None, None, None, None
        if image_module is not None and _is_pil(frame) and frame.mode in ("RGB", "L") and frame.width and frame.height:
            self._pil = frame
            self.shape = (frame.height, frame.width) + ((3,) if frame.mode == "RGB" else ())
            return
        raw = self._RAW_MODES.get((check_channels(channels), frame.shape[-1])) if self._is_uint8_colour(frame) else None
        if image_module is not None and raw is not None:
            self._raw, self._raw_mode = np.ascontiguousarray(frame), raw
            self.shape = (frame.shape[0], frame.shape[1], 3)
            return
        self._array = to_array(frame, channels)
        self.shape = self._array.shape
        if image_module is not None and self._array.dtype == np.uint8:
            self._pil = image_module.fromarray(np.ascontiguousarray(self._array))

    @staticmethod
    def _is_uint8_colour(frame) -> bool:
        return (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
                and frame.shape[-1] in (3, 4) and frame.shape[0] > 0 and frame.shape[1] > 0)

    @property
    def pillow(self) -> bool:
        """Whether Pillow resizes this frame (else numpy)."""
        return self._pil is not None or self._raw is not None

    @property
    def pil(self):
        """The frame as a PIL image (made from a numpy frame on first use), or None without Pillow."""
        if self._pil is None and self._raw is not None:
            height, width = self.shape[:2]
            self._pil = _pillow_module().frombuffer("RGB", (width, height), self._raw, "raw", self._raw_mode, 0, 1)
        return self._pil

    def _raw_rgb(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Pixels rows x cols (index arrays) of a numpy frame as RGB uint8 (len(rows), len(cols), 3): two `take`s on
        the frame seen as rows of bytes, the channel order folded into the second (a reversed channel axis would
        make the float conversion after it several times slower)."""
        height, width, channels = self._raw.shape
        columns = (cols[:, None] * channels + np.asarray(self._RGB_CHANNELS[self._raw_mode])).ravel()
        part = self._raw.reshape(height, width * channels).take(rows, axis=0).take(columns, axis=1)
        return part.reshape(len(rows), len(cols), 3)

    @property
    def array(self) -> np.ndarray:
        """The frame as numpy (H, W[, 3]) RGB, made on first use when it was a PIL image or a BGR frame."""
        if self._array is None:
            self._array = (self._raw[..., list(self._RGB_CHANNELS[self._raw_mode])] if self._raw is not None
                           else np.asarray(self.pil))
        return self._array

    def reduced(self, k: int) -> FramePixels:
        """The frame with each k x k block averaged (Pillow's `reduce`, or the same arithmetic in numpy)."""
        if k == 1:
            return self
        if self.pillow:
            return FramePixels(self.pil.reduce(k))
        means = _block_mean(self.array, k, k)
        return FramePixels(means.astype(np.uint8) if self.array.dtype == np.uint8 else means)

    # Both methods cut the region out first and resize it alone (Pillow's `resize(box=...)` would also blend in
    # pixels just outside it), so the Pillow and numpy paths see the same pixels.
    def window(self, box, height: int, width: int, nearest: bool = False) -> np.ndarray:
        """The region box = (x, y, w, h) resized to (height, width[, 3]), float32; with `nearest`, each output
        pixel is the input pixel under its centre (Pillow's NEAREST; the same indices in numpy, which also read a
        numpy frame without converting it)."""
        x, y, w, h = box
        if nearest:
            if self._pil is None or self._raw is not None:  # numpy indices: a numpy frame, or no Pillow
                rows, cols = _nearest_taps(h, height) + y, _nearest_taps(w, width) + x
                if self._raw is not None:
                    return self._raw_rgb(rows, cols).astype(np.float32)
                return self.array[rows[:, None], cols[None, :]].astype(np.float32)
            whole = (x, y, w, h) == (0, 0, self._pil.width, self._pil.height)  # no crop: no copy
            part = (self._pil if whole else self._pil.crop((x, y, x + w, y + h))).resize(
                (width, height), _pillow_module().Resampling.NEAREST)
            return np.asarray(part, dtype=np.float32)
        if self.pillow:
            return _pillow_resized(self.pil.crop((x, y, x + w, y + h)), height, width)
        return resize(self.array[y : y + h, x : x + w], height, width)

    def _region(self, x0: int, y0: int, x1: int, y1: int):
        """A PIL image of the frame's pixels in x0 <= x < x1, y0 <= y < y1 (inside the frame): cut from a numpy
        frame before Pillow sees it, so only those pixels are converted."""
        if self._raw is not None and self._pil is None:
            part = np.ascontiguousarray(self._raw[y0:y1, x0:x1])
            return _pillow_module().frombuffer("RGB", (x1 - x0, y1 - y0), part, "raw", self._raw_mode, 0, 1)
        return self.pil.crop((x0, y0, x1, y1))

    def face(self, box, margin: float, height: int, width: int, lift: float = 0.0) -> np.ndarray:
        """The square around a face box (`face_square`) made gray, then resized to (height, width): float32
        0..255, as `EmotionPredictor.prepare` does with a face image."""
        x0, y0, x1, y1 = face_square(box, margin, lift)
        if not self.pillow:
            return resize(to_gray(crop_face(self.array, box, margin, lift)), height, width)
        # The part of the square inside the frame, made gray by Pillow; a square that leaves the frame gets its
        # edges replicated on the small gray crop (as crop_face does), never on the frame.
        ix0, iy0 = min(max(x0, 0), self.shape[1] - 1), min(max(y0, 0), self.shape[0] - 1)
        ix1, iy1 = max(min(x1, self.shape[1]), ix0 + 1), max(min(y1, self.shape[0]), iy0 + 1)
        gray = self._region(ix0, iy0, ix1, iy1)
        gray = gray if gray.mode == "L" else gray.convert("L")
        if (ix0, iy0, ix1, iy1) == (x0, y0, x1, y1):
            return _pillow_resized(gray, height, width)
        pads = ((iy0 - y0, max(0, y1 - iy1)), (ix0 - x0, max(0, x1 - ix1)))
        return resize(np.pad(np.asarray(gray), pads, mode="edge"), height, width)


# ---------------------------------------------------------------------------------------------------
# Where a frame's time goes

FRAME_STAGES = ("decode", "detector_preprocess", "detector_invoke", "detector_nms", "crop_resize",
                "classifier_invoke")


class StageTimes:
    """Milliseconds per stage (FRAME_STAGES) of every `predict_frame(..., times=this)` call, one dict per frame.

    For benchmarks and `edgefer predict --camera --stage-times`; a long loop calls `clear()` now and then."""

    def __init__(self):
        self.frames: list[dict[str, float]] = []
        self._row: dict[str, float] = {}
        self._last = 0.0

    def start(self) -> None:
        """A new frame begins now."""
        self._row = dict.fromkeys(FRAME_STAGES, 0.0)
        self.frames.append(self._row)
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        """The time since the last lap (or start) went to `stage`."""
        now = time.perf_counter()
        self._row[stage] += (now - self._last) * 1e3
        self._last = now

    def add(self, stage: str, ms: float) -> None:
        """Time measured outside predict_frame (a camera's read and colour conversion) for the last frame."""
        self._row[stage] += ms

    def clear(self) -> None:
        self.frames.clear()

    def summary(self) -> dict[str, float]:
        """Mean ms per frame of each stage, and of the whole frame ("total")."""
        if not self.frames:
            return {}
        means = {stage: float(np.mean([f[stage] for f in self.frames])) for stage in FRAME_STAGES}
        return {**means, "total": float(sum(means.values()))}


class _NoTimes:
    """What predict_frame times with when nobody asked: nothing."""

    def start(self) -> None:
        pass

    def lap(self, stage: str) -> None:
        pass


NO_TIMES = _NoTimes()


# ---------------------------------------------------------------------------------------------------
# Emotion model


@dataclass
class Prediction:
    label: str
    probability: float
    probabilities: dict[str, float]
    box: tuple[int, int, int, int] | None = None  # x, y, width, height in the frame, for detected faces
    face_score: float | None = None
    whole_image: bool = False  # the whole image was read as one face (no face detection: a crop)

    def to_dict(self) -> dict:
        out = {"label": self.label, "probability": round(self.probability, 6),
               "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()}}
        if self.whole_image:
            out["whole_image"] = True
        if self.box is not None:
            out["box"] = list(self.box)
            out["face_score"] = None if self.face_score is None else round(self.face_score, 4)
        return out


class TFLiteModel:
    """One TFLite model's input and output: quantize a batch, resize the batch axis, invoke, dequantize.

    The one place that knows a model's tensors; EmotionPredictor runs its faces through it and
    edgefer's bench and export checks wrap it (edgefer.core.backends.TFLiteRunner)."""

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


class _Pool:
    """Instances for concurrent callers: a call takes a free one (made on demand when none is free) and gives it back.

    A TFLite interpreter must not be used by two threads at once (its tensors are shared state; the runtimes raise
    "There is at least 1 reference to internal data..." or return mixed-up outputs). With a pool, one predictor
    shared by a web server's threads runs each concurrent call on its own interpreter: as many interpreters as
    calls ever ran at the same time, no lock held while a model runs."""

    def __init__(self, make, first=None):
        self._make, self._lock = make, threading.Lock()
        self._free = [] if first is None else [first]

    @contextmanager
    def use(self):
        with self._lock:
            item = self._free.pop() if self._free else None
        if item is None:
            item = self._make()
        try:
            yield item
        finally:
            with self._lock:
                self._free.append(item)


class EmotionPredictor:
    """A TFLite emotion model with its labels and input facts; call `predict`, `predict_batch`, `predict_frame`.

    Safe to share between threads: concurrent calls each run on an interpreter of their own (see _Pool)."""

    def __init__(self, model_path=None, num_threads: int | None = None, labels=None, normalize: str | None = None,
                 detector: str = "blazeface", margin: float | None = None, runtime: str | None = None,
                 tta: str = "none", lift: float | None = None):
        self.model_path = resolve_model_path(model_path)
        self.interpreter, self.runtime = _open_tflite(self.model_path, num_threads, runtime)
        self.num_threads = num_threads
        self._read_tensors()
        self._models = _Pool(lambda: TFLiteModel(_open_tflite(self.model_path, num_threads, runtime)[0]), self.model)
        meta = read_model_meta(self.model_path) or {}
        self.meta = meta
        self.classes = self._classes(labels, meta)
        self._normalize = NORMALIZERS[self._normalize_name(normalize, meta)]
        crop = meta.get("input", {}).get("crop", {}) if isinstance(meta.get("input"), dict) else {}
        # The face crop: given here, else the one the model's facts name, else FER2013's framing (FACE_MARGIN/LIFT).
        self.margin = float(margin if margin is not None else crop.get("margin", FACE_MARGIN))
        self.lift = float(lift if lift is not None else crop.get("lift", FACE_LIFT))
        self._detector_name, self._detector = detector, None
        self._detectors = _Pool(lambda: make_detector(self._detector_name, self.num_threads))
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
    def prepare(self, image, channels: str = "rgb") -> np.ndarray:
        """One image (any accepted form; `channels`: the order of a colour numpy image) -> the model's input tensor
        for it, without the batch axis."""
        array = to_array(image, channels)
        height, width = self.input_size
        if self._raw_uint8 and array.dtype == np.uint8 and array.shape == (height, width) and self.channels == 1:
            return array[..., None]  # the common case: a 48x48 uint8 face goes in as it is
        return self._input_from_gray(resize(to_gray(array), height, width))

    def _input_from_gray(self, gray: np.ndarray) -> np.ndarray:
        """(H, W) gray pixels 0..255 at the model's input size -> its input tensor (channels, scaling, dtype)."""
        pixels = np.repeat(gray[..., None], 3, axis=-1) if self.channels == 3 else gray[..., None]
        return self.model.quantize(self._normalize(pixels))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Prepared inputs (N, H, W, C) -> class probabilities (N, classes) float32."""
        with self._models.use() as model:
            return model.run(batch)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """`run` with this predictor's test-time augmentation."""
        return with_tta(self.run, batch, self.tta)

    def _result(self, probabilities: np.ndarray) -> Prediction:
        values = probabilities.tolist()
        best = max(range(len(values)), key=values.__getitem__)
        return Prediction(self.classes[best], values[best], dict(zip(self.classes, values)))

    def predict(self, face, channels: str = "rgb") -> Prediction:
        """The expression of one face image (already cropped to the face); `channels="bgr"` for an OpenCV image."""
        return self._result(self.infer(self.prepare(face, channels)[None])[0])

    def predict_batch(self, faces, batch_size: int = 32, channels: str = "rgb") -> list[Prediction]:
        """`predict` for many faces, `batch_size` per interpreter call."""
        prepared = [self.prepare(face, channels) for face in faces]
        results = []
        for start in range(0, len(prepared), batch_size):
            probabilities = self.infer(np.stack(prepared[start : start + batch_size]))
            results.extend(self._result(p) for p in probabilities)
        return results

    # -- full frames ---------------------------------------------------------------------------------
    @property
    def detector(self):
        """A face detector of this predictor's kind (for one thread at a time; predict_frame takes its own)."""
        if self._detector is None:
            self._detector = make_detector(self._detector_name, self.num_threads)
        return self._detector

    def detect(self, frame, min_score: float = 0.5, channels: str = "rgb", clock=NO_TIMES) -> list[Face]:
        """The faces in a frame (any accepted form, or FramePixels), left to right, boxes and keypoints in the pixels
        of the image as it was given."""
        pixels = frame if isinstance(frame, FramePixels) else FramePixels(frame, channels)
        return self._faces(pixels, min_score, clock)

    def _faces(self, pixels: FramePixels, min_score: float, clock) -> list[Face]:
        """The faces on `pixels` (in their own coordinates), left to right, then top to bottom."""
        with self._detectors.use() as detector:
            faces = detector.detect(pixels, min_score, clock=clock)
        return sorted(faces, key=lambda face: (face.box[0], face.box[1]))

    def predict_frame(self, frame, min_score: float = 0.5, times: StageTimes | None = None,
                      channels: str = "rgb") -> list[Prediction]:
        """Find the faces in a full image and predict each; one Prediction per face with its `box`, left to right.

        `frame`: a path, a PIL image, or a numpy array (H, W[, 3|4]) in RGB, or in BGR with `channels="bgr"`
        (what OpenCV's `VideoCapture.read()` and `imread` give: pass it as it is, no cvtColor needed; only the
        face crops are converted). Boxes are in the pixels of the image as given, whatever its size or form. All
        faces of the frame go through the classifier as one batch. `times` (a StageTimes) records where the
        frame's time went."""
        clock = times if times is not None else NO_TIMES
        clock.start()
        pixels = frame if isinstance(frame, FramePixels) else FramePixels(frame, channels)
        clock.lap("decode")
        faces = self._faces(pixels, min_score, clock)
        if not faces:
            return []
        height, width = self.input_size
        batch = np.stack([self._input_from_gray(pixels.face(face.box, self.margin, height, width, self.lift))
                          for face in faces])
        clock.lap("crop_resize")
        probabilities = self.infer(batch)
        clock.lap("classifier_invoke")
        results = [self._result(p) for p in probabilities]
        for result, face in zip(results, faces):
            result.box, result.face_score = face.box, face.score
        return results


    def predict_image(self, image, mode: str = "auto", min_score: float = 0.5, channels: str = "rgb") -> list[Prediction]:
        """What a user means by "the expression in this image", by `mode` (READ_MODES):

        - "auto": the faces found (predict_frame); a crop-sized image (at most CROP_SIZED px a side) in which no face is
          found, or whose face fills it (CROP_FILL of its area: a face crop like FER2013's 48x48), is read whole as
          one face, as it was cropped (re-cropping a face crop around its detected box loses 4 pp on FER2013 faces);
        - "detect": the faces found, nothing else (no face: an empty list);
        - "crop": the whole image as one face (an image already cropped to a face), no detection.

        A whole-image answer has `whole_image` set, so callers can say how it was read."""
        if mode not in READ_MODES:
            raise PredictorError(f"mode={mode!r}; expected one of {', '.join(READ_MODES)}")
        pixels = None if mode == "crop" else (image if isinstance(image, FramePixels) else FramePixels(image, channels))
        if pixels is not None:
            found = self.predict_frame(pixels, min_score)
            height, width = pixels.shape[:2]
            if mode == "detect" or max(height, width) > CROP_SIZED or len(found) > 1:
                return found
            if found and found[0].box[2] * found[0].box[3] < CROP_FILL * height * width:
                return found  # a small photo with a face in it, not a face crop
            image = pixels.pil if pixels.pil is not None else pixels.array
        result = self.predict(image, channels if pixels is None else "rgb")  # FramePixels give RGB
        result.whole_image = True
        return [result]


# How `predict_image` reads an image; the largest image "auto" may read whole as a face crop, and the share of it a
# face must fill for that (FER2013's crops: the face box covers 25-100% of the crop, median 69%, on the sample's faces).
READ_MODES = ("auto", "detect", "crop")
CROP_SIZED = 128
CROP_FILL = 0.4


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
    """None -> the packaged default; a packaged model's name ("fast") -> its file; "auto" -> the packaged model
    `auto_model` picks for this CPU; anything else is a path."""
    if model is None:
        return default_model_path()
    if model == AUTO and not Path(model).exists():
        return packaged_model_path(auto_model().name)
    if isinstance(model, str) and model in PACKAGED_MODELS and not Path(model).exists():
        return packaged_model_path(model)
    return Path(model)


# ---------------------------------------------------------------------------------------------------
# "auto": which packaged model for this CPU, by measuring both here
#
# The default is the most accurate (6 pp more on the London Set's photos, under 1 pp on PublicTest); fast is a
# plain CNN that int8 kernels run in less time per face.
# Whether that buys time depends on the CPU: with int8 dot products (AVX-512 VNNI, AVX-VNNI, AMX) the default runs
# nearly as fast as fast, without them (AVX2 only) about twice as slow. So "auto" times both here, batch 1 on the
# given threads, and takes fast where it is at least AUTO_SPEEDUP times faster, else the default.

AUTO = "auto"
AUTO_CANDIDATES = ("default", "fast")  # the FER2013-label models (ferplus answers other labels: never picked)
AUTO_SPEEDUP = 1.9  # MobileNetV2 fast: 1.76-1.78x with int8 dot products (AMD EPYC VNNI, Intel AMX), 2.0x on AVX2 only;
# the plain-CNN fast (plaincnn-deep 0.5): 1.8-2.8x on an Intel Xeon with AVX-512 VNNI, two bench runs
# (benchmarks/figures/fast-plaincnn-deep-intel-avx512)


@dataclass
class AutoChoice:
    name: str
    latency_ms: dict[str, float]  # p50 per face here, batch 1
    accuracy: dict[str, float | None]  # from the cards: on real photos (the London Set) where measured, else PublicTest
    reason: str


def p50_ms_per_face(path: Path, num_threads: int | None, runs: int) -> float:
    """Median ms of a batch-1 call of the model at `path` on a blank face, here (after a short warm-up)."""
    interpreter, _ = load_interpreter(path, num_threads)
    model = TFLiteModel(interpreter)
    face = np.zeros([1, *[int(v) for v in model.input["shape"][1:]]], model.input["dtype"])
    for _ in range(max(3, runs // 10)):
        model.run(face)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.run(face)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def _card_accuracy(path: Path) -> float | None:
    """The card's accuracy on real photos (what the default is chosen for), else on FER2013's PublicTest crops."""
    try:
        card = json.loads(path.with_suffix(".json").read_text())
        return float((card.get("real_photos") or card["bench"])["accuracy"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


@lru_cache(maxsize=4)
def auto_model(num_threads: int | None = 1, runs: int = 200) -> AutoChoice:
    """The packaged model for this CPU (see above), with the latencies measured and the reason in words."""
    paths = {name: packaged_model_path(name) for name in AUTO_CANDIDATES}
    latency = {name: p50_ms_per_face(path, num_threads, runs) for name, path in paths.items()}
    accuracy = {name: _card_accuracy(path) for name, path in paths.items()}
    speedup = latency["default"] / latency["fast"]
    less = ((accuracy["default"] or 0) - (accuracy["fast"] or 0)) * 100
    if speedup >= AUTO_SPEEDUP:
        reason = (f"fast: {speedup:.2f}x faster than default here ({latency['fast']:.2f} vs {latency['default']:.2f} "
                  f"ms/face), {less:.1f} pp less accurate on real photos")
        return AutoChoice("fast", latency, accuracy, reason)
    reason = (f"default: {less:.1f} pp more accurate on real photos; fast {speedup:.2f}x faster here "
              f"({latency['fast']:.2f} vs {latency['default']:.2f} ms, fast from {AUTO_SPEEDUP}x)")
    return AutoChoice("default", latency, accuracy, reason)


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


def _blazeface_anchors(height: int = 128, width: int = 128) -> np.ndarray:
    """(N, 2) anchor centres, in pixels of a height x width view, of BlazeFace short-range (MediaPipe SSD options:
    strides 8,16,16,16, two anchors per cell and layer, fixed size), in the order of the model's outputs."""
    centers = []
    for stride, per_cell in ((8, 2), (16, 6)):
        ys, xs = np.meshgrid((np.arange(height // stride) + 0.5) * stride, (np.arange(width // stride) + 0.5) * stride,
                             indexing="ij")
        centers.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centers).astype(np.float32)


def find_blazeface() -> Path:
    for candidate in (_HERE / BLAZEFACE_FILE, _HERE / "assets" / BLAZEFACE_FILE):
        if candidate.is_file():
            return candidate
    raise PredictorError(f"{BLAZEFACE_FILE} not found beside {_HERE}; copy it from the export bundle "
                         f"or use detector='haar' with OpenCV 4.x")


@dataclass(frozen=True)
class View:
    """A part of the frame as the detector sees it: the window (x, y, w, h, frame pixels) resized by `scale` and
    placed at (pad_x, pad_y) in a view_h x view_w input, the rest black."""

    window: tuple[int, int, int, int]
    scale: float
    view_h: int
    view_w: int
    pad_x: int
    pad_y: int
    # Read the view from the frame by nearest pixel, with no block average first (large frames: as many faces on the
    # photo and frame sets for 0.3-0.55 ms less, and a numpy frame is never converted whole: research/detector_views.py)
    nearest: bool = False


def _scaled(height: int, width: int, scale: float) -> tuple[int, int]:
    """A height x width window's size once resized by `scale` (at least 1 x 1)."""
    return max(1, round(height * scale)), max(1, round(width * scale))


class BlazeFaceDetector:
    """MediaPipe's BlazeFace short-range (faces within about 2 m) on the TFLite runtime.

    BlazeFace was trained on 128x128 inputs, but it is fully convolutional up to its output reshapes, which take any
    size (new shape [1, -1, C]): given a view of H x W (multiples of 16), it answers for (H/8)(W/8)2 + (H/16)(W/16)6
    anchors, and its work grows with H x W.

    - A frame under 512 px (thumbnails, portraits) is seen whole, letterboxed into 128x128 (96x96 for a thumbnail
      of at most 96 px): this finds what the code before commit 311ad86 found in small photos, and more (a face
      filling a small wide photo is never cut).
    - A larger frame (VGA, 720p, 1080p) is seen whole in one view whose short side is 144 px, as wide as the
      frame needs (VGA: 192x144, 720p: 256x144), read from the frame by nearest pixel; a photo larger than that
      (short side from 1,160 px) in a view of an eighth of its short side, at most 384 px (12 MP: 512x384).
      Faces from about 18 px in the view are found (90 px in a 720p frame, 150 px in a 12 MP photo), with no
      padding wasted and one call instead of the three
      or four that a whole view plus overlapping 128 px squares of the short side cost: on the photo and frame
      sets, as many faces or more at VGA and 720p in about half the time (research/detector_views.py)."""

    size = 128  # the input BlazeFace was trained at; frames under `large_from` are letterboxed into it
    # Thumbnails whose long side is at most this are letterboxed into a view of this size instead: less upsampled,
    # their faces are found more often (photo set, under 100 px: 82 of 86 faces against 76 at 128, real thumbnails
    # 27 of 28 against 23) for two thirds of the time (research/detector_views.py)
    thumbnail = 96
    large_from = 512  # frames whose long side is at least this are seen in one view of short side `large_short`
    large_short = 144
    # ... or, for photos larger than video frames, of short side (frame's short side) / `face_share`, at most
    # `large_short_max`: a phone photo's faces from an eighth of its short side stay 18 px or more in the view
    # (a 4000x3000 group photo: five faces of 150-320 px found in a 512x384 view, two in 192x144).
    face_share = 8
    large_short_max = 384
    max_shapes = 8  # view shapes kept ready (one interpreter each: a video or camera has one)

    def __init__(self, num_threads: int | None = None, model_path=None):
        self.model_path, self.num_threads = Path(model_path or find_blazeface()), num_threads
        self._shapes: dict[tuple[int, int], tuple] = {}
        self._runner(self.size, self.size)

    def _runner(self, height: int, width: int) -> tuple:
        """(interpreter, input index, boxes index, scores index, anchors) for views of height x width; the least
        recently used of more than `max_shapes` is dropped."""
        key = (height, width)
        runner = self._shapes.pop(key, None)
        if runner is None:
            interpreter, _ = _open_tflite(self.model_path, self.num_threads, None)
            index = interpreter.get_input_details()[0]["index"]
            if tuple(interpreter.get_input_details()[0]["shape"][1:3]) != key:
                try:
                    interpreter.resize_tensor_input(index, [1, height, width, 3])
                    interpreter.allocate_tensors()
                except (ValueError, RuntimeError) as error:
                    raise PredictorError(f"{self.model_path}: the detector does not take {width}x{height} inputs "
                                         f"({str(error).strip()[:120]})") from None
            # (1, anchors, 16) box and keypoint regressions, (1, anchors, 1) face logits, told apart by shape
            outputs = {int(d["shape"][-1]): d["index"] for d in interpreter.get_output_details()}
            runner = (interpreter, index, outputs[16], outputs[1], _blazeface_anchors(height, width))
            if len(self._shapes) >= self.max_shapes:
                self._shapes.pop(next(iter(self._shapes)))
        self._shapes[key] = runner
        return runner

    @classmethod
    def views(cls, height: int, width: int) -> list[View]:
        """What the model looks at in a height x width frame (see the class docstring): one view."""
        if max(height, width) < cls.large_from:
            side = cls.thumbnail if max(height, width) <= cls.thumbnail else cls.size
            scale = side / max(height, width)
            new_h, new_w = _scaled(height, width, scale)
            return [View((0, 0, width, height), scale, side, side, (side - new_w) // 2, (side - new_h) // 2)]
        short = min(height, width)
        view_short = min(cls.large_short_max, max(cls.large_short, -(-(short // cls.face_share) // 16) * 16))
        scale = view_short / short
        new_h, new_w = _scaled(height, width, scale)
        view_h, view_w = -(-new_h // 16) * 16, -(-new_w // 16) * 16
        return [View((0, 0, width, height), scale, view_h, view_w, (view_w - new_w) // 2, (view_h - new_h) // 2,
                     nearest=True)]

    def detect(self, image, min_score: float = 0.5, iou: float = 0.3, clock=NO_TIMES) -> list[Face]:
        """Faces in a frame (numpy (H, W[, 3]) or FramePixels), boxes in its pixels."""
        pixels = image if isinstance(image, FramePixels) else FramePixels(image)
        candidates = []
        for view in self.views(*pixels.shape[:2]):
            tensor = self.view_input(pixels, view)
            interpreter, index, boxes, scores, anchors = self._runner(view.view_h, view.view_w)
            clock.lap("detector_preprocess")
            interpreter.set_tensor(index, tensor[None])
            interpreter.invoke()
            raw = interpreter.get_tensor(boxes)[0]
            logits = interpreter.get_tensor(scores)[0, :, 0].astype(np.float64)
            clock.lap("detector_invoke")
            candidates.append(self._candidates(raw, logits, anchors, min_score, view))
            clock.lap("detector_nms")
        boxes, scores, points = (np.concatenate(parts) for parts in zip(*candidates))
        faces = [Face(_clip_box(*box, pixels.shape), float(score), [tuple(p) for p in keypoints])
                 for box, score, keypoints in _weighted_nms(boxes, scores, points, iou)]
        clock.lap("detector_nms")
        return faces

    @staticmethod
    def _candidates(raw, logits, anchors, min_score, view: View):
        """Anchors + regressions of one view -> (boxes x0, y0, x1, y1 in frame pixels, scores, keypoints)."""
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -100, 100)))
        keep = scores >= min_score
        raw, scores, anchors = raw[keep], scores[keep], anchors[keep]
        centers, sizes = raw[:, :2] + anchors, raw[:, 2:4]  # view pixels
        boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)
        points = raw[:, 4:].reshape(len(raw), 6, 2) + anchors[:, None, :]
        pad, offset = np.array([view.pad_x, view.pad_y]), np.array(view.window[:2])
        to_frame = lambda xy: (xy - pad) / view.scale + offset  # noqa: E731
        boxes = np.concatenate([to_frame(boxes[:, :2]), to_frame(boxes[:, 2:])], axis=1)
        return boxes, scores, to_frame(points)

    @classmethod
    def view_input(cls, pixels: FramePixels, view: View) -> np.ndarray:
        """The model's input for one view of a frame. A small frame: average k x k blocks once (cheap), then resize
        the window from that small frame instead of from full resolution (k keeps the small frame at least the
        view's size). A large frame's view is read straight from it by nearest pixel (`View.nearest`)."""
        k = 1 if view.nearest else max(1, min(min(view.window[2:]) // cls.size, int(1 / view.scale + 1e-6)))
        return cls._input(pixels.reduced(k), view, k)

    @staticmethod
    def _input(small: FramePixels, view: View, k: int) -> np.ndarray:
        """The view's input: its window of the k-reduced frame resized by scale * k, at (pad_x, pad_y) of a black
        view_h x view_w RGB tensor, values in [-1, 1]."""
        x, y, w, h = (round(v / k) for v in view.window)
        w, h = max(1, min(w, small.shape[1] - x)), max(1, min(h, small.shape[0] - y))
        new_h, new_w = _scaled(view.window[3], view.window[2], view.scale)
        part = small.window((x, y, w, h), new_h, new_w, view.nearest)  # a gray frame is resized, then made RGB
        part /= 127.5
        part -= 1.0
        if part.ndim == 3 and part.shape[:2] == (view.view_h, view.view_w):
            return part  # the view is the resized window: nothing to pad
        tensor = np.full((view.view_h, view.view_w, 3), -1.0, np.float32)
        tensor[view.pad_y : view.pad_y + new_h, view.pad_x : view.pad_x + new_w] = part if part.ndim == 3 else part[..., None]
        return tensor


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

    def detect(self, image, min_score: float = 0.5, clock=NO_TIMES) -> list[Face]:
        array = image.array if isinstance(image, FramePixels) else image
        gray = np.ascontiguousarray(to_gray(array).clip(0, 255).astype(np.uint8))
        clock.lap("detector_preprocess")
        found = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        clock.lap("detector_invoke")
        return [Face(tuple(int(v) for v in box), 1.0) for box in found]


DETECTORS = {"blazeface": BlazeFaceDetector, "haar": HaarDetector}


def make_detector(name: str, num_threads: int | None = None):
    if name not in DETECTORS:
        raise PredictorError(f"detector {name!r}; expected one of {', '.join(DETECTORS)}")
    return DETECTORS[name](num_threads)


# ---------------------------------------------------------------------------------------------------
# Command line for the device: python edgefer_predictor.py MODEL IMAGE... [--detect] [--json]


def _format(path, result: Prediction, number: int = 1) -> str:
    """'photo.jpg: face 1 at x=.. y=.. w=.. h=.. Happy 91.2%', or for a whole-image answer 'face.png: whole image ...'."""
    if result.box:
        where = f" face {number} at x={result.box[0]} y={result.box[1]} w={result.box[2]} h={result.box[3]}"
    else:
        where = " whole image as one face:" if result.whole_image else ""
    return f"{path}:{where} {result.label} {result.probability:.1%}"


def main(argv=None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Facial expression of the faces in images (TFLite): every face found, "
                                     "left to right; a small image with no face found is read as one face crop.")
    parser.add_argument("model", help=".tflite model from `edgefer export`")
    parser.add_argument("images", nargs="+", help="image files: photos, or faces already cropped")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--detect", action="store_true", help="only the faces found (never the whole image)")
    how.add_argument("--crop", action="store_true", help="read each whole image as one face (already cropped)")
    parser.add_argument("--detector", default="blazeface", choices=sorted(DETECTORS))
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tta", default="none", choices=TTA_MODES,
                        help="flip: average with the mirrored face (more accurate, twice the work)")
    args = parser.parse_args(argv)
    mode = "detect" if args.detect else "crop" if args.crop else "auto"
    try:
        predictor = EmotionPredictor(args.model, num_threads=args.threads, detector=args.detector, tta=args.tta)
    except PredictorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = 0
    for path in args.images:
        try:
            results = predictor.predict_image(path, mode)
        except PredictorError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps({"image": str(path), "faces": [r.to_dict() for r in results]}))
        elif not results:
            print(f"{path}: no face found")
        for number, result in enumerate([] if args.json else results, start=1):
            print(_format(path, result, number))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
