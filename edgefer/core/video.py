"""OpenCV for video files and cameras, imported when asked for and quietly: what `edgefer analyze` and
`edgefer predict --camera` open sources with.

OpenCV is an optional part (the `video` extra): without it, one line says how to install it. OpenCV's own log and
FFmpeg's print to the process's stderr before edgefer can say what went wrong ("moov atom not found", "[ WARN:0@0.007]
global cap_v4l.cpp ..."): their levels are set quiet before OpenCV starts, and `quiet_native` silences what native code
writes around the calls that open a source.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from edgefer.core.extras import install_hint
from edgefer.errors import DataError

# OpenCV's own log and FFmpeg's (through OpenCV) print to the process's stderr before edgefer can say what went wrong
# ("moov atom not found", "[ WARN:0@0.007] global cap_v4l.cpp ..."). Their levels are read from the environment when
# OpenCV starts; a user's own setting wins.
QUIET_OPENCV = {"OPENCV_LOG_LEVEL": "ERROR", "OPENCV_FFMPEG_LOGLEVEL": "-8"}  # -8: AV_LOG_QUIET


@contextmanager
def quiet_native():
    """Silence what native code writes to file descriptor 2 inside the block (OpenCV or FFmpeg opening a source that
    is not there, when cv2 was imported before `opencv()` could set its levels); Python's own errors still surface."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def opencv():
    """cv2, or a one-line error saying how to install it."""
    for name, level in QUIET_OPENCV.items():
        os.environ.setdefault(name, level)
    try:
        import cv2
    except ImportError:
        raise DataError(f"reading videos and cameras needs OpenCV, the 'video' extra: {install_hint('video')}; a folder "
                        f"of frames and 'sample' need nothing more") from None
    return cv2
