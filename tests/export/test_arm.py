"""The device bundle on emulated ARM: `benchmarks/arm_check.sh` on three faces and a photo (one predictor call per
architecture) for aarch64 (64-bit Raspberry Pi OS, ai-edge-litert) and armv7l (32-bit, tflite-runtime 2.14), against
the same file on x86-64.

Runs where qemu-user-static (>= 8) and apt-get are available and the userspaces can be built (the script caches
them under ~/.cache/edgefer/arm; .ci/test-parts installs qemu); otherwise skips with the reason.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "arm_check.sh"


def qemu_major() -> int:
    if shutil.which("qemu-aarch64-static") is None:
        return 0
    out = subprocess.run(["qemu-aarch64-static", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"version (\d+)", out)
    return int(match.group(1)) if match else 0


@pytest.mark.slow
def test_bundle_predictor_agrees_on_aarch64_and_armv7l(tmp_path):
    if qemu_major() < 8:
        pytest.skip("qemu-user-static >= 8 not installed (apt-get install -t bookworm-backports qemu-user-static)")
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("building the arm64 userspace needs apt-get as root")
    python = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
    # the userspaces and wheels in the script's own cache, built once: not in the suite's per-test parse cache
    env = {**{k: v for k, v in os.environ.items() if k != "EDGEFER_CACHE_DIR"},
           "PYTHON": str(python if python.exists() else shutil.which("python3"))}
    done = subprocess.run(["bash", str(SCRIPT), "", "3", "aarch64 armv7l"], capture_output=True, text=True, env=env,
                          timeout=1200)
    if done.returncode != 0 and ("apt-get download" in done.stderr or "Could not" in done.stderr):
        pytest.skip(f"arm64 packages could not be fetched: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "aarch64: 4/4 agree; armv7l: 4/4 agree", done.stdout + done.stderr[-2000:]
    assert "aarch64: 4/4 agree; largest probability difference 0 output steps, allowed 1" in done.stderr
    assert "emulated, not representative" in done.stderr
