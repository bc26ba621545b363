#!/usr/bin/env bash
# How the packaged `default` model was made: the steps its card's reproduce field names, as one script.
# A full-width MobileNetV2 (a1.0, 64 px) learnt from FER2013's labels blended with the FER+ votes, distilled
# only from models trained on FER2013 Training and its FER+ labels (no face-api.js anywhere), with photo augmentation.
#
#   bash research/recipes/default.sh [DATA] [WORK]
#
# DATA: FER2013 with fer2013new.csv beside it (default ../shared/data/fer2013); WORK: a folder for every step
# (default ~/edgefer-runs/default). Run from the repository root (it reads earlier packaged models from git history).
# About 2.5 hours on a 2-core Xeon with AVX-512 (its three training runs: 38, 26 and 32 min). Every step is skipped
# when its output exists and an interrupted run resumes, so re-running continues where it stopped.
# The result: WORK/D/export/model_int8.tflite.
set -euo pipefail
DATA=${1:-../shared/data/fer2013}
W=${2:-$HOME/edgefer-runs/default}
MNV2_96=../shared/models/fer2013_mobilenetv2_96_scratch_teacher.keras
mkdir -p "$W/T"
source "$(dirname "$0")/lib.sh"
COMMON=(--data "$DATA" --labels blend --mode advanced --unfreeze all --head-epochs 1 --augment photo
        --val-fraction 0.1 --seed 0)

int8() {  # int8 RUN_OR_MODEL OUT: the int8 export, kept when it exists
  [ -f "$2/model_int8.tflite" ] || edgefer export "$1" --int8 --data "$DATA" --out "$2"
}

# earlier packaged models, from git history: the pre-face-api default (FER2013 ensemble-distilled) and e314782's
[ -f "$W/prev.tflite" ] || git show 6a0156d:edgefer/assets/default_model.tflite > "$W/prev.tflite"
[ -f "$W/e314.tflite" ] || git show e314782:edgefer/assets/default_model.tflite > "$W/e314.tflite"
# teachers recorded once, flip-averaged: the previous default and ferplus (its seven emotions), as float models
[ -f "$W/T/prev_fp32.tflite" ] || python research/packaged_float.py "$W/prev.tflite" "$W/T/prev_fp32.tflite"
[ -f "$W/T/ferplus_fp32.tflite" ] || python research/packaged_float.py ferplus "$W/T/ferplus_fp32.tflite"
[ -f "$W/T/prev.npz" ] || edgefer teacher record "$W/T/prev_fp32.tflite" "$W/T/prev.npz" --data "$DATA"
[ -f "$W/T/ferplus7.npz" ] || edgefer teacher record "$W/T/ferplus_fp32.tflite" "$W/T/ferplus7.npz" --data "$DATA"

# A: the ferplus model fine-tuned at blend 0.4 (16 epochs)
train_or_resume "$W/A" "${COMMON[@]}" --label-blend 0.4 --weights edgefer/assets/ferplus_model.tflite --epochs 16 --lr 3e-4 \
  --fine-tune-lr 1e-4 --teacher "$W/T/prev.npz,$W/T/ferplus7.npz" --kd-weight 0.5
int8 "$W/A/mobilenetv2-advanced" "$W/A/export"
# B: A's int8 export fine-tuned at blend 0.6 (9 epochs)
train_or_resume "$W/B" "${COMMON[@]}" --label-blend 0.6 --weights "$W/A/export/model_int8.tflite" --epochs 9 --lr 3e-4 \
  --fine-tune-lr 5e-5 --teacher "$W/T/prev.npz,$W/T/ferplus7.npz" --kd-weight 0.3
# AB: weights 0.7 A + 0.3 B (the interpolation grid and its validation scores: weight_interpolation.py without --pick)
[ -f "$W/AB/model.keras" ] || python research/weight_interpolation.py "$W/B/mobilenetv2-advanced" \
  --start "$W/A/mobilenetv2-advanced" --data "$DATA" --pick 0.3 --write "$W/AB"
int8 "$W/AB" "$W/AB/export"
# C: AB's int8 export, 8 epochs at blend 0.5 distilled from a FER2013 ensemble and ferplus, the last epoch kept
[ -f "$W/T/fer13ens.npz" ] || edgefer teacher record "$W/prev.tflite,$MNV2_96,$W/e314.tflite" "$W/T/fer13ens.npz" \
  --data "$DATA"
train_or_resume "$W/C" "${COMMON[@]}" --label-blend 0.5 --weights "$W/AB/export/model_int8.tflite" --epochs 8 --lr 1e-4 \
  --fine-tune-lr 3e-5 --teacher "$W/T/fer13ens.npz,$W/T/ferplus7.npz" --kd-weight 0.5 --keep last
# D: Happy's logit +1.75, the smallest shift with the London Set >= 85% and each class >= 75%
[ -f "$W/D/model.keras" ] || python research/class_bias.py "$W/C/mobilenetv2-advanced" --bias Happy=1.75 --write "$W/D"
int8 "$W/D" "$W/D/export"
echo "default: $W/D/export/model_int8.tflite (edgefer bench $W/D/export/model_int8.tflite --data $DATA --photos DIR)"
