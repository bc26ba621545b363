"""Do the exported .tflite files load and agree in every runtime the device predictor supports?

Runs each artifact in this environment's LiteRT (ai-edge-litert) and, in a subprocess, in a second
Python environment that has tflite-runtime 2.14 (its last release; needs numpy<2, and must not
share a process with TensorFlow). Make that environment once with:

    python3.11 -m venv /tmp/tfl214 && /tmp/tfl214/bin/pip install "tflite-runtime==2.14.0" "numpy<2" pillow rich typer \\
        && /tmp/tfl214/bin/pip install --no-deps -e .

then:

    python benchmarks/runtime_compat.py EXPORT_DIR --other-python /tmp/tfl214/bin/python [--data PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

OTHER = """
import sys, numpy as np
from edgefer.core.backends import TFLiteRunner
from edgefer.core.backends import runtime_version
faces = np.load(sys.argv[1], allow_pickle=False)
out = {}
for path in sys.argv[3:]:
    try:
        out[path] = TFLiteRunner(path, runtime="tflite-runtime").predict(faces)
    except Exception as error:
        print(f"LOADFAIL {path}: {error}")
np.savez(sys.argv[2], **{str(i): out[p] for i, p in enumerate(sys.argv[3:]) if p in out})
print("VERSION", runtime_version("tflite-runtime"))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--other-python", required=True)
    parser.add_argument("--data", default=None, help="faces to compare on (default: embedded sample's test faces)")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    from edgefer.core.backends import TFLiteRunner, runtime_version
    from edgefer.data.loading import load_dataset

    test = load_dataset(args.data).split("PublicTest")
    faces = test.images[: args.n][..., None]
    paths = sorted(str(p) for p in args.export.glob("*.tflite"))
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "faces.npy", faces)
        proc = subprocess.run([args.other_python, "-c", OTHER, str(Path(tmp) / "faces.npy"), str(Path(tmp) / "o.npz"),
                               *paths], capture_output=True, text=True)
        if proc.returncode:
            sys.exit(proc.stderr[-2000:])
        with np.load(Path(tmp) / "o.npz", allow_pickle=False) as other:
            other_probs = {paths[int(k)]: other[k] for k in other.files}
    version = next(s.split()[1] for s in proc.stdout.splitlines() if s.startswith("VERSION"))
    print(f"{len(faces)} faces; ai-edge-litert {runtime_version('ai-edge-litert')} vs tflite-runtime {version}")
    for line in proc.stdout.splitlines():
        if line.startswith("LOADFAIL"):
            print(line)
    print(f"{'artifact':24s} {'loads in 2.14':>13s} {'top-1 agree':>12s} {'max |diff|':>11s}")
    for path in paths:
        litert = TFLiteRunner(path).predict(faces)
        if path not in other_probs:
            print(f"{Path(path).name:24s} {'NO':>13s}")
            continue
        agree = (litert.argmax(1) == other_probs[path].argmax(1)).mean()
        diff = np.abs(litert - other_probs[path]).max()
        print(f"{Path(path).name:24s} {'yes':>13s} {agree:12.2%} {diff:11.5f}")


if __name__ == "__main__":
    main()
