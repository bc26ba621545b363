"""Train several edgefer runs at once on a lent GPU machine (Keras 3 on JAX, no TensorFlow), inside a fixed lease.

A lent machine gives about 15 minutes in all, start-up included, and takes back only 64 MiB of the working tree and
8 files of at most 16 MiB. So the runs are `edgefer train --time-budget` runs (each fits its epochs and cosine decay
to the minutes left before a shared deadline), launched from a plan file as their inputs appear, in the background,
while short calls watch them; the last call collects the finished run folders.

    # here, before the first call: the data (Training rows + 300 PublicTest rows for the run's own test report;
    # the full PublicTest is scored here afterwards with edgefer bench), and the Keras wheels (benchmarks/README.md)
    python research/gpu_session.py pack ../shared/data/fer2013 .gpu/data
    # there (device calls; PYTHONPATH holds the wheels and the checkout):
    python3 research/gpu_session.py setup .gpu/data /tmp/eg                   # data -> /tmp/eg/data/fer2013.npz
    setsid python3 research/gpu_session.py run research/gpu_plan.json /tmp/eg &   # the plan, in the background
    echo $(( $(date +%s) + 600 )) > /tmp/eg/deadline                            # when every run must be done
    python3 research/gpu_session.py status /tmp/eg                            # progress of every run
    python3 research/gpu_session.py collect /tmp/eg $OUT                      # run folders, as few files as fit
    # here, after the last call:
    python research/gpu_session.py unpack DEVICE_FILES /root/edgefer-runs/gpu # run folders with model.keras

A plan (JSON) lists jobs: a name, `edgefer train` arguments (`{work}` is the work folder), the inputs it waits for
(`after`: other jobs, or files under the work folder such as `deadline` or `teachers/ready`) and `max_minutes`. Each
job's `--time-budget` is the smaller of `max_minutes` and the minutes to the deadline less `margin_minutes`.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

TEST_ROWS = 300  # PublicTest rows that travel, so that a run can write its test report; the full set is scored here
SPLIT_BYTES = 15 * 2**20  # files coming back are limited to 16 MiB each


# ---------- here: pack the data ----------
def pack(data_dir: Path, out: Path) -> None:
    pixels = np.frombuffer(lzma.decompress((data_dir / "fer2013_pixels.u8.xz").read_bytes()), np.uint8)
    with np.load(data_dir / "fer2013_meta.npz", allow_pickle=False) as meta:
        labels, usage = meta["labels"], meta["usage"]
    pixels = pixels.reshape(len(labels), 48, 48)
    rows = np.concatenate([np.flatnonzero(usage == "Training"), np.flatnonzero(usage == "PublicTest")[:TEST_ROWS]])
    out.mkdir(parents=True, exist_ok=True)
    (out / "pixels.u8.xz").write_bytes(lzma.compress(pixels[rows].tobytes(), preset=9 | lzma.PRESET_EXTREME))
    np.savez_compressed(out / "meta.npz", labels=labels[rows], usage=usage[rows], row_ids=rows)
    shutil.copy(data_dir / "fer2013new.csv.gz", out / "fer2013new.csv.gz")
    print(f"packed {len(rows):,} rows into {out} ({sum(f.stat().st_size for f in out.iterdir()) / 1e6:.1f} MB)")


# ---------- there: set up, run the plan, report, collect ----------
def setup(carry: Path, work: Path) -> None:
    from edgefer.data.classes import FER2013_CLASSES
    from edgefer.data.dataset import FERDataset, LoadReport
    from edgefer.data.npz_format import save_npz

    (work / "data").mkdir(parents=True, exist_ok=True)
    with np.load(carry / "meta.npz", allow_pickle=False) as meta:
        labels, usage, rows = meta["labels"], meta["usage"], meta["row_ids"]
    images = np.frombuffer(lzma.decompress((carry / "pixels.u8.xz").read_bytes()), np.uint8).reshape(-1, 48, 48)
    dataset = FERDataset(images=images, labels=labels, usage=usage, classes=FER2013_CLASSES, row_ids=rows,
                         report=LoadReport(source="fer2013 (packed for the GPU machine)", format="npz"))
    save_npz(dataset, work / "data" / "fer2013.npz")
    shutil.copy(carry / "fer2013new.csv.gz", work / "data" / "fer2013new.csv.gz")
    print(f"{len(labels):,} faces in {work / 'data'}")


def _ready(work: Path, jobs: dict, needs: list[str]) -> bool:
    return all((work / "runs" / need / "done").exists() if need in jobs else (work / need).exists() for need in needs)


def _minutes_left(work: Path, margin: float) -> float:
    return (int((work / "deadline").read_text()) - time.time()) / 60 - margin


def run(plan_path: Path, work: Path) -> None:
    plan = json.loads(plan_path.read_text())
    jobs, margin = {job["name"]: job for job in plan["jobs"]}, plan.get("margin_minutes", 1.5)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1", "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
           "XLA_PYTHON_CLIENT_MEM_FRACTION": str(plan.get("gpu_memory_fraction", 0.15))}
    (work / "runs").mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    waiting, running = dict(jobs), {}
    while waiting or running:
        for name, job in list(waiting.items()):
            if not (work / "deadline").exists() and "deadline" in job.get("after", []):
                continue
            if _ready(work, jobs, job.get("after", [])):
                minutes = min(job.get("max_minutes", 1e9), _minutes_left(work, margin)) if (work / "deadline").exists() \
                    else job["max_minutes"]
                del waiting[name]
                if minutes < job.get("min_minutes", 1.0):
                    _say(work, f"{name}: skipped, {minutes:.1f} min left")
                    continue
                args = [_expand(a, work) for a in job["args"]]
                command = [sys.executable, "-m", "edgefer.cli", "train", *args, "--out", str(work / "runs" / name),
                           "--time-budget", f"{minutes:.2f}"]
                log = open(work / "logs" / f"{name}.log", "w")
                running[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
                _say(work, f"{name}: started with {minutes:.2f} min: {' '.join(command[3:])}")
        for name, process in list(running.items()):
            if process.poll() is not None:
                del running[name]
                (work / "runs" / name).mkdir(parents=True, exist_ok=True)
                (work / "runs" / name / "done").write_text(str(process.returncode))
                _say(work, f"{name}: ended with exit code {process.returncode}")
        time.sleep(2)
    _say(work, "plan finished")


def _expand(arg: str, work: Path) -> str:
    """`{work}`: the work folder; `{run:NAME}`: the run folder that job NAME wrote (its model.keras, a teacher)."""
    arg = arg.replace("{work}", str(work))
    while "{run:" in arg:
        start = arg.index("{run:")
        end = arg.index("}", start)
        name = arg[start + 5:end]
        found = sorted(p for p in (work / "runs" / name).glob("*/") if (p / "model.keras").exists())
        arg = arg[:start] + str(found[0] if found else work / "runs" / name / "missing") + arg[end + 1:]
    return arg


def _say(work: Path, line: str) -> None:
    with open(work / "session.log", "a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {line}\n")


def status(work: Path) -> None:
    print((work / "session.log").read_text() if (work / "session.log").exists() else "(no session log yet)")
    for log in sorted((work / "logs").glob("*.log")):
        lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
        epochs = [x for x in lines if " - val_accuracy: " in x or "Epoch " in x or "budget" in x]
        print(f"== {log.stem}: {len(lines)} lines")
        print("\n".join([x for x in epochs[-3:] if x not in lines[-4:]] + lines[-4:]))


def collect(work: Path, out: Path) -> None:
    """Every run folder's small files in one archive; each model.keras beside it, in fp16 parts when too large."""
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for path in sorted(work.rglob("*")):
            rel = path.relative_to(work)
            if path.is_file() and path.suffix != ".keras" and "checkpoint" not in rel.parts and rel.parts[0] != "data":
                tar.add(path, arcname=str(rel))
    for model in sorted((work / "runs").glob("*/*/model.keras")):
        name = model.parent.parent.name
        if model.stat().st_size <= SPLIT_BYTES:
            shutil.copy(model, out / f"{name}.keras")
        else:
            _save_fp16_parts(model, out / name)
    print("\n".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(out.iterdir())))


