#!/usr/bin/env bash
# One device call: FER+ ResNet-18 teachers for an ensemble (issue 29), trained side by side with --time-budget on a
# lent GPU (Keras on JAX), then recorded there (flip-averaged probabilities of every carried face, by row id), so that
# the call returns everything a CPU session needs to distil a student: nothing depends on files kept between sessions
# (a session's machine can be replaced, and /root with it, as on 2026-12-05). Each member has its own --seed
# (initialisation, order, augmentation) and --split-seed 0, so all hold out the validation faces of the packaged
# `ferplus` student (seed 0).
#
#   python research/gpu_session.py pack ../shared/data/fer2013 .gpu/data                 # here, once
#   bash research/gpu_ferplus_members.sh CARRIED_DATA WORK OUT MINUTES [SEED ...]         # there; default seeds 0 1 2
#   python research/gpu_session.py unpack FILES_BACK DEST                                  # here: run folders and
#                                                        # DEST/teachers/ferplus-seedN.npz, the recorded members
#   python research/ferplus_posthoc.py ensemble DEST/teachers/ferplus-seed*.npz --weights 1,1,1 --save mix.npz
#   edgefer train --data ../shared/data/fer2013 --labels ferplus --ferplus-target votes --model mobilenetv2 \
#       --alpha 1.0 --img-size 64 --weights none --epochs 85 --val-fraction 0.1 --seed 0 --split-seed 0 \
#       --teacher DEST/teachers/ferplus-seed0.npz,DEST/teachers/ferplus-seed1.npz,... --out OUT   # the student, here
# Three members come back as fp16 parts (two files each) beside the archive: 7 of the 8 files a call may return; the
# recordings (about 1 MB each) travel inside the archive.
set -uo pipefail
carry=$1 work=$2 out=$3 minutes=$4
shift 4
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2)
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_MEM_FRACTION=0.2
python3 research/gpu_session.py setup "$carry" "$work" || exit 1
mkdir -p "$work/logs"
for seed in "${seeds[@]}"; do
    python3 -m edgefer.cli train --data "$work/data/fer2013.npz" --labels ferplus --ferplus "$work/data/fer2013new.csv.gz" \
        --ferplus-target votes --model resnet18 --img-size 48 --weights none --epochs 300 --val-fraction 0.1 \
        --seed "$seed" --split-seed 0 --time-budget "$minutes" --out "$work/runs/ferplus-seed$seed" \
        > "$work/logs/ferplus-seed$seed.log" 2>&1 &
done
wait
mkdir -p "$work/teachers"
for seed in "${seeds[@]}"; do   # a few seconds each on the GPU; 10-20 min each on 2 CPU cores
    run_dir=$(dirname "$(ls "$work"/runs/ferplus-seed"$seed"/*/model.keras 2>/dev/null | head -n 1)")
    [ -f "$run_dir/model.keras" ] || { echo "seed $seed: no model.keras, nothing to record" >&2; continue; }
    python3 -m edgefer.cli teacher record "$run_dir" "$work/teachers/ferplus-seed$seed.npz" \
        --data "$work/data/fer2013.npz" --labels ferplus >> "$work/logs/record.log" 2>&1 \
        || echo "seed $seed: recording failed (logs/record.log)" >&2
done
python3 research/gpu_session.py collect "$work" "$out"
tail -n 4 "$work"/logs/*.log
