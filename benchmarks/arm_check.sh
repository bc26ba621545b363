#!/usr/bin/env bash
# The device bundle on ARM, emulated: Raspberry Pi OS bookworm 64-bit (aarch64) and 32-bit (armv7l) userspaces.
#
#   bash benchmarks/arm_check.sh [EXPORT_DIR] [N_FACES] [ARCHES]
#
# EXPORT_DIR: an `edgefer export` folder (default: the shipped model laid out as a bundle).
# N_FACES: PublicTest faces of the embedded sample to compare (default 20), plus one photo, in one predictor call as
# a user makes it (no mode flag: the photo's faces are found, a 48x48 face crop is read whole).
# ARCHES: "aarch64 armv7l" (default) or one of them.
#
# For each architecture it builds (once, cached under ~/.cache/edgefer/arm/) a Debian bookworm userspace
# with Python 3.11 from Debian's own packages (`apt-get download` + `dpkg -x`: no chroot or binfmt needed),
# installs what the bundle's requirements.txt asks for on that architecture (aarch64: ai-edge-litert,
# numpy, Pillow wheels from PyPI; armv7l: tflite-runtime 2.14.0 from PyPI plus Debian's python3-numpy and
# python3-pil, as on Raspberry Pi OS, since PyPI has no 32-bit ARM numpy or Pillow wheels), runs the
# bundle's edgefer_predictor.py under qemu user emulation, and compares with the same file on this x86
# machine (ai-edge-litert): same face boxes, and
# - aarch64 (the same runtime, ai-edge-litert): same labels, probabilities within one output quantization step;
# - armv7l (only tflite-runtime 2.14 exists there, whose int8 kernels and ARM's own round differently from LiteRT
#   on x86: measured up to 26 steps of 1/256 between tflite-runtime 2.14 and LiteRT on x86 alone, and up to 10
#   between tflite-runtime 2.14 on x86 and on armv7l): probabilities within ARMV7_STEPS (32) output steps, and the
#   same label on every face whose top two classes are more than that apart on x86; a face whose top two are
#   closer is a near-tie, where either label is the model's answer, reported by name.
# Needs root for apt-get. qemu >= 8 is required (ai-edge-litert 2.3.0 segfaults under Debian 12's qemu 7.2);
# the script installs qemu-user-static from bookworm-backports (10.0) when the one here is older.
# Emulated timings are not device timings: they are printed only as "emulated, not representative".
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$HERE/.venv/bin/python}
CACHE=${EDGEFER_CACHE_DIR:-$HOME/.cache/edgefer}/arm
N=${2:-20}
ARCHES=${3:-aarch64 armv7l}
mkdir -p "$CACHE"

say() { echo "[arm_check] $*" >&2; }

