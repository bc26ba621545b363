#!/usr/bin/env bash
# One device call: ResNet-18 teachers for an ensemble (FER+ votes by default; also FER2013+FER+ blend and FER2013
# members: the teachers both label sources need, research/label_ceiling.sh), trained side by side with --time-budget
# on a lent GPU (Keras on JAX), then recorded there (flip-averaged probabilities of every carried face, by row id), so that
# the call returns everything a CPU session needs to distil a student: nothing depends on files kept between sessions
# (a session's machine can be replaced, and /root with it, as on 2026-12-05). Each member has its own --seed
# (initialisation, order, augmentation) and --split-seed 0, so all hold out the validation faces of the packaged
# `ferplus` student (seed 0).
#
#   python research/gpu_session.py pack ../shared/data/fer2013 .gpu/data                 # here, once
#   bash research/gpu_ferplus_members.sh CARRIED_DATA WORK OUT MINUTES [[LABELS:]SEED ...]  # there; default 0 1 2
#                                  # LABELS ferplus (the default), blend or fer2013: e.g. blend:0 fer2013:0 ferplus:0
#   python research/gpu_session.py unpack FILES_BACK DEST                                  # here: run folders and
#                                                        # DEST/teachers/LABELS-seedN.npz, the recorded members
#   python research/ferplus_posthoc.py ensemble DEST/teachers/ferplus-seed*.npz --weights 1,1,1 --save mix.npz
#   edgefer train --data ../shared/data/fer2013 --labels ferplus --ferplus-target votes --model mobilenetv2 \
#       --alpha 1.0 --img-size 64 --weights none --epochs 85 --val-fraction 0.1 --seed 0 --split-seed 0 \
#       --teacher DEST/teachers/ferplus-seed0.npz,DEST/teachers/ferplus-seed1.npz,... --out OUT   # the student, here
#   # or, for both label sources: members blend:0 fer2013:0 ferplus:0, the student learning from all three recordings
#   # (--labels blend --teacher DEST/teachers/blend-seed0.npz,...; the ferplus member's eight classes used by name);
#   # record them again here on the full PublicTest to weigh them with research/label_frontier.py
# Three members come back as fp16 parts (two files each) beside the archive: 7 of the 8 files a call may return; the
# recordings (about 1 MB each) travel inside the archive.
set -uo pipefail
carry=$1 work=$2 out=$3 minutes=$4
shift 4
members=("$@")
[ ${#members[@]} -gt 0 ] || members=(0 1 2)
# MODEL_ARGS: the network (a CPU dry run of this script: MODEL_ARGS="--model mobilenetv2 --alpha 0.35 --img-size 32")
read -r -a model_args <<< "${MODEL_ARGS:---model resnet18 --img-size 48}"
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_MEM_FRACTION=0.2
votes="$work/data/fer2013new.csv.gz"
label_args() {  # label_args LABELS: the train options of a label source (its teacher is recorded on FER2013's classes
  case $1 in    # but for ferplus, whose eight classes are kept)
    ferplus) echo "--labels ferplus --ferplus $votes --ferplus-target votes" ;;
    blend) echo "--labels blend --ferplus $votes --label-blend 0.5" ;;
    fer2013) echo "--labels fer2013" ;;
    *) echo "unknown label source $1 (ferplus, blend or fer2013)" >&2; return 1 ;;
  esac
}
names=() chosen=()
for member in "${members[@]}"; do  # LABELS:SEED, or SEED alone for a FER+ member; all checked before any starts
  case $member in *:*) labels=${member%%:*} seed=${member##*:} ;; *) labels=ferplus seed=$member ;; esac
  [[ $seed =~ ^[0-9]+$ ]] || { echo "member $member: the seed must be a whole number" >&2; exit 2; }
  chosen+=("$(label_args "$labels")") || exit 2
  names+=("$labels-seed$seed")
done
python3 research/gpu_session.py setup "$carry" "$work" || exit 1
mkdir -p "$work/logs" "$work/teachers"
for i in "${!names[@]}"; do
  read -r -a train_labels <<< "${chosen[$i]}"
  seed=${names[$i]##*-seed}
  python3 -m edgefer.cli train --data "$work/data/fer2013.npz" "${train_labels[@]}" "${model_args[@]}" --weights none \
      --epochs 300 --val-fraction 0.1 --seed "$seed" --split-seed 0 --time-budget "$minutes" \
      --out "$work/runs/${names[$i]}" > "$work/logs/${names[$i]}.log" 2>&1 &
done
wait
for name in "${names[@]}"; do   # a few seconds each on the GPU; 10-20 min each on 2 CPU cores
  run_dir=$(dirname "$(ls "$work"/runs/"$name"/*/model.keras 2>/dev/null | head -n 1)")
  [ -f "$run_dir/model.keras" ] || { echo "$name: no model.keras, nothing to record" >&2; continue; }
  record_labels=fer2013; [ "${name%%-*}" = ferplus ] && record_labels=ferplus
  python3 -m edgefer.cli teacher record "$run_dir" "$work/teachers/$name.npz" \
      --data "$work/data/fer2013.npz" --labels "$record_labels" >> "$work/logs/record.log" 2>&1 \
      || echo "$name: recording failed (logs/record.log)" >&2
done
python3 research/gpu_session.py collect "$work" "$out"
tail -n 4 "$work"/logs/*.log
