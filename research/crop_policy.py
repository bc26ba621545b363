"""Where BlazeFace puts its box on a FER2013-framed face, and which crop around that box gives the classifier faces
framed as in training; with eye alignment measured the same way.

FER2013's 48x48 faces were cut by another detector with its own margin. Here PublicTest faces (of --data, else the
embedded sample's) are placed, enlarged to --side px, on a face-free part of the photo set's portraits (edgefer.bench.
photoset) at a known square; BlazeFace's box is compared with that square (side ratio, centre offset), and the crop
that maps the box back onto it is derived. Then every crop policy is scored end to end on the labelled proxy of the
photo set (FER2013 test faces placed into frames with tilt, blur and noise): detect, crop, classify, compare.

    python research/crop_policy.py [--data ../shared/data/fer2013] [--per-class 40] [--model default]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from edgefer.bench.frames import matched
from edgefer.bench.photoset import REAL_PHOTOS, make_photo_set, place_face
from edgefer.data.loading import load_dataset
from edgefer.predictor import EmotionPredictor, FramePixels, open_image, resize, to_gray


def framing(detector, faces: np.ndarray, side: int, rng) -> dict:
    """Median BlazeFace box against the true square of the pasted face: side ratio and centre offset (of the side)."""
    spec = next(s for s in REAL_PHOTOS if s.path() is not None)
    room = Image.open(spec.path()).convert("RGB").crop(spec.background).resize((3 * side, 3 * side))
    ratios, dx, dy, found = [], [], [], 0
    for face in faces:
        frame = room.copy()
        x, y = (int(v) for v in rng.integers(side // 4, 2 * side - side // 4, size=2))
        place_face(frame, face, (x, y, side, side), 0.0)
        boxes = [f for f in detector.detect(np.asarray(frame)) if matched([list(f.box)], [[x, y, side, side]])]
        if not boxes:
            continue
        found += 1
        bx, by, bw, bh = boxes[0].box
        ratios.append(((bw + bh) / 2) / side)
        dx.append((bx + bw / 2 - (x + side / 2)) / side)
        dy.append((by + bh / 2 - (y + side / 2)) / side)
    return {"faces": len(faces), "found": found, "box_over_square": float(np.median(ratios)),
            "centre_dx": float(np.median(dx)), "centre_dy": float(np.median(dy))}


def crop(pixels: FramePixels, face, margin: float, dy: float, align: bool, size) -> np.ndarray:
    """The square around a box grown by `margin` per side, its centre moved down by dy of the box side, optionally
    turned so that the eyes are level; gray, resized to the model's input."""
    x, y, w, h = face.box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2 + dy * max(w, h)
    array = pixels.array
    if align and len(face.keypoints) >= 2:
        (rx, ry), (lx, ly) = face.keypoints[0], face.keypoints[1]
        angle = math.degrees(math.atan2(ly - ry, lx - rx))
        big = int(side * 1.5)
        region = Image.fromarray(np.ascontiguousarray(array)).crop(
            (int(cx - big / 2), int(cy - big / 2), int(cx + big / 2), int(cy + big / 2)))
        region = region.rotate(angle, Image.Resampling.BILINEAR)
        offset = (big - side) / 2
        region = region.crop((int(offset), int(offset), int(offset + side), int(offset + side)))
        return resize(to_gray(np.asarray(region)), *size)
    region = Image.fromarray(np.ascontiguousarray(array)).crop(
        (int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)))
    return resize(to_gray(np.asarray(region)), *size)


def score(predictor, folder: Path, policies: dict) -> dict:
    truth = json.loads((folder / "faces.json").read_text())["faces"]
    hits = {name: [] for name in policies}
    for name_in_set, boxes in truth.items():
        if not name_in_set.startswith("proxy/"):
            continue
        label = name_in_set.split("/")[1]
        pixels = FramePixels(open_image(folder / name_in_set))
        faces = [f for f in predictor.detect(pixels) if matched([list(f.box)], boxes)]
        for policy, (margin, dy, align) in policies.items():
            if not faces:
                hits[policy].append(False)
                continue
            tensor = predictor._input_from_gray(crop(pixels, faces[0], margin, dy, align, predictor.input_size))
            hits[policy].append(predictor._result(predictor.infer(tensor[None])[0]).label == label)
    return {name: float(np.mean(v)) for name, v in hits.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--side", type=int, default=160)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    dataset = load_dataset(args.data)
    test = dataset.images[dataset.usage == "PublicTest"]
    faces = test[rng.permutation(len(test))[:300]]
    predictor = EmotionPredictor(args.model, num_threads=1)
    box = framing(predictor.detector, faces, args.side, rng)
    # The crop that maps BlazeFace's box back onto FER2013's square: margin per side, centre moved by -dy.
    derived_margin = (1 / box["box_over_square"] - 1) / 2
    print(json.dumps({"framing": box, "derived": {"margin": round(derived_margin, 3), "dy": round(-box["centre_dy"], 3)}}))
    policies = {f"margin {m:.2f}": (m, 0.0, False) for m in (0.0, 0.1, 0.2, 0.3)}
    policies[f"derived (margin {derived_margin:.2f}, dy {-box['centre_dy']:+.2f})"] = (derived_margin, -box["centre_dy"], False)
    policies["margin 0.10 + eyes level"] = (0.1, 0.0, True)
    policies["derived + eyes level"] = (derived_margin, -box["centre_dy"], True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_photo_set(Path(tmp) / "photos", data=args.data, per_class=args.per_class, seed=1)
        results = score(predictor, folder, policies)
    for name, accuracy in results.items():
        print(f"{name:45s} end-to-end accuracy on the proxy: {accuracy:.2%}")


if __name__ == "__main__":
    main()
