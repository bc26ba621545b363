"""Training augmentation in numpy, vectorised over a whole epoch of 48x48 uint8 faces.

Why numpy and not Keras preprocessing layers: the per-batch Keras layers ran in a one-worker
`PyDataset` and were the bottleneck of an epoch (24 s of a GPU epoch that otherwise takes 4-7 s;
see benchmarks/input_path_speed.py for the CPU figures). Doing it once per epoch on the uint8 array
costs well under a second for all 28,709 faces, works the same on every Keras backend, and is
deterministic: epoch e of seed s always gets the same faces, so a resumed run sees what the
uninterrupted one would have.

Operations (the from-scratch recipe): horizontal flip, shift by up to +-N px (edge padding, then a
crop back to 48x48), random erasing (a rectangle filled with uniform noise). Strengths are presets
in `AUGMENT_PRESETS`, chosen with `edgefer train --augment`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefer.errors import ModelError


@dataclass(frozen=True)
class AugmentSpec:
    flip_p: float = 0.5  # probability of a horizontal flip
    max_shift: int = 5  # pixels, each axis, uniform in [-max_shift, max_shift]
    erase_p: float = 0.5  # probability of random erasing
    erase_min: int = 8  # side range of the erased rectangle, pixels
    erase_max: int = 24


AUGMENT_PRESETS: dict[str, AugmentSpec | None] = {
    "none": None,
    "light": AugmentSpec(flip_p=0.5, max_shift=3, erase_p=0.0),
    "standard": AugmentSpec(),  # the from-scratch recipe
    "strong": AugmentSpec(flip_p=0.5, max_shift=7, erase_p=0.7, erase_min=8, erase_max=28),
}


def augment_spec(name: str) -> AugmentSpec | None:

    if name not in AUGMENT_PRESETS:
        raise ModelError(f"--augment {name!r}; expected one of {', '.join(AUGMENT_PRESETS)}")
    return AUGMENT_PRESETS[name]


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of one epoch's augmentation: a pure function of (seed, epoch)."""
    return np.random.default_rng([seed, epoch, 0xA06])


def flip(faces: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    chosen = rng.random(len(faces)) < p
    out = faces.copy()
    out[chosen] = faces[chosen, :, ::-1]
    return out


def shift(faces: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Translate each face by its own (dy, dx) in [-max_shift, max_shift]; edges are repeated."""
    if max_shift <= 0:
        return faces
    n, h, w = faces.shape
    padded = np.pad(faces, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)), mode="edge")
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)[None, :]  # (n, h)
    cols = dx[:, None] + np.arange(w)[None, :]  # (n, w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def erase(faces: np.ndarray, rng: np.random.Generator, p: float, side_min: int, side_max: int) -> np.ndarray:
    """Random erasing: with probability p, a rectangle of sides in [side_min, side_max] becomes noise."""
    if p <= 0:
        return faces
    n, h, w = faces.shape
    chosen = rng.random(n) < p
    eh = rng.integers(side_min, min(side_max, h) + 1, size=n)
    ew = rng.integers(side_min, min(side_max, w) + 1, size=n)
    top = (rng.random(n) * (h - eh + 1)).astype(np.int64)
    left = (rng.random(n) * (w - ew + 1)).astype(np.int64)
    r, c = np.arange(h), np.arange(w)
    in_rows = (r[None, :] >= top[:, None]) & (r[None, :] < (top + eh)[:, None])  # (n, h)
    in_cols = (c[None, :] >= left[:, None]) & (c[None, :] < (left + ew)[:, None])  # (n, w)
    mask = chosen[:, None, None] & in_rows[:, :, None] & in_cols[:, None, :]
    noise = rng.integers(0, 256, size=faces.shape, dtype=np.uint8)
    return np.where(mask, noise, faces)


def augment_epoch(faces: np.ndarray, spec: AugmentSpec | None, seed: int, epoch: int) -> np.ndarray:
    """A new uint8 array (n, 48, 48): `faces` augmented for epoch `epoch` of a run seeded `seed`."""
    faces = np.asarray(faces)
    if faces.ndim == 4 and faces.shape[-1] == 1:
        faces = faces[..., 0]
    if faces.ndim != 3 or faces.dtype != np.uint8:
        raise ValueError(f"augment_epoch expects uint8 faces of shape (n, h, w), got {faces.dtype} {faces.shape}")
    if spec is None:
        return faces.copy()
    rng = epoch_rng(seed, epoch)
    out = flip(faces, rng, spec.flip_p)
    out = shift(out, rng, spec.max_shift)
    return erase(out, rng, spec.erase_p, spec.erase_min, spec.erase_max)
