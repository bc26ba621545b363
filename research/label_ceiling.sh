#!/usr/bin/env bash
# The ceiling on both label sources: every model edgefer may learn from (trained on FER2013 Training and its FER+
# labels only; never face-api.js or the default distilled from it, 807e402) recorded once, flip-averaged, then every
# mixture of them scored against FER2013's labels and the FER+ majority (research/label_frontier.py).
#
#   bash research/label_ceiling.sh [DATA] [WORK] [RECIPE_WORK] [BENCH_JSON]
#
# DATA: FER2013 with fer2013new.csv beside it (default ../shared/data/fer2013); WORK: recordings and the figure
# (default ~/edgefer-runs/label-ceiling); RECIPE_WORK: research/recipes/default.sh's folder, whose A, AB and C exports
# join the recordings when present (default ~/edgefer-runs/default); BENCH_JSON: an edgefer bench run to draw beside.
# Run from the repository root (earlier packaged models come from git history). About 8 minutes on 2 cores (7 min 50 s
# on a 2-core Xeon with AVX-512).
set -euo pipefail
DATA=${1:-../shared/data/fer2013}
W=${2:-$HOME/edgefer-runs/label-ceiling}
R=${3:-$HOME/edgefer-runs/default}
BENCH=${4:-}
mkdir -p "$W/models" "$W/T"

from_git() {  # from_git NAME REV ASSET: an earlier packaged model, kept as WORK/models/NAME.tflite
  [ -f "$W/models/$1.tflite" ] || git show "$2:edgefer/assets/$3_model.tflite" > "$W/models/$1.tflite"
}
# FER2013-side: the defaults before face-api.js was a teacher, and the fast model distilled from them
from_git default_3aa1e28 3aa1e28 default     # MobileNetV2 a0.5-80, 65.62%
from_git default_e314782 e314782 default     # a1.0-64, 67.60%
from_git default_7abed40 7abed40 default     # a1.0-64 from the ResNet-18 ensemble, 69.02%
from_git fast_82fdcc7 82fdcc7 fast           # a0.75-48, 67.32%
# FER+-side: the ferplus model's cycles
from_git ferplus_9a80bca 9a80bca ferplus
from_git ferplus_2b77792 2b77792 ferplus
from_git ferplus_6a0156d 6a0156d ferplus     # the packaged ferplus
# both sources: the packaged default and fast learnt from the blend
from_git default_blend HEAD default
from_git fast_blend HEAD fast
for step in A AB C; do  # the recipe's steps before the Happy shift, where that folder has them
  f="$R/$step/export/model_int8.tflite"
  if [ -f "$f" ] && [ ! -f "$W/models/recipe_$step.tflite" ]; then cp "$f" "$W/models/recipe_$step.tflite"; fi
done

for model in "$W"/models/*.tflite ../shared/models/fer2013_mobilenetv2_96_scratch_teacher.keras; do
  [ -f "$model" ] || continue
  name=$(basename "${model%.*}")
  [ -f "$W/T/$name.npz" ] || edgefer teacher record "$model" "$W/T/$name.npz" --data "$DATA"
done

python research/label_frontier.py "$W"/T/*.npz --data "$DATA" --target default=68,80 --target fast=66,78 \
  ${BENCH:+--bench "$BENCH"} --out "$W/figure"