ensure_qemu() {
  local v
  v=$(qemu-aarch64-static --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p' || true)
  if [ -z "$v" ] || [ "$v" -lt 8 ]; then
    say "installing qemu-user-static >= 8 from bookworm-backports (found: ${v:-none})"
    echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
    apt-get update -qq || true
    apt-get install -y -qq -t bookworm-backports qemu-user-static >/dev/null
  fi
}

# Debian packages of a Python 3.11 userspace (runtime libraries only; dpkg -x, no maintainer scripts).
BASE_DEBS="python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 libexpat1 zlib1g libffi8
libssl3 libbz2-1.0 liblzma5 libgcc-s1 libstdc++6 libsqlite3-0 libuuid1 libncursesw6 libtinfo6 libreadline8
libcrypt1 libnsl2 libtirpc3 libdb5.3 libgdbm6 media-types"
# armv7l: numpy and Pillow from Debian (Raspberry Pi OS bookworm ships the same), with their libraries.
ARMHF_DEBS="python3-numpy python3-pil libopenblas0-pthread libopenblas0 libgfortran5 libblas3 liblapack3
libjpeg62-turbo libpng16-16 libtiff6 libwebp7 libwebpmux3 libwebpdemux2 libfreetype6 liblcms2-2 libopenjp2-7
libgomp1 libimagequant0 libraqm0 libxcb1 libzstd1 libdeflate0 libjbig0 liblerc4 libbrotli1 libxau6 libxdmcp6 libbsd0
libmd0 libfribidi0 libharfbuzz0b libglib2.0-0 libgraphite2-3 libpcre2-8-0 libsharpyuv0 libavif15 libdav1d6
libgav1-1 librav1e0 libyuv0 libaom3 libabsl20220623 libsvtav1enc1"

rootfs() {  # $1 debian arch -> path of an unpacked userspace
  local arch=$1 root=$CACHE/root-$1 debs=$CACHE/debs-$1 pkgs=$BASE_DEBS
  [ "$arch" = armhf ] && pkgs="$pkgs $ARMHF_DEBS"
  if [ ! -x "$root/usr/bin/python3.11" ] || [ ! -f "$root/.complete" ]; then
    say "building the $arch userspace in $root"
    dpkg --print-foreign-architectures | grep -qx "$arch" || { dpkg --add-architecture "$arch"; apt-get update -qq || true; }
    rm -rf "$root" "$debs" && mkdir -p "$root" "$debs"
    # one apt-get call for all (a call per package costs seconds each); where one is missing, package by package:
    # a library another release renamed is skipped, and the imports below tell
    local names=() p
    for p in $pkgs; do case $p in media-types) names+=("$p") ;; *) names+=("$p:$arch") ;; esac; done
    (cd "$debs" && { apt-get download -qq "${names[@]}" 2>/dev/null || for p in "${names[@]}"; do
       apt-get download -qq "$p" 2>/dev/null || say "no $p package (skipped)"; done; })
    for d in "$debs"/*.deb; do dpkg -x "$d" "$root"; done
    # dpkg -x runs no maintainer scripts: make the BLAS/LAPACK links update-alternatives would make.
    for lib in blas lapack; do
      for dir in "$root"/usr/lib/*-linux-gnu*/; do
        [ -e "$dir$lib/lib$lib.so.3" ] && ln -sf "$lib/lib$lib.so.3" "$dir/lib$lib.so.3"
      done
    done
    touch "$root/.complete"
  fi
  echo "$root"
}

