"""Find a TFLite interpreter: ai_edge_litert first, then tflite_runtime, then tensorflow.lite.

The search itself lives in `edgefer.predictor` (which must work when copied alone to a device);
this module adds what only the desktop side needs: the runtime's installed version for reports.
"""

from __future__ import annotations

from edgefer.predictor import INTERPRETERS, find_interpreter, load_interpreter


def runtime_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in {"tensorflow": ("tensorflow-cpu", "tensorflow")}.get(name, (name,)):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"


__all__ = ["find_interpreter", "load_interpreter", "runtime_version", "INTERPRETERS"]
