"""Find a TFLite interpreter: ai_edge_litert first, then tflite_runtime, then tensorflow.lite.

Kept free of edgefer imports so the device predictor can use it when copied alone.
"""

from __future__ import annotations


def _ai_edge_litert():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter, "ai-edge-litert"


def _tflite_runtime():
    from tflite_runtime.interpreter import Interpreter

    return Interpreter, "tflite-runtime"


def _tensorflow():
    import tensorflow as tf

    return tf.lite.Interpreter, "tensorflow"


INTERPRETERS = {"ai-edge-litert": _ai_edge_litert, "tflite-runtime": _tflite_runtime, "tensorflow": _tensorflow}


def runtime_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in {"tensorflow": ("tensorflow-cpu", "tensorflow")}.get(name, (name,)):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"


def find_interpreter(prefer: str | None = None):
    """(Interpreter class, runtime name); `prefer` names one of INTERPRETERS to use only that one."""
    order = [prefer] if prefer else list(INTERPRETERS)
    errors = []
    for name in order:
        try:
            return INTERPRETERS[name]()
        except ImportError as error:
            errors.append(f"{name}: {error}")
    raise ImportError(
        "no TFLite runtime found; install one: pip install ai-edge-litert (or tflite-runtime on 32-bit ARM). "
        + "; ".join(errors)
    )


def load_interpreter(path: str, num_threads: int | None = None, prefer: str | None = None):
    """(interpreter with tensors allocated, runtime name)."""
    cls, name = find_interpreter(prefer)
    interpreter = cls(model_path=str(path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter, name


__all__ = ["find_interpreter", "load_interpreter", "runtime_version", "INTERPRETERS"]
