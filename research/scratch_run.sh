#!/usr/bin/env bash
# The from-scratch recipe's real run: MobileNetV2 at 96 px, 60 epochs on the full Training split
# (10% held out for validation), resumable across sessions.
#
#   bash research/scratch_run.sh [RUNS_DIR] [DATA]
#
# RUNS_DIR (default ~/edgefer-runs) lies outside the work tree so that a new checkout keeps the
# checkpoint. Starts the run, or resumes it where its last finished epoch left it; says so when it is done.
# About 300-430 s per epoch on a 2-core AVX-512 EPYC (see benchmarks/README.md), 5-6x that on AVX2 only.
set -euo pipefail
RUNS=${1:-$HOME/edgefer-runs}
DATA=${2:-../shared/data/fer2013}
RUN=$RUNS/mobilenetv2-scratch
if [ -f "$RUN/model.keras" ] && [ ! -d "$RUN/checkpoint" ]; then
  echo "$RUN is complete: $(python -c "import json,sys; m=json.load(open(sys.argv[1])); print(f\"PublicTest {m['test']['accuracy']:.2%}\")" "$RUN/metrics.json")"
elif [ -f "$RUN/checkpoint/state.json" ]; then
  exec edgefer train --resume "$RUN"
else
  exec edgefer train --data "$DATA" --weights none --img-size 96 --epochs 60 --val-fraction 0.1 --seed 0 --out "$RUNS"
fi
