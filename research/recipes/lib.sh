# Shared by the research scripts that train: sourced, not run.

# train_or_resume OUT ARGS...: the run under OUT finished (kept), interrupted (resumed), killed before its first
# checkpoint (started again: nothing to resume) or absent (started with `edgefer train ARGS... --out OUT`).
# run_in OUT: the run folder `edgefer train --out OUT` made (one per OUT here), empty when there is none.
run_in() {
  ls -d "$1"/*/ 2>/dev/null | head -n 1 | sed 's:/$::' || true
}

train_or_resume() {
  local out=$1; shift
  local run; run=$(run_in "$out")
  if [ -n "$run" ] && [ ! -f "$run/model.keras" ] && [ ! -f "$run/checkpoint/state.json" ]; then
    rm -rf "$run"; run=""
  fi
  if [ -n "$run" ] && [ -f "$run/checkpoint/state.json" ]; then
    edgefer train --resume "$run"
  elif [ -z "$run" ]; then
    edgefer train "$@" --out "$out"
  fi
}
