"""A photo set with known faces, built in seconds from what is installed: photos as users have them.

edgefer's other yardsticks are FER2013's 48x48 crops and a frame set of sample faces pasted on one photo. Users
point the predictor at thumbnails, portraits, phone photos and camera frames. `edgefer bench --photos sample`
measures there, on two parts written by `make_photo_set` (both deterministic for a seed):

- `real/`: real photographs of two people, public domain, cut and scaled to the sizes users have: thumbnails with a
  short side of 36-99 px (tight crops, aspect 0.6-1.6), portraits of 100-400 px, phone photos stored sideways with an
  EXIF orientation tag, VGA frames, and 1280x720 frames with a small face in a large frame; a third of them gray,
  JPEG quality 35, 60 or 90. One face each, its box known (turned as EXIF turns the photo, so it is in upright
  pixels). They have no expression label (their sources give none): they score faces found and time.
- `proxy/<Class>/`: a labelled proxy of what a camera does to a face: FER2013 faces (PublicTest, or the embedded
  sample's test faces) placed into larger frames of every size bucket, at random positions, turned in-plane up to
  +-20 degrees, blurred, with sensor noise and JPEG compression, on face-free parts of the real photos. The face's
  FER2013 label is the folder; detect, crop, classify and compare.

The sources (provenance and licence, also in the set's README.md):
- `edgefer/assets/astronaut.jpg`: Eileen Collins, NASA photograph, public domain (edgefer/assets/README.md);
- matplotlib's `mpl-data/sample_data/grace_hopper.jpg`: Grace Hopper, U.S. Navy photograph, public domain (used
  where matplotlib is installed: `edgefer[train]`);
- FER2013 faces: the embedded sample (edgefer/assets/README.md) or `--data`'s PublicTest rows.

`faces.json` at the set's root lists every photo's face boxes (x, y, w, h, upright pixels) by relative path.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgefer.bench.frameset import TRUTH_FILE
from edgefer.core.fileio import atomic_path, write_json, write_text
from edgefer.data.loading import load_dataset
from edgefer.data.sample import SAMPLE_PATH

ASSETS = SAMPLE_PATH.parent
JPEG_QUALITIES = (35, 60, 90)
GRAY_SHARE = 1 / 3
MAX_TILT = 20.0  # degrees of in-plane rotation of the proxy's faces


@dataclass(frozen=True)
class RealPhoto:
    name: str
    face: tuple[int, int, int, int]  # x, y, w, h in the photo (hand-checked)
    background: tuple[int, int, int, int]  # x0, y0, x1, y1 of a part with no face (for the proxy and wide frames)
    source: str
    licence: str

    def path(self) -> Path | None:
        if self.name == "astronaut":
            return ASSETS / "astronaut.jpg"
        try:
            import matplotlib
        except ImportError:
            return None
        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        return path if path.is_file() else None


REAL_PHOTOS = (
    RealPhoto("astronaut", (175, 72, 100, 96), (0, 300, 512, 512),
              "edgefer/assets/astronaut.jpg: Eileen Collins, NASA photograph (via scikit-image's data)",
              "public domain"),
    RealPhoto("grace_hopper", (170, 146, 194, 194), (0, 390, 512, 600),
              "matplotlib mpl-data/sample_data/grace_hopper.jpg: Grace Hopper, U.S. Navy photograph",
              "public domain"),
)


@dataclass(frozen=True)
class PhotoKind:
    """How a real photo is cut into one users' photo: its short side and how much of it the face fills."""

    name: str
    per_photo: int
    short_side: tuple[int, int]  # [low, high) px of the photo's short side
    face_share: tuple[float, float]  # the face's side over the photo's short side


PHOTO_KINDS = (
    PhotoKind("thumb", 14, (36, 100), (0.8, 1.7)),
    PhotoKind("portrait", 14, (100, 400), (0.3, 0.75)),
    PhotoKind("phone", 5, (300, 420), (0.3, 0.6)),
    PhotoKind("vga", 5, (480, 481), (0.2, 0.5)),
    PhotoKind("hd", 5, (720, 721), (0.08, 0.25)),
)
# The proxy's frames: the same buckets, the face's side over the frame's short side.
PROXY_KINDS = (
    PhotoKind("thumb", 3, (40, 100), (0.6, 0.85)),
    PhotoKind("portrait", 4, (100, 400), (0.3, 0.7)),
    PhotoKind("vga", 2, (480, 481), (0.2, 0.45)),
    PhotoKind("hd", 1, (720, 721), (0.12, 0.3)),
)
ASPECTS = {"vga": 640 / 480, "hd": 1280 / 720}


def _image_module():
    from PIL import Image

    return Image


def _finish(image, rng: np.random.Generator):
    """A third gray; returned with a JPEG quality."""
    if rng.random() < GRAY_SHARE:
        image = image.convert("L")
    return image, int(rng.choice(JPEG_QUALITIES))


