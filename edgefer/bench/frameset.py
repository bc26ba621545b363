"""A frame set with known faces, built offline: real FER2013 faces composited onto a real photo.

`edgefer bench --frames` times whole frames (decode, find faces, crop, classify). Its numbers must come from
real pixels, and counting "faces found" needs to know which faces are there. This module makes such a set
from what ships in the package: the embedded sample's faces (FER2013, 48x48 gray) enlarged and pasted with
a soft elliptical edge onto crops of the public-domain astronaut photo (edgefer/assets/README.md), whose own
face is annotated too. Three frame kinds, as users meet them:

- `portrait` 256x256: one face filling about 55-80% of the frame (a cropped profile photo);
- `vga` 640x480: 2 pasted faces of 120-220 px plus the astronaut's, as a webcam sees people at 0.5-1.5 m;
- `hd` 1280x720: 3 pasted faces of 180-330 px plus the astronaut's.

Faces never overlap; the photo's face counts where at least 60% of it is in the frame. `faces.json` beside the JPEGs lists every face's box (x, y, w, h) per file: the truth
that `edgefer bench --frames` scores detections against. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgefer.core.fileio import atomic_path, write_json
from edgefer.data.sample import SAMPLE_PATH

BACKGROUND = SAMPLE_PATH.parent / "astronaut.jpg"
BACKGROUND_FACE = (175, 72, 100, 96)  # x, y, w, h of Eileen Collins's face in the 512x512 photo (hand-annotated)
TRUTH_FILE = "faces.json"
MIN_VISIBLE = 0.6  # the photo's face counts as there when this share of it is in the frame


@dataclass(frozen=True)
class FrameKind:
    name: str
    size: tuple[int, int]  # width, height
    pasted: int  # sample faces pasted onto the frame
    face_sides: tuple[int, int]  # their side in pixels, [low, high)
    background_face: bool  # the frame shows the photo's own face


FRAME_KINDS = {
    kind.name: kind
    for kind in (
        FrameKind("portrait", (256, 256), 1, (140, 205), False),
        FrameKind("vga", (640, 480), 2, (120, 220), True),
        FrameKind("hd", (1280, 720), 3, (180, 330), True),
    )
}


def _overlaps(a, b, gap: int = 8) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return not (ax + aw + gap <= bx or bx + bw + gap <= ax or ay + ah + gap <= by or by + bh + gap <= ay)


def _background(kind: FrameKind, rng: np.random.Generator):
    """(RGB PIL image of the frame's size, the photo's face box in it or None)."""
    from PIL import Image

    photo = Image.open(BACKGROUND).convert("RGB")
    width, height = kind.size
    if not kind.background_face:  # portraits: the photo's lower part (suit, flag, shuttle), no face
        photo = photo.crop((0, 256, 512, 512))
    scale = max(width / photo.width, height / photo.height) * rng.uniform(1.0, 1.15)
    scaled = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.BICUBIC)
    left = int(rng.integers(0, scaled.width - width + 1))
    top = int(rng.integers(0, scaled.height - height + 1))
    frame = scaled.crop((left, top, left + width, top + height))
    if not kind.background_face:
        return frame, None
    x, y, w, h = (round(v * scale) for v in BACKGROUND_FACE)
    x0, y0 = max(x - left, 0), max(y - top, 0)
    x1, y1 = min(x - left + w, width), min(y - top + h, height)
    visible = max(0, x1 - x0) * max(0, y1 - y0) / (w * h)
    # A face mostly in view is a face a detector should find (its visible part is the truth); a sliver is not.
    return frame, (x0, y0, x1 - x0, y1 - y0) if visible >= MIN_VISIBLE else None


def _paste_face(frame, face: np.ndarray, box) -> None:
    from PIL import Image, ImageDraw, ImageFilter

    x, y, side, _ = box
    tile = Image.fromarray(face).resize((side, side), Image.Resampling.BICUBIC).convert("RGB")
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).ellipse((side * 0.02, 0, side * 0.98, side - 1), fill=255)
    frame.paste(tile, (x, y), mask.filter(ImageFilter.GaussianBlur(side / 25)))


def make_frame(kind: FrameKind, faces: np.ndarray, rng: np.random.Generator):
    """(RGB PIL frame, list of face boxes in it)."""
    frame, own = _background(kind, rng)
    boxes = [own] if own is not None else []
    width, height = kind.size
    for _ in range(kind.pasted):
        for _attempt in range(200):
            side = int(rng.integers(*kind.face_sides))
            box = (int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1)), side, side)
            if not any(_overlaps(box, other) for other in boxes):
                break
        else:
            continue  # no room left: fewer faces in this frame
        _paste_face(frame, faces[int(rng.integers(len(faces)))], box)
        boxes.append(box)
    return frame, boxes


def make_frame_set(folder: str | Path, per_kind: int = 20, kinds=tuple(FRAME_KINDS), seed: int = 0) -> Path:
    """Write `per_kind` JPEG frames of each kind and faces.json into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        faces = sample["images"]
    rng = np.random.default_rng(seed)
    truth = {}
    for name in kinds:
        for i in range(per_kind):
            frame, boxes = make_frame(FRAME_KINDS[name], faces, rng)
            file = f"{name}_{i:03d}.jpg"
            with atomic_path(folder / file) as tmp:
                frame.save(tmp, format="JPEG", quality=90)
            truth[file] = [list(box) for box in boxes]
    write_json(folder / TRUTH_FILE, {"about": "face boxes (x, y, w, h) per frame, from edgefer.bench.frameset",
                                     "seed": seed, "faces": truth})
    return folder
