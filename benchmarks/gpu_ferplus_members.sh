#!/usr/bin/env bash
# One device call: more FER+ ResNet-18 teachers for an ensemble (issue 29), trained side by side with --time-budget on
# a lent GPU (Keras on JAX). Each member has its own --seed (initialisation, order, augmentation) and --split-seed 0,
# so all hold out the validation faces of the packaged `ferplus` student and of the first FER+ teacher (seed 0).
#
#   bash benchmarks/gpu_ferplus_members.sh CARRIED_DATA WORK OUT MINUTES [SEED ...]   # there; default seeds 1 2 3
#   python benchmarks/gpu_session.py unpack FILES_BACK DEST                              # here: run folders
#   python benchmarks/record_teacher.py DEST/runs/ferplus-seed1/resnet18-scratch seed1.npz --labels ferplus  # each
#   python benchmarks/ferplus_posthoc.py ensemble resnet18_ferplus_flip.npz seed1.npz ... --save mix.npz
# Three members come back as fp16 parts (two files each) beside the archive: 7 of the 8 files a call may return.
set -uo pipefail
carry=$1 work=$2 out=$3 minutes=$4
shift 4
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_MEM_FRACTION=0.2
python3 benchmarks/gpu_session.py setup "$carry" "$work" || exit 1
mkdir -p "$work/logs"
for seed in "${seeds[@]}"; do
    python3 -m edgefer.cli train --data "$work/data/fer2013.npz" --labels ferplus --ferplus "$work/data/fer2013new.csv.gz" \
        --ferplus-target votes --model resnet18 --img-size 48 --weights none --epochs 300 --val-fraction 0.1 \
        --seed "$seed" --split-seed 0 --time-budget "$minutes" --out "$work/runs/ferplus-seed$seed" \
        > "$work/logs/ferplus-seed$seed.log" 2>&1 &
done
wait
python3 benchmarks/gpu_session.py collect "$work" "$out"
tail -n 4 "$work"/logs/*.log
