# Shared by the research scripts that train: sourced, not run.

# train_or_resume OUT ARGS...: the run under OUT finished (kept), interrupted (resumed), killed before its first
# checkpoint (started again: nothing to resume) or absent (started with `edgefer train ARGS... --out OUT`).
train_or_resume() {
  local out=$1; shift
  local run; run=$(ls -d "$out"/mobilenetv2* 2>/dev/null | head -n 1 || true)
  if [ -n "$run" ] && [ ! -f "$run/model.keras" ] && [ ! -f "$run/checkpoint/state.json" ]; then
    rm -rf "$run"; run=""
  fi
  if [ -n "$run" ] && [ -f "$run/checkpoint/state.json" ]; then
    edgefer train --resume "$run"
  elif [ -z "$run" ]; then
    edgefer train "$@" --out "$out"
  fi
}