site() {  # $1 machine -> a folder of unpacked wheels for it
  local machine=$1 dir=$CACHE/site-$1 wheels=$CACHE/wheels-$1
  if [ ! -f "$dir/.complete" ]; then
    say "downloading the $machine wheels the bundle's requirements.txt names"
    rm -rf "$dir" "$wheels" && mkdir -p "$dir" "$wheels"
    if [ "$machine" = aarch64 ]; then
      "$PY" -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp -d "$wheels" \
        --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
        "numpy>=1.23" "pillow>=9" "ai-edge-litert>=2.0"
    else
      "$PY" -m pip download -q --only-binary=:all: --no-deps --python-version 3.11 --implementation cp \
        -d "$wheels" --platform manylinux_2_34_armv7l "tflite-runtime==2.14.0"
    fi
    for w in "$wheels"/*.whl; do "$PY" -m zipfile -e "$w" "$dir"; done
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# The bundle: an export folder, or the shipped model laid out as one.
BUNDLE=${1:-}
WORK=$(mktemp -d)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
if [ -z "$BUNDLE" ]; then
  BUNDLE=$WORK/bundle
  "$PY" - "$BUNDLE" <<'PY'
import shutil, sys
from pathlib import Path
from edgefer.export.bundle import write_bundle
from edgefer.predictor import default_model_path, read_model_meta
out = Path(sys.argv[1]); out.mkdir(parents=True)
shutil.copy(default_model_path(), out / "model_int8.tflite")
write_bundle(out, ["model_int8.tflite"], read_model_meta(out / "model_int8.tflite")["classes"])
PY
fi
MODEL=$(cd "$BUNDLE" && ls model_int8.tflite 2>/dev/null || ls *.tflite | grep -v face_detection | head -1)
say "bundle $BUNDLE, model $MODEL"

# A fixed set of faces (PublicTest of the embedded sample) and one photo.
"$PY" - "$WORK/faces" "$N" <<'PY'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
from edgefer.data.loading import load_dataset
out, n = Path(sys.argv[1]), int(sys.argv[2]); out.mkdir()
test = load_dataset(None).split("PublicTest")
for i in range(min(n, len(test))):
    Image.fromarray(test.images[i]).save(out / f"face_{i:03d}.png")
PY
PHOTO=$HERE/edgefer/assets/astronaut.jpg

run_predictor() {  # $1 output file, then the command prefix: one process (start-up is most of an emulated run)
  local out=$1; shift
  (cd "$BUNDLE" && "$@" edgefer_predictor.py "$MODEL" "$WORK"/faces/*.png "$PHOTO" --json --threads 1 > "$out")
}

say "x86_64 reference run"
run_predictor "$WORK/x86_64" "$PY"
ensure_qemu
SUMMARY=()
for machine in $ARCHES; do
  case $machine in
    aarch64) arch=arm64; qemu=qemu-aarch64-static; extra="" ;;
    armv7l) arch=armhf; qemu=qemu-arm-static; extra="" ;;
    *) echo "unknown architecture $machine; expected aarch64 or armv7l" >&2; exit 2 ;;
  esac
  root=$(rootfs $arch)
  packages=$(site $machine)
  pythonpath=$packages
  [ "$machine" = armv7l ] && pythonpath="$packages:$root/usr/lib/python3/dist-packages"
  say "$machine: running the bundle's predictor under $qemu"
  start=$SECONDS
  run_predictor "$WORK/$machine" "$qemu" -L "$root" -E PYTHONPATH="$pythonpath" "$root/usr/bin/python3.11"
  seconds=$((SECONDS - start))
  result=$("$PY" - "$WORK/x86_64" "$WORK/$machine" "$BUNDLE/$MODEL" "$machine" <<'PY'
import json, sys
from edgefer.predictor import EmotionPredictor
ref, emu, model, machine = sys.argv[1:5]
output = EmotionPredictor(model).model.output  # the model's output tensor: quantization step if int8
step = output["quantization"][0] if output["dtype"].__name__ != "float32" else 1e-4
# aarch64 runs the same runtime as x86 (ai-edge-litert): probabilities must agree within one output step.
# armv7l has only tflite-runtime 2.14, whose kernels differ from LiteRT's (see the header): probabilities within
# ARMV7_STEPS steps, and labels must agree wherever x86's top two are further apart than that.
ARMV7_STEPS = 32
tolerance = step + 1e-6 if machine == "aarch64" else ARMV7_STEPS * step + 1e-6
def records(prefix):
    return [json.loads(line) for line in open(prefix) if line.strip()]
def margin(face):
    top = sorted(face["probabilities"].values())
    return top[-1] - top[-2]
a, b = records(ref), records(emu)
agree, worst, ties = 0, 0.0, []
for x, y in zip(a, b):
    pairs = list(zip(x["faces"], y["faces"]))
    diff = max((abs(f["probabilities"][k] - g["probabilities"][k]) for f, g in pairs for k in f["probabilities"]),
               default=0.0)
    worst = max(worst, diff)
    near_tie = [f["label"] != g["label"] and machine != "aarch64" and margin(f) <= tolerance for f, g in pairs]
    same = len(x["faces"]) == len(y["faces"]) and diff <= tolerance and all(
        (f["label"] == g["label"] or tie) and f.get("box") == g.get("box") for (f, g), tie in zip(pairs, near_tie))
    agree += same
    ties += [f"{x['image'].rsplit('/', 1)[-1]} ({f['label']} / {g['label']}: top two {margin(f) / step:.0f} steps apart "
             f"on x86)" for (f, g), tie in zip(pairs, near_tie) if tie]
    if not same:
        print(f"differs: {x['image']}", file=sys.stderr)
if ties:
    print(f"near-ties, either label is the model's answer: {'; '.join(ties)}", file=sys.stderr)
total = f"{agree}/{len(a)}" if len(a) == len(b) else f"0/{len(a)} (got {len(b)} records)"
print(f"{total}|{worst / step:.0f}|{tolerance / step:.0f}|{len(ties)}")
PY
)
  IFS='|' read -r result worst allowed ties <<< "$result"
  say "$machine: $result agree; largest probability difference $worst output steps, allowed $allowed; $ties near-tie(s) (run took ${seconds}s: emulated, not representative)"
  SUMMARY+=("$machine: $result agree")
done
( IFS=";"; echo "${SUMMARY[*]}" | sed 's/;/; /g' )
