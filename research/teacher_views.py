"""Does test-time averaging over more views make a teacher stronger? Scored on validation rows only.

    python research/teacher_views.py TEACHER [--data ../shared/data/fer2013] [--labels ferplus] [--split-seed 0]

TEACHER is what `edgefer train --teacher` takes (a run folder, .keras, .tflite). Each view of the validation faces
(identity, mirror, 2-pixel shifts in four directions and their mirrors, a 1.1x centre zoom and its mirror) is scored
alone, then the averages that `edgefer teacher record` could record: none, flip, flip + shifts (10 views), flip + zoom
(4 views), all 12. A Keras teacher with 48x48 input runs as its fp32 TFLite twin, converted once into --cache.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from edgefer.data.loading import load_dataset
from edgefer.data.splits import split_dataset
from edgefer.train.distill import load_teacher

SHIFTS = [(-2, 0), (2, 0), (0, -2), (0, 2)]


def shifted(faces: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(N, 48, 48, 1) faces moved by (dy, dx) pixels, edges repeated."""
    padded = np.pad(faces, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
    return padded[:, 2 + dy:50 + dy, 2 + dx:50 + dx]


def zoomed(faces: np.ndarray, factor: float) -> np.ndarray:
    """The centre 48/factor pixels of each face, resized back to 48 (bilinear, Pillow)."""
    from PIL import Image

    side = int(round(48 / factor))
    top = (48 - side) // 2
    crops = faces[:, top:top + side, top:top + side, 0]
    return np.stack([np.asarray(Image.fromarray(c).resize((48, 48), Image.BILINEAR)) for c in crops])[..., None]


def views_of(faces: np.ndarray) -> dict[str, np.ndarray]:
    mirror = faces[:, :, ::-1]
    views = {"identity": faces, "flip": mirror}
    for dy, dx in SHIFTS:
        views[f"shift {dy:+d},{dx:+d}"] = shifted(faces, dy, dx)
        views[f"shift {dy:+d},{dx:+d} flip"] = shifted(mirror, dy, dx)
    views["zoom 1.1"], views["zoom 1.1 flip"] = zoomed(faces, 1.1), zoomed(mirror, 1.1)
    return views


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("teacher")
    parser.add_argument("--data", default="../shared/data/fer2013")
    parser.add_argument("--labels", default="ferplus")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--cache", type=Path, default=Path(".edgefer-cache/teacher_views"))
    args = parser.parse_args()
    dataset = load_dataset(args.data, labels=args.labels)
    val = split_dataset(dataset, val_fraction=args.val_fraction, seed=args.split_seed).val
    teacher = load_teacher(args.teacher, len(dataset.classes), cache_dir=args.cache)
    start = time.perf_counter()
    probs = {name: teacher.predict(faces) for name, faces in views_of(val.images[..., None]).items()}
    print(f"{len(probs)} views of {len(val):,} validation faces in {time.perf_counter() - start:.0f} s")

    def accuracy(names):
        return float((np.mean([probs[n] for n in names], axis=0).argmax(axis=1) == val.labels).mean())

    for name in probs:
        print(f"  view {name:20s} {accuracy([name]):.2%}")
    shifts = [n for n in probs if n.startswith("shift")]
    for name, names in {"none": ["identity"], "flip": ["identity", "flip"],
                        "flip + shifts (10 views)": ["identity", "flip", *shifts],
                        "flip + zoom (4 views)": ["identity", "flip", "zoom 1.1", "zoom 1.1 flip"],
                        "all (12 views)": list(probs)}.items():
        print(f"average {name:26s} {accuracy(names):.2%}")


if __name__ == "__main__":
    main()
