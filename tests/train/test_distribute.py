"""--distribute on the CPU with two logical devices, and training on the JAX backend.

Each runs in a subprocess: TensorFlow's logical devices and JAX's device count must be set
before the framework starts, and the Keras backend is fixed at import.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

# Advanced mode: two phases, so the model is recompiled inside the strategy; only the top 10 base layers are
# unfrozen in phase 2, which keeps the traced optimizer step small (with "all", 2-3x the test time).
TRAIN = """
import json, sys
from edgefer.train.config import TrainConfig
from edgefer.train.training import train
r = train(TrainConfig(recipe="finetune", img_size=32, weights="none", epochs=2, batch_size=16, mode=sys.argv[2], unfreeze="10",
                      out=sys.argv[1], distribute=sys.argv[3] == "1"))
run = json.load(open(r.run_dir / "run.json"))
print("RESULT " + json.dumps({"distribution": run["distribution"], "backend": run["backend"],
                              "test_n": r.metrics["test"]["n"], "files": sorted(p.name for p in r.run_dir.iterdir())}))
"""

TWO_TF_CPUS = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
"""


def run_training(tmp_path, mode, distribute, prelude="", env=None):
    script = tmp_path / "train_script.py"
    script.write_text(textwrap.dedent(prelude) + TRAIN)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "runs"), mode, "1" if distribute else "0"],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_mirrored_strategy_over_two_cpu_devices(tmp_path):
    result = run_training(tmp_path, "advanced", True, prelude=TWO_TF_CPUS, env={"KERAS_BACKEND": "tensorflow"})
    dist = result["distribution"]
    assert dist["engine"] == "tf.distribute.MirroredStrategy"
    assert dist["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert dist["global_batch_size"] == 32  # 16 per replica
    assert "model.keras" in result["files"] and result["test_n"] == 140


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_jax_backend_trains_and_distributes(tmp_path):
    env = {"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = run_training(tmp_path, "advanced", True, env=env)
    assert result["backend"] == "jax"
    assert result["distribution"]["engine"] == "keras.distribution.DataParallel"
    assert len(result["distribution"]["devices"]) == 2 and result["distribution"]["global_batch_size"] == 32
    assert "model.keras" in result["files"]