def _save_jpeg(image, path: Path, quality: int, exif: bytes | None = None) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, **({"exif": exif} if exif else {}))
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def _cut(photo, face, kind: PhotoKind, rng: np.random.Generator):
    """A crop of `photo` around its face box, scaled to the kind's size: (image, face box in it)."""
    Image = _image_module()
    x, y, w, h = face
    side = max(w, h)
    short = int(rng.integers(*kind.short_side))
    share = rng.uniform(*kind.face_share)
    aspect = ASPECTS.get(kind.name, rng.uniform(0.6, 1.6))  # width / height
    crop_short = side / share  # in photo pixels
    cw, ch = (crop_short * aspect, crop_short) if aspect >= 1 else (crop_short, crop_short / aspect)
    # The face anywhere inside the crop, mostly whole: its centre within the middle part.
    cx = x + w / 2 + rng.uniform(-0.5, 0.5) * max(0.0, cw - side) * 0.8
    cy = y + h / 2 + rng.uniform(-0.5, 0.5) * max(0.0, ch - side) * 0.8
    x0, y0 = cx - cw / 2, cy - ch / 2
    scale = short / crop_short
    out_w, out_h = max(1, round(cw * scale)), max(1, round(ch * scale))
    # The crop may leave the photo: those parts are filled from a blurred, enlarged copy (a wider scene).
    fill = photo.resize((out_w, out_h), Image.Resampling.BILINEAR)
    canvas = fill.filter(_blur(max(out_w, out_h) / 20))
    part = photo.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch))).resize((out_w, out_h),
                                                                                    Image.Resampling.LANCZOS)
    inside = (max(0, -x0) * scale, max(0, -y0) * scale,
              (min(photo.width, x0 + cw) - x0) * scale, (min(photo.height, y0 + ch) - y0) * scale)
    mask = Image.new("L", (out_w, out_h), 0)
    mask.paste(255, tuple(int(round(v)) for v in inside))
    canvas.paste(part, (0, 0), mask)
    truth = [round((x - x0) * scale), round((y - y0) * scale), round(w * scale), round(h * scale)]
    return canvas, _clip(truth, out_w, out_h)


def _blur(radius: float):
    from PIL import ImageFilter

    return ImageFilter.GaussianBlur(radius)


def _clip(box, width: int, height: int) -> list[int]:
    x, y, w, h = box
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    return [int(x0), int(y0), int(max(1, x1 - x0)), int(max(1, y1 - y0))]


# EXIF orientation -> how the stored pixels are turned from upright (the inverse of what a viewer does).
_STORED = {6: "ROTATE_90", 8: "ROTATE_270", 3: "ROTATE_180"}


def _stored_sideways(image, orientation: int):
    """The upright image stored as a phone does (pixels turned, EXIF orientation set); the box stays upright."""
    Image = _image_module()
    stored = image.transpose(getattr(Image.Transpose, _STORED[orientation]))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return stored, exif.tobytes()


def _hd_frame(photo, spec: RealPhoto, kind: PhotoKind, rng: np.random.Generator):
    """A 1280x720 frame: the face-free part of a photo as the room, the photo's person small in it."""
    Image = _image_module()
    room = photo.crop(spec.background).resize((1280, 720), Image.Resampling.BILINEAR).filter(_blur(3))
    share = rng.uniform(*kind.face_share)
    scale = 720 * share / max(spec.face[2:])
    person = photo.resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))),
                          Image.Resampling.LANCZOS)
    left = int(rng.integers(0, max(1, 1280 - person.width)))
    top = int(rng.integers(0, max(1, 720 - person.height)))
    room.paste(person, (left, top))
    x, y, w, h = spec.face
    return room, _clip([round(x * scale) + left, round(y * scale) + top, round(w * scale), round(h * scale)], 1280, 720)


def _real_photos(folder: Path, rng: np.random.Generator, truth: dict, provenance: list[str]) -> None:
    Image = _image_module()
    for spec in REAL_PHOTOS:
        path = spec.path()
        if path is None:
            continue
        photo = Image.open(path).convert("RGB")
        provenance.append(f"- `real/{spec.name}_*.jpg`: {spec.source}; {spec.licence}.")
        for kind in PHOTO_KINDS:
            for i in range(kind.per_photo):
                if kind.name == "hd":
                    image, box = _hd_frame(photo, spec, kind, rng)
                else:
                    image, box = _cut(photo, spec.face, kind, rng)
                image, quality = _finish(image, rng)
                exif = None
                if kind.name == "phone":
                    image, exif = _stored_sideways(image, int(rng.choice(list(_STORED))))
                name = f"real/{spec.name}_{kind.name}_{i:02d}.jpg"
                _save_jpeg(image, folder / name, quality, exif)
                truth[name] = [box]


def _proxy_faces(data, per_class: int, seed: int):
    """(faces, labels, classes, where from): PublicTest faces of `data`, else the embedded sample's."""
    dataset = load_dataset(data)
    rows = np.flatnonzero(dataset.usage == "PublicTest")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(len(dataset.classes)):
        of_class = rows[dataset.labels[rows] == label]
        chosen.extend(rng.permutation(of_class)[:per_class].tolist())
    chosen = np.sort(np.array(chosen, dtype=np.int64))
    origin = "the embedded sample's PublicTest faces" if data is None else f"PublicTest faces of {data}"
    return dataset.images[chosen], dataset.labels[chosen], dataset.classes, origin


