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

The `photo` preset adds what a camera and the face detector do to a face before the classifier sees it: the
detector's box noise (scale and translation jitter of the crop) and head roll (in-plane rotation), as one affine warp
per face; resolution loss (a face of 12-40 px in the photo, upsampled to 48); Gaussian blur; JPEG at quality 20-90;
sensor noise; exposure (gamma) and contrast. FER2013's faces are already gray, and the predictor turns colour crops to
gray with the same luma weights, so there is no colour step. The per-face steps (resolution, blur, JPEG) run through
Pillow's C code, a few seconds per epoch for all faces.
"""

from __future__ import annotations

import io
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
    # Photo knobs (0 = off). Geometry: one affine warp per face, bilinear, edges repeated.
    photo_p: float = 1.0  # share of the faces that go through the photo steps below (the rest keep the plain ones)
    rotate_deg: float = 0.0  # in-plane rotation, uniform in [-rotate_deg, rotate_deg]
    scale: float = 0.0  # crop scale jitter: the face is zoomed by a factor in [1 - scale, 1 + scale]
    # Camera: each with its probability.
    lowres_p: float = 0.0  # resolution loss: down to a side in [lowres_min, 40] px, back up to 48
    lowres_min: int = 12
    blur_p: float = 0.0  # Gaussian blur, radius uniform in [0.4, blur_max] px
    blur_max: float = 1.5
    jpeg_p: float = 0.0  # JPEG round trip at a quality in [jpeg_min, 90]
    jpeg_min: int = 20
    noise_p: float = 0.0  # additive Gaussian noise, sigma uniform in [1, noise_max] grey levels
    noise_max: float = 10.0
    gamma: float = 0.0  # exposure: gamma in [1 / (1 + gamma), 1 + gamma]
    contrast: float = 0.0  # contrast around the face's mean, factor in [1 - contrast, 1 + contrast]

    @property
    def photo(self) -> bool:
        return any((self.rotate_deg, self.scale, self.lowres_p, self.blur_p, self.jpeg_p, self.noise_p, self.gamma,
                    self.contrast))


AUGMENT_PRESETS: dict[str, AugmentSpec | None] = {
    "none": None,
    "light": AugmentSpec(flip_p=0.5, max_shift=3, erase_p=0.0),
    "standard": AugmentSpec(),  # the from-scratch recipe
    "strong": AugmentSpec(flip_p=0.5, max_shift=7, erase_p=0.7, erase_min=8, erase_max=28),
    # What photos and camera frames do to a face, on half the faces (the other half stay as FER2013 framed them, so
    # that accuracy on crops holds), and on every face (photo-all). Measured in docs/history/RESULTS.md.
    "photo": AugmentSpec(flip_p=0.5, max_shift=4, erase_p=0.2, erase_min=8, erase_max=20, photo_p=0.5,
                         rotate_deg=15.0, scale=0.1, lowres_p=0.25, lowres_min=18, blur_p=0.15, blur_max=1.0, jpeg_p=0.25,
                         jpeg_min=30, noise_p=0.25, noise_max=6.0, gamma=0.3, contrast=0.25),
    "photo-all": AugmentSpec(flip_p=0.5, max_shift=4, erase_p=0.2, erase_min=8, erase_max=20, rotate_deg=15.0,
                             scale=0.1, lowres_p=0.25, lowres_min=18, blur_p=0.15, blur_max=1.0, jpeg_p=0.25, jpeg_min=30,
                             noise_p=0.25, noise_max=6.0, gamma=0.3, contrast=0.25),
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


def warp(faces: np.ndarray, rng: np.random.Generator, rotate_deg: float, scale: float, chunk: int = 4096) -> np.ndarray:
    """Rotate each face by its own angle and zoom it by its own factor about the centre (bilinear, edges repeated)."""
    if rotate_deg <= 0 and scale <= 0:
        return faces
    n, h, w = faces.shape
    angle = np.deg2rad(rng.uniform(-rotate_deg, rotate_deg, n)).astype(np.float32)
    zoom = rng.uniform(1 - scale, 1 + scale, n).astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float32) - cy, np.arange(w, dtype=np.float32) - cx, indexing="ij")
    out = np.empty_like(faces)
    for start in range(0, n, chunk):
        part = slice(start, min(start + chunk, n))
        cos, sin = (np.cos(angle[part]) / zoom[part])[:, None, None], (np.sin(angle[part]) / zoom[part])[:, None, None]
        sy = np.clip(cos * yy - sin * xx + cy, 0, h - 1)  # where each output pixel comes from
        sx = np.clip(sin * yy + cos * xx + cx, 0, w - 1)
        y0, x0 = np.minimum(sy.astype(np.int64), h - 2), np.minimum(sx.astype(np.int64), w - 2)
        fy, fx = sy - y0, sx - x0
        src = faces[part].astype(np.float32)
        k = np.arange(len(src))[:, None, None]
        top = src[k, y0, x0] * (1 - fx) + src[k, y0, x0 + 1] * fx
        bottom = src[k, y0 + 1, x0] * (1 - fx) + src[k, y0 + 1, x0 + 1] * fx
        out[part] = np.clip(top * (1 - fy) + bottom * fy + 0.5, 0, 255).astype(np.uint8)
    return out


def camera(faces: np.ndarray, rng: np.random.Generator, spec: AugmentSpec) -> np.ndarray:
    """Resolution loss, blur and JPEG, each face with its own draw (Pillow), then noise, gamma and contrast (numpy)."""
    from PIL import Image, ImageFilter

    n, h, w = faces.shape
    out = faces.copy()
    lowres, blur, jpeg = (rng.random(n) < p for p in (spec.lowres_p, spec.blur_p, spec.jpeg_p))
    sides = rng.integers(spec.lowres_min, 41, n)
    radii = rng.uniform(0.4, max(spec.blur_max, 0.4), n)
    qualities = rng.integers(spec.jpeg_min, 91, n)
    for i in np.flatnonzero(lowres | blur | jpeg):
        image = Image.fromarray(out[i])
        if lowres[i]:
            image = image.resize((int(sides[i]), int(sides[i])), Image.BILINEAR, reducing_gap=None).resize(
                (w, h), Image.BILINEAR)
        if blur[i]:
            image = image.filter(ImageFilter.GaussianBlur(float(radii[i])))
        if jpeg[i]:
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=int(qualities[i]))
            image = Image.open(buffer)
        out[i] = np.asarray(image, np.uint8)
    if spec.noise_p <= 0 and spec.gamma <= 0 and spec.contrast <= 0:
        return out
    x = out.astype(np.float32)
    if spec.gamma > 0:
        g = np.exp(rng.uniform(-np.log1p(spec.gamma), np.log1p(spec.gamma), n)).astype(np.float32)
        x = 255.0 * (x / 255.0) ** g[:, None, None]
    if spec.contrast > 0:
        c = rng.uniform(1 - spec.contrast, 1 + spec.contrast, n).astype(np.float32)[:, None, None]
        mean = x.mean(axis=(1, 2), keepdims=True)
        x = mean + (x - mean) * c
    if spec.noise_p > 0:
        noisy = (rng.random(n) < spec.noise_p)[:, None, None]
        sigma = rng.uniform(1.0, max(spec.noise_max, 1.0), n).astype(np.float32)[:, None, None]
        x = x + noisy * sigma * rng.standard_normal(x.shape, dtype=np.float32)
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


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
    if spec.photo:  # a separate stream, so the presets without photo knobs keep their exact draws
        photo_rng = np.random.default_rng([seed, epoch, 0xF070])
        chosen = np.flatnonzero(photo_rng.random(len(out)) < spec.photo_p)
        out = out.copy()
        out[chosen] = camera(warp(out[chosen], photo_rng, spec.rotate_deg, spec.scale), photo_rng, spec)
    return erase(out, rng, spec.erase_p, spec.erase_min, spec.erase_max)
