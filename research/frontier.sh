#!/usr/bin/env bash
# The accuracy-latency frontier sweep: MobileNetV2 width (--alpha) x input size, from scratch ("plain") and
# distilled from a teacher ("kd"), each exported to int8, then ONE `edgefer bench` run with `fer`'s model in it
# (benchmarks/compare_fer.sh), whose bench.md marks the Pareto front and whose accuracy_vs_latency.png draws it.
#
#   bash research/frontier.sh TEACHER [RUNS] [DATA] [ALPHA:SIZE:KD ...]
#
# TEACHER: a run folder, .keras (edgefer train runs it as its cached fp32 TFLite), or an exported .tflite/.onnx.
# RUNS (default ~/edgefer-runs/frontier): one folder per configuration, RUNS/a<alpha>-<size>-<kd>/.
# KD: plain (no teacher), kd (--teacher TEACHER) or kdflip (also --teacher-tta flip: the teacher's targets
# averaged over each face and its mirror). Configurations default to the grid 0.35,0.5 x 64,96 x kd,plain. EPOCHS (default 35) sets each run's length.
# Every step is resumable: a finished run is not retrained, an interrupted one is resumed, an existing
# export is kept; re-running the script after an interruption continues where it stopped.
set -euo pipefail
TEACHER=${1:?usage: frontier.sh TEACHER [RUNS] [DATA] [ALPHA:SIZE:KD ...]}
RUNS=${2:-$HOME/edgefer-runs/frontier}
DATA=${3:-../shared/data/fer2013}
shift $(( $# < 3 ? $# : 3 ))
CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(0.35:64:kd 0.35:64:plain 0.35:96:kd 0.35:96:plain 0.5:64:kd 0.5:64:plain 0.5:96:kd 0.5:96:plain)
EPOCHS=${EPOCHS:-35}
source "$(dirname "$0")/recipes/lib.sh"
ARTIFACTS=()
for config in "${CONFIGS[@]}"; do
  IFS=: read -r ALPHA SIZE KD <<< "$config"
  DIR=$RUNS/a$ALPHA-$SIZE-$KD
  case $KD in
    plain) DISTIL=() ;;
    kd) DISTIL=(--teacher "$TEACHER") ;;
    kdflip) DISTIL=(--teacher "$TEACHER" --teacher-tta flip) ;;
    *) echo "frontier.sh: $config: expected plain, kd or kdflip after ALPHA:SIZE:" >&2; exit 2 ;;
  esac
  train_or_resume "$DIR" --data "$DATA" --weights none --alpha "$ALPHA" --img-size "$SIZE" --epochs "$EPOCHS" \
    --val-fraction 0.1 --seed 0 "${DISTIL[@]}"
  RUN=$(ls -d "$DIR"/mobilenetv2* | head -n 1)
  [ -f "$DIR/export/model_int8.tflite" ] || edgefer export "$RUN" --int8 --out "$DIR/export"
  ARTIFACTS+=("$DIR/export/model_int8.tflite")
done
# 10 rounds of 200 timed runs, the artifacts taking turns: rankings within a few % hold across rounds
bash "$(dirname "$0")/../benchmarks/compare_fer.sh" "$DATA" "$RUNS/bench" "${ARTIFACTS[@]}" --threads 1 --runs 2000 --rounds 10
