#!/usr/bin/env bash
# One device call, start to finish: the face-sized ResNet-18 teachers (FER2013's 7 classes, and FER+'s 8 from the
# annotators' votes) trained side by side with --time-budget on a lent GPU (Keras on JAX), each collected into OUT as
# soon as it finishes (fp16 parts: the 11 M-parameter model is over the 16 MiB a returned file may have).
#
#   bash research/gpu_teachers.sh CARRIED_DATA WORK OUT MINUTES     # there; CARRIED_DATA from gpu_session.py pack
#   python research/gpu_session.py unpack FILES_BACK DEST           # here: run folders with model.keras
set -uo pipefail
carry=$1 work=$2 out=$3 minutes=$4
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_MEM_FRACTION=0.3
python3 research/gpu_session.py setup "$carry" "$work" || exit 1
mkdir -p "$work/logs"
common=(--data "$work/data/fer2013.npz" --model resnet18 --img-size 48 --weights none --epochs 300 --val-fraction 0.1
        --seed 0 --time-budget "$minutes")
python3 -m edgefer.cli train "${common[@]}" --out "$work/runs/teacher-resnet18" > "$work/logs/teacher-resnet18.log" 2>&1 &
python3 -m edgefer.cli train "${common[@]}" --labels ferplus --ferplus "$work/data/fer2013new.csv.gz" \
    --ferplus-target votes --out "$work/runs/teacher-resnet18-ferplus" > "$work/logs/teacher-resnet18-ferplus.log" 2>&1 &
for _ in 1 2; do
    wait -n
    python3 research/gpu_session.py collect "$work" "$out"
done
tail -n 4 "$work"/logs/*.log