def _save_fp16_parts(model_path: Path, stem: Path) -> None:
    import keras

    weights = keras.saving.load_model(model_path, safe_mode=True).get_weights()
    parts, part, size = [], {}, 0
    for i, w in enumerate(weights):
        w16 = w.astype(np.float16) if w.dtype == np.float32 else w
        if size + w16.nbytes > SPLIT_BYTES and part:
            parts.append(part)
            part, size = {}, 0
        part[f"w{i:04d}"], size = w16, size + w16.nbytes
    parts.append(part)
    for k, p in enumerate(parts):
        np.savez(f"{stem}.fp16.part{k}.npz", **p)


# ---------- here: unpack what came back ----------
def unpack(files: Path, dest: Path) -> None:
    """Run folders under dest, each with its model.keras (fp16 parts rebuilt into the run's own architecture)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(files / "runs.tar.gz") as tar:
        tar.extractall(dest, filter="data")
    for keras_file in sorted(files.glob("*.keras")):
        for run_dir in (dest / "runs" / keras_file.stem).glob("*/"):
            shutil.copy(keras_file, run_dir / "model.keras")
    stems = sorted({p.name.split(".fp16.")[0] for p in files.glob("*.fp16.part*.npz")})
    for stem in stems:
        for run_dir in (dest / "runs" / stem).glob("*/"):
            _rebuild(run_dir, sorted(files.glob(f"{stem}.fp16.part*.npz")))
    print(f"unpacked into {dest}")


def _rebuild(run_dir: Path, parts: list[Path]) -> None:
    from edgefer.core.run_folder import RunRecord
    from edgefer.train.config import TrainConfig
    from edgefer.train.model import build_model

    record = RunRecord.read(run_dir)
    fields = {k: (tuple(v) if k == "dense_units" and v is not None else v) for k, v in record.config.items()}
    fer = build_model(TrainConfig(**fields), len(record.classes), weights="none")
    weights = {}
    for part in parts:
        with np.load(part, allow_pickle=False) as arrays:
            weights.update({k: arrays[k] for k in arrays.files})
    fer.full.set_weights([weights[k].astype(np.float32) if weights[k].dtype == np.float16 else weights[k]
                          for k in sorted(weights)])
    fer.full.save(run_dir / "model.keras")
    print(f"{run_dir / 'model.keras'}: rebuilt from {len(parts)} fp16 part(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb, names in {"pack": ("data_dir", "out"), "setup": ("carry", "work"), "run": ("plan", "work"),
                        "status": ("work",), "collect": ("work", "out"), "unpack": ("files", "dest")}.items():
        p = sub.add_parser(verb)
        for name in names:
            p.add_argument(name, type=Path)
    args = parser.parse_args()
    verbs = {"pack": pack, "setup": setup, "run": run, "status": status, "collect": collect, "unpack": unpack}
    verbs[args.verb](*[v for k, v in vars(args).items() if k != "verb"])


if __name__ == "__main__":
    main()
