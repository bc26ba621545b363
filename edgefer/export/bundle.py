"""Make an export folder a device bundle: copy it to a phone or a Raspberry Pi as it is.

Beside the artifacts and labels, `edgefer export` puts the one-file predictor (`edgefer_predictor.py`,
a copy of `edgefer/predictor.py`), the BlazeFace face detector with its licence, a `requirements.txt`
and a README with install lines for the runtime wheels that exist for each platform.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from edgefer import predictor
from edgefer.core.fileio import atomic_path, write_text

PREDICTOR_FILE = "edgefer_predictor.py"
ASSETS = Path(predictor.__file__).parent / "assets"
DETECTOR_FILES = (predictor.BLAZEFACE_FILE, "LICENSE-mediapipe-blazeface.txt")
# numpy and a TFLite runtime; Pillow only to read image files. ai-edge-litert 2.3.0 has wheels for
# x86_64 and aarch64 (manylinux_2_27) on CPython 3.10-3.14; 32-bit ARM has only tflite-runtime 2.14
# (CPython 3.9-3.11, manylinux_2_34), built against numpy 1.x (checked with `pip download --platform`).
REQUIREMENTS = """\
numpy>=1.23
pillow>=9
ai-edge-litert>=2.0; platform_machine != "armv7l"
tflite-runtime==2.14.0; platform_machine == "armv7l"
numpy<2; platform_machine == "armv7l"
"""


def _copy(source: Path, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def write_bundle(out: Path, models: list[str], classes: list[str]) -> list[Path]:
    """Write the predictor, detector, requirements.txt and README.md into `out`; returns the files written."""
    written = [out / PREDICTOR_FILE, *(out / name for name in DETECTOR_FILES), out / "requirements.txt",
               out / "README.md"]
    _copy(Path(predictor.__file__), written[0])
    for name in DETECTOR_FILES:
        _copy(ASSETS / name, out / name)
    write_text(out / "requirements.txt", REQUIREMENTS)
    write_text(out / "README.md", bundle_readme(out.name, models, classes))
    return written


def bundle_readme(name: str, models: list[str], classes: list[str]) -> str:
    model = next((m for m in models if m.endswith("int8.tflite")), None) or next(
        (m for m in models if m.endswith(".tflite")), "model_int8.tflite")
    listing = "\n".join(f"- `{m}`" for m in models) or "- (no TFLite artifact passed its check)"
    return README_TEMPLATE.format(name=name, model=model, listing=listing, classes=", ".join(classes), n=len(classes))


README_TEMPLATE = """\
# {name}: edgefer device bundle

Copy this folder to the device as it is. It holds:

{listing}
- `edgefer_predictor.py`: the predictor, one file: numpy + a TFLite runtime (+ Pillow to read image files)
- `face_detection_short_range.tflite`: MediaPipe BlazeFace short-range face detector (Apache-2.0,
  `LICENSE-mediapipe-blazeface.txt`)
- `labels.json`, `model.json`: class names ({classes}) and how each artifact was made and checked
- `requirements.txt`

The models take a raw 48x48 grayscale face (uint8 pixels 0..255 for int8, float 0..255 otherwise);
resizing and scaling happen inside the model. The predictor converts any image for you.

## Raspberry Pi (64-bit Raspberry Pi OS bookworm, aarch64)

Bookworm ships Python 3.11 and Trixie Python 3.13; `ai-edge-litert` 2.3.0 has aarch64 wheels for
CPython 3.11-3.14 (manylinux_2_27, glibc 2.27 or newer), so no compiler is needed:

    python3 -m venv ~/fer && . ~/fer/bin/activate
    pip install -r requirements.txt      # numpy, pillow, ai-edge-litert
    python edgefer_predictor.py {model} face.jpg
    python edgefer_predictor.py {model} photo.jpg --json

If `ai-edge-litert` cannot be installed (CPython 3.9/3.10 on an old OS): `pip install numpy pillow
tflite-runtime==2.14.0 "numpy<2"` (tflite-runtime 2.14.0, its last release, has aarch64 wheels for
CPython 3.9-3.11 only, and needs numpy 1.x).

## Raspberry Pi (32-bit Raspberry Pi OS bookworm, armv7l)

Only `tflite-runtime` 2.14.0 exists for 32-bit ARM (CPython 3.9-3.11, needs numpy 1.x), and PyPI has
no 32-bit ARM wheels of numpy or Pillow: take those from the OS (numpy 1.24, Pillow 9.4 on bookworm):

    sudo apt install python3-numpy python3-pil
    python3 -m venv --system-site-packages ~/fer && . ~/fer/bin/activate
    pip install -r requirements.txt      # on armv7l: tflite-runtime 2.14.0 (numpy<2 is already met)
    python edgefer_predictor.py {model} face.jpg

Both Pi set-ups were run under qemu user emulation on bookworm's own packages and these wheels
(`benchmarks/arm_check.sh` in the edgefer repository): same labels and face boxes as on x86. The
32-bit runtime's int8 kernels round differently from LiteRT's (probabilities a few 1/256 steps apart).

In Python:

    from edgefer_predictor import EmotionPredictor
    predictor = EmotionPredictor("{model}", num_threads=4)   # the Pi 4/5 has 4 cores
    print(predictor.predict("face.jpg"))                 # label, probability, all probabilities
    for face in predictor.predict_frame(rgb_frame):      # numpy (H, W, 3) uint8 from the camera
        print(face.box, face.label, face.probability)

With a camera (`sudo apt install python3-opencv` or `pip install "opencv-python-headless<5"`), each frame
from `cv2.VideoCapture(0).read()` is BGR: pass `frame[..., ::-1]`. OpenCV 4.x also gives
`EmotionPredictor(..., detector="haar")` (its Haar cascade) instead of BlazeFace.

## Android

There is no Python wheel of the TFLite runtime for Android; use the `.tflite` files from an app:

- Gradle: `implementation("com.google.ai.edge.litert:litert:<version>")` (LiteRT, the successor of
  `org.tensorflow:tensorflow-lite`, same `Interpreter` API; take the current version from Google's
  Maven repository, which could not be reached from where this README was written).
- Load `{model}` with `Interpreter(file, Interpreter.Options().setNumThreads(4))`.
- Simplest: MediaPipe Tasks' `ImageClassifier` (`com.google.mediapipe:tasks-vision`) loads `{model}` as it is and
  returns labels by name (the model carries standard TFLite metadata).
- Input: one `[1, 48, 48, 3]` RGB tensor (the gray conversion is inside the model). For the int8 model, a
  `ByteBuffer` of 48*48*3 bytes: the face cropped (the detector's box grown by 7.6% per side, centre lifted 6.6%:
  FER2013's framing), resized to 48x48; for float models 48*48*3 float32 values 0..255.
- Output: `[1, {n}]`; for the int8 model uint8 values, probability = (value - zero_point) * scale
  (`interpreter.getOutputTensor(0).quantizationParams()`). Class order: {classes}.
- Face detection: MediaPipe's Face Detector task (`com.google.mediapipe:tasks-vision`) runs the same
  BlazeFace short-range model; or run `face_detection_short_range.tflite` with the decoding in
  `edgefer_predictor.py` (`BlazeFaceDetector`).
- In Termux, Python works but `pip install ai-edge-litert` finds no Android wheel.
"""
