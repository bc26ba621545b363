"""Draw predictions on images (boxes and labels) for `edgefer predict --save-annotated`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from edgefer.core.fileio import atomic_path
from edgefer.predictor import Prediction

BOX_COLOR = (255, 196, 0)
TEXT_COLOR = (0, 0, 0)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size default font
        return ImageFont.load_default()


def annotate(image, results: list[Prediction]) -> Image.Image:
    """An RGB copy of `image` (a PIL image or numpy RGB, at its own size: the boxes are in its pixels) with each
    face's number (left to right, as `edgefer predict` prints them), box and '1 Happy 87%' drawn; a whole-image
    result gets a banner."""
    if isinstance(image, Image.Image):
        canvas = image.convert("RGB") if image.mode != "RGB" else image.copy()
    else:
        canvas = Image.fromarray(np.asarray(image).clip(0, 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    font = _font(max(12, min(canvas.size) // 25))
    for number, result in enumerate(results, start=1):
        text = f"{number} {result.label} {result.probability:.0%}" if result.box is not None else \
            f"{result.label} {result.probability:.0%}"
        if result.box is None:
            x, y, w, h = 0, 0, canvas.width, canvas.height
        else:
            x, y, w, h = result.box
            draw.rectangle([x, y, x + w - 1, y + h - 1], outline=BOX_COLOR, width=max(2, min(canvas.size) // 200))
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        label_top = y - (bottom - top) - 4 if result.box is not None and y > bottom - top + 4 else y
        draw.rectangle([x, label_top, x + right - left + 4, label_top + bottom - top + 4], fill=BOX_COLOR)
        draw.text((x + 2, label_top + 2 - (top - y)), text, fill=TEXT_COLOR, font=font)
    return canvas


def save_annotated(image, results: list[Prediction], path: Path) -> Path:
    """Write the annotated image atomically (format from the suffix)."""
    with atomic_path(path) as tmp:
        annotate(image, results).save(tmp, format=Image.registered_extensions().get(path.suffix.lower(), "PNG"))
    return path
