#!/usr/bin/env bash
# Whole frames, edgefer against the `fer` package as its users call it, in one run on the same frames and clock:
# EmotionPredictor().predict_frame(path) (BlazeFace + the packaged model) vs FER(mtcnn=False).detect_emotions(
# cv2.imread(path)) (OpenCV Haar cascade + fer's int8 TFLite model), with 1 thread and with all cores.
#
#   bash benchmarks/frames_vs_fer.sh [FRAMES] [OUT] [MORE BENCH ARGS...]
#       FRAMES: a folder of images (faces.json beside them: faces found are scored), a video file, or
#               sample (default: the built-in set of VGA, 1280x720 and 256x256 frames with known faces)
#       OUT:    default bench/frames_vs_fer; more args go to `edgefer bench --frames` (models, --rounds ...)
#
# `fer` is a benchmark peer only, never a dependency of edgefer. fer 25.10.3 imports without its own
# dependency list (which pulls in torch and facenet-pytorch for MTCNN) when installed like this, into the
# environment that has edgefer[train] (for tensorflow-cpu):
#   pip install "opencv-python-headless<5" pandas requests tqdm setuptools "moviepy<2" && pip install --no-deps fer==25.10.3
# (OpenCV 5 has no cv2.CascadeClassifier, which fer needs.) The script installs them when fer does not import.
set -euo pipefail
FRAMES=${1:-sample}
OUT=${2:-bench/frames_vs_fer}
shift $(( $# < 2 ? $# : 2 ))
if ! python -c "import fer.fer" 2>/dev/null; then
  python -m pip install -q "opencv-python-headless<5" pandas requests tqdm setuptools "moviepy<2"
  python -m pip install -q --no-deps fer==25.10.3
fi
THREADS=${THREADS:-1,$(python -c "import os; print(os.cpu_count())")}
edgefer bench --frames "$FRAMES" --peer fer --threads "$THREADS" --rounds "${ROUNDS:-3}" --out "$OUT" "$@"
