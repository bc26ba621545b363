"""Where `edgefer analyze` reads frames: a video file, a folder of frames, a camera, or the built-in sample clip.

Each source yields `Frame`s (index, time in seconds, pixels and their channel order) and says how many frames it
expects (None for a camera). Video files and cameras are read with OpenCV (`pip install 'edgefer[video]'`), whose
frames are BGR and go to the predictor as they are. A video that stops before the frame count its header gives is
reported as truncated (`FrameSource.error`), and what was read up to there is kept.

The sample clip is made in memory from what the package ships: two FER2013 sample faces moving beside the astronaut
of the public-domain photo (edgefer/assets/README.md), each changing expression halfway, 6 s at 15 frames per second,
960x540. It needs no OpenCV.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from edgefer.bench.photoset import place_face
from edgefer.core.fileio import atomic_path
from edgefer.core.video import opencv, quiet_native
from edgefer.data.sample import SAMPLE_PATH
from edgefer.errors import DataError
from edgefer.predictor import IMAGE_SUFFIXES, open_image

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
SAMPLE = "sample"


@dataclass
class Frame:
    index: int
    time_s: float
    pixels: object  # numpy (H, W, 3) or a PIL image
    channels: str  # "rgb" or "bgr" for numpy pixels


class FrameSource:
    """Frames of one source, in order; `expected` frames (None when unknown), `fps`, and `error` after a bad end."""

    kind = "frames"

    def __init__(self, name: str, fps: float, expected: int | None):
        self.name, self.fps, self.expected = name, fps, expected
        self.error: str | None = None
        self.width = self.height = 0

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class VideoSource(FrameSource):
    kind = "video"

    def __init__(self, path: Path | int | str, camera: bool = False):
        cv2 = opencv()
        with quiet_native():
            self.capture = cv2.VideoCapture(path)
            opened = self.capture.isOpened()
        name = f"camera {path}" if camera else str(path)
        if not opened:
            self.capture.release()
            raise DataError(f"{name}: cannot be opened as a {'camera' if camera else 'video'}"
                            f"{'' if camera else ' (missing, unreadable, or a format this OpenCV cannot decode)'}")
        fps = self.capture.get(cv2.CAP_PROP_FPS) or 0.0
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        super().__init__(name, fps if 1.0 <= fps <= 1000.0 else 30.0, None if camera or count <= 0 else count)
        self.kind = "camera" if camera else "video"
        self.width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.camera = camera

    def frames(self) -> Iterator[Frame]:
        index, start = 0, time.perf_counter()
        while True:
            try:
                ok, bgr = self.capture.read()
            except Exception as error:  # noqa: BLE001 - a decoder fault ends the source; what was read is kept
                ok, bgr = False, None
                self.error = f"{self.name}: reading frame {index} failed ({error})"
            if not ok or bgr is None:
                if self.error is None and self.expected is not None and index < self.expected:
                    self.error = (f"{self.name}: the video ends after {index} of the {self.expected} frames its "
                                  f"header announces (truncated or damaged); kept what was read")
                if index == 0 and self.error is None and not self.camera:
                    self.error = f"{self.name}: no frame could be decoded"
                return
            when = time.perf_counter() - start if self.camera else index / self.fps
            yield Frame(index, when, bgr, "bgr")
            index += 1

    def close(self) -> None:
        self.capture.release()


class FolderSource(FrameSource):
    kind = "folder"

    def __init__(self, folder: Path, fps: float):
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.files:
            raise DataError(f"{folder}: no frames here ({', '.join(IMAGE_SUFFIXES)})")
        super().__init__(str(folder), fps, len(self.files))

    def frames(self) -> Iterator[Frame]:
        for index, path in enumerate(self.files):
            image = open_image(path)
            if index == 0:
                self.width, self.height = image.size
            yield Frame(index, index / self.fps, image, "rgb")


# The sample clip: two people pasted on the astronaut photo (whose own face is the third), each with the (sample
# row, label) of their face before and after the change; picked among the embedded sample's PublicTest faces that the
# detector finds at these places with no extra box and that the packaged default reads as their label.
SAMPLE_PEOPLE = (
    {"faces": ((91, "Neutral"), (15, "Happy")), "path": ((0.031, 0.111), (0.0625, 0.556)), "side": 0.37},
    {"faces": ((10, "Angry"), (64, "Surprise")), "path": ((0.771, 0.074), (0.75, 0.556)), "side": 0.333},
)
SAMPLE_PHOTO_FACE = ((328, 82, 185, 186), "Happy")  # the astronaut's own face in the clip (hand-checked)
SAMPLE_SIZE = (960, 540)
SAMPLE_FPS = 15.0
SAMPLE_SECONDS = 6.0


class SampleClip(FrameSource):
    """The built-in clip (see the module docstring); `faces_at(i)` gives each person's true box and label."""

    kind = "sample"

    def __init__(self, seconds: float = SAMPLE_SECONDS):
        super().__init__(SAMPLE, SAMPLE_FPS, int(round(seconds * SAMPLE_FPS)))
        self.width, self.height = SAMPLE_SIZE
        from PIL import Image

        with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
            self._faces = sample["images"][sample["usage"] == "PublicTest"]
        photo = Image.open(SAMPLE_PATH.parent / "astronaut.jpg").convert("RGB")
        self._background = photo.resize((960, 960), Image.Resampling.BICUBIC).crop((0, 60, 960, 600))

    def _phase(self, index: int) -> int:
        """0 before each person's change of expression (halfway through the clip), 1 after."""
        return 0 if index < self.expected / 2 else 1

    def faces_at(self, index: int) -> list[tuple[tuple[int, int, int, int], str]]:
        """(box x, y, w, h, true label) of each person in frame `index`."""
        progress = index / max(1, self.expected - 1)
        out = []
        for person in SAMPLE_PEOPLE:
            (x0, y0), (x1, y1) = person["path"]
            side = int(round(person["side"] * self.height))
            x = int(round((x0 + (x1 - x0) * progress) * self.width))
            y = int(round((y0 + (y1 - y0) * progress) * self.height))
            out.append(((x, y, side, side), person["faces"][self._phase(index)][1]))
        return out + [SAMPLE_PHOTO_FACE]

    def frames(self) -> Iterator[Frame]:
        for index in range(self.expected):
            frame = self._background.copy()
            for person, (box, _) in zip(SAMPLE_PEOPLE, self.faces_at(index)):
                place_face(frame, self._faces[person["faces"][self._phase(index)][0]], box, 0.0)
            yield Frame(index, index / self.fps, np.asarray(frame), "rgb")

    def write(self, path: Path) -> Path:
        """The clip as an mp4 file (needs OpenCV)."""
        return write_video((f.pixels for f in self.frames()), path, self.fps)


def write_video(frames, path: Path, fps: float) -> Path:
    """Frames (RGB numpy) to an mp4 file (OpenCV, mp4v), whole or not at all: for the sample clip as a file."""
    cv2 = opencv()
    path = Path(path)
    with atomic_path(path) as tmp:
        writer = None
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        if writer is not None:
            writer.release()
    return path


def open_source(source: str, fps: float | None = None) -> FrameSource:
    """A video file, a folder of frames, a camera index ("0") or "sample"."""
    if source == SAMPLE:
        return SampleClip()
    if source.isdigit():
        return VideoSource(int(source), camera=True)
    if "://" in source:  # a stream or a file on a server (http, https, rtsp): FFmpeg through OpenCV reads it
        return VideoSource(source)
    path = Path(source)
    if path.is_dir():
        return FolderSource(path, fps or 30.0)
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise DataError(f"{path}: not a video file ({', '.join(VIDEO_SUFFIXES)}); give a video, a folder of "
                            f"frames, a camera index or 'sample'")
        return VideoSource(path)
    raise DataError(f"{source}: no such video file or folder; give a video, a folder of frames, a camera index "
                    f"(0, 1, ...) or 'sample'")
