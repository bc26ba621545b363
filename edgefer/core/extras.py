"""Which optional parts a command needs, checked before it does anything (no output folder, no traceback).

edgefer installs light (numpy, Pillow, a TFLite runtime: enough to predict). Training, export and the benchmark need
the `train` extra; videos and cameras the `video` extra. A command that needs what is missing says so in one line,
with the command that installs it, before it writes anything.
"""

from __future__ import annotations

import importlib.util

from edgefer.errors import EdgeferError

# extra -> the modules it brings that commands import
EXTRAS = {
    "train": ("keras", "tensorflow", "tf2onnx", "onnx", "onnxruntime", "matplotlib"),
    "video": ("cv2", "matplotlib"),
    "scale": ("ray",),
}


class MissingExtra(EdgeferError):
    """A command needs an optional part that is not installed."""


def install_hint(extra: str) -> str:
    return (f"pip install -e '.[{extra}]' in an edgefer checkout (or pip install 'edgefer-VERSION-py3-none-any.whl"
            f"[{extra}]' from a built wheel)")


def missing(modules) -> list[str]:
    """The modules of `modules` that cannot be imported here (found without importing them)."""
    gone = []
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                gone.append(name)
        except (ImportError, ValueError):
            gone.append(name)
    return gone


def require(command: str, extra: str, modules=None) -> None:
    """Raise MissingExtra naming `command`, what is missing and how to install it, unless all of `modules` (default:
    the whole extra) import."""
    gone = missing(modules if modules is not None else EXTRAS[extra])
    if gone:
        raise MissingExtra(f"edgefer {command} needs the '{extra}' extra ({', '.join(gone)} not installed): "
                           f"{install_hint(extra)}")
