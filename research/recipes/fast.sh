#!/usr/bin/env bash
# How the packaged `fast` model was made: the steps its card's reproduce field names, as one script.
# The previous fast (MobileNetV2 a0.75, 48 px, FER2013-distilled) fine-tuned on FER2013's labels blended with the FER+
# votes, distilled from the default's run before its Happy shift (research/recipes/default.sh, step C).
#
#   bash research/recipes/fast.sh [DATA] [WORK] [DEFAULT_WORK]
#
# DATA as for default.sh; WORK default ~/edgefer-runs/fast; DEFAULT_WORK: default.sh's WORK (default
# ~/edgefer-runs/default), whose C run must be finished. About 30 minutes on a 2-core Xeon with AVX-512 (training
# 20 min); re-running resumes.
# The result: WORK/W/export/model_int8.tflite.
set -euo pipefail
DATA=${1:-../shared/data/fer2013}
W=${2:-$HOME/edgefer-runs/fast}
DW=${3:-$HOME/edgefer-runs/default}
[ -f "$DW/C/mobilenetv2-advanced/model.keras" ] || { echo "fast.sh: $DW/C: run research/recipes/default.sh first" >&2; exit 2; }
mkdir -p "$W/T"
[ -f "$W/prev_fast.tflite" ] || git show 6a0156d:edgefer/assets/fast_model.tflite > "$W/prev_fast.tflite"
[ -f "$W/T/C.npz" ] || edgefer teacher record "$DW/C/mobilenetv2-advanced" "$W/T/C.npz" --data "$DATA"
source "$(dirname "$0")/lib.sh"
train_or_resume "$W/F2" --data "$DATA" --labels blend --label-blend 0.5 --weights "$W/prev_fast.tflite" \
  --mode advanced --unfreeze all --head-epochs 1 --epochs 14 --lr 3e-4 --fine-tune-lr 1e-4 --augment photo \
  --teacher "$W/T/C.npz" --kd-weight 0.7 --val-fraction 0.1 --seed 0 --keep last
RUN=$(ls -d "$W"/F2/mobilenetv2* | head -n 1)
# Happy's logit +1.25, the smallest shift with the London Set >= 80%
[ -f "$W/W/model.keras" ] || python research/class_bias.py "$RUN" --bias Happy=1.25 --write "$W/W"
[ -f "$W/W/export/model_int8.tflite" ] || edgefer export "$W/W" --int8 --data "$DATA" --out "$W/W/export"
echo "fast: $W/W/export/model_int8.tflite"