def place_face(frame, face: np.ndarray, box, tilt: float) -> None:
    """Paste a gray face into `frame` at box (x, y, side, side), turned by `tilt` degrees, with a soft oval edge."""
    from PIL import ImageDraw

    Image = _image_module()
    x, y, side, _ = box
    tile = Image.fromarray(face).resize((side, side), Image.Resampling.BICUBIC).convert(frame.mode)
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).ellipse((side * 0.02, 0, side * 0.98, side - 1), fill=255)
    mask = mask.filter(_blur(side / 25))
    if tilt:
        tile = tile.rotate(tilt, Image.Resampling.BICUBIC, expand=True)
        mask = mask.rotate(tilt, Image.Resampling.BICUBIC, expand=True)
    frame.paste(tile, (x + (side - tile.width) // 2, y + (side - tile.height) // 2), mask)


def _camera(image, rng: np.random.Generator):
    """What a camera adds: some blur, sensor noise."""
    Image = _image_module()
    radius = rng.uniform(0.0, 1.2) * max(image.size) / 400
    if radius > 0.3:
        image = image.filter(_blur(radius))
    sigma = rng.uniform(0.0, 6.0)
    if sigma > 0.5:
        pixels = np.asarray(image, dtype=np.float32)
        pixels = pixels + rng.normal(0.0, sigma, pixels.shape)
        image = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), image.mode)
    return image


def _proxy(folder: Path, data, per_class: int, rng: np.random.Generator, truth: dict, seed: int) -> str:
    Image = _image_module()
    faces, labels, classes, origin = _proxy_faces(data, per_class, seed)
    rooms = [Image.open(spec.path()).convert("RGB").crop(spec.background)
             for spec in REAL_PHOTOS if spec.path() is not None]
    weights = np.array([k.per_photo for k in PROXY_KINDS], dtype=float)
    for i, (face, label) in enumerate(zip(faces, labels)):
        kind = PROXY_KINDS[int(rng.choice(len(PROXY_KINDS), p=weights / weights.sum()))]
        short = int(rng.integers(*kind.short_side))
        aspect = ASPECTS.get(kind.name, rng.uniform(0.75, 1.35))
        width, height = (round(short * aspect), short) if aspect >= 1 else (short, round(short / aspect))
        room = rooms[int(rng.integers(len(rooms)))]
        frame = room.resize((width, height), Image.Resampling.BILINEAR, box=_room_part(room, width / height, rng))
        side = max(12, round(short * rng.uniform(*kind.face_share)))
        x = int(rng.integers(0, max(1, width - side + 1)))
        y = int(rng.integers(0, max(1, height - side + 1)))
        place_face(frame, face, (x, y, side, side), float(rng.uniform(-MAX_TILT, MAX_TILT)))
        image, quality = _finish(_camera(frame, rng), rng)
        name = f"proxy/{classes[int(label)]}/{i:04d}.jpg"
        _save_jpeg(image, folder / name, quality)
        truth[name] = [_clip([x, y, side, side], width, height)]
    return origin


def _room_part(room, aspect: float, rng: np.random.Generator):
    """A random part of the face-free room with the frame's aspect (width / height)."""
    w, h = room.size
    cw, ch = (w, w / aspect) if w / h < aspect else (h * aspect, h)
    cw, ch = cw * rng.uniform(0.6, 1.0), ch * rng.uniform(0.6, 1.0)
    cw, ch = min(cw, w), min(ch, h)
    x0, y0 = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
    return (x0, y0, x0 + cw, y0 + ch)


def make_photo_set(folder: str | Path, data=None, per_class: int = 20, seed: int = 0) -> Path:
    """Write the real photos and the labelled proxy (`per_class` faces of each class) with faces.json and a README
    into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "proxy").is_dir() and (folder / TRUTH_FILE).is_file():  # a set built before (maybe at another size)
        shutil.rmtree(folder / "proxy")
    rng = np.random.default_rng(seed)
    truth: dict[str, list[list[int]]] = {}
    provenance: list[str] = []
    _real_photos(folder, rng, truth, provenance)
    origin = _proxy(folder, data, per_class, rng, truth, seed)
    provenance.append(f"- `proxy/<Class>/*.jpg`: {origin} (FER2013, Goodfellow et al. 2013; edgefer/assets/README.md), "
                      f"placed on face-free parts of the photos above; the class folder is the face's FER2013 label.")
    write_text(folder / "README.md", "\n".join([
        "# edgefer photo set (built by edgefer.bench.photoset; do not edit)", "",
        f"Seed {seed}. `{TRUTH_FILE}`: every photo's face boxes (x, y, w, h) in upright pixels. Sources:", "",
        *provenance, ""]))
    write_json(folder / TRUTH_FILE, {"about": "face boxes (x, y, w, h) per photo, upright, from "
                                              "edgefer.bench.photoset", "seed": seed, "faces": truth})
    return folder
