"""Which face sizes the shipped BlazeFace short-range finds: detection rate by face side in the detector's view.

Real faces at known sizes: the embedded sample's PublicTest faces and the two public-domain portraits of the photo set
(edgefer.bench.photoset), each scaled so that its face box has a given side in a 512x512 frame (on a face-free part of
those photos), i.e. side x 144 / 512 pixels in the detector's view of that frame (`BlazeFaceDetector.views`: frames
from 512 px are seen at a short side of 144 px). Prints, per side, the share of faces found.

    python benchmarks/detector_face_sizes.py [--sides 24,32,...] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image

from edgefer.bench.frames import matched
from edgefer.bench.photoset import REAL_PHOTOS, place_face
from edgefer.data.sample import SAMPLE_PATH
from edgefer.predictor import BlazeFaceDetector

FRAME = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default="24,32,40,48,56,64,80,96,128,192,256,384,480")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    sides = [int(v) for v in args.sides.split(",")]
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        faces = sample["images"][sample["usage"] == "PublicTest"]
    photos = [(Image.open(spec.path()).convert("RGB"), spec) for spec in REAL_PHOTOS if spec.path() is not None]
    room = photos[0][0].crop(photos[0][1].background).resize((FRAME, FRAME))
    detector = BlazeFaceDetector(num_threads=1)
    (view,) = detector.views(FRAME, FRAME)
    rng = np.random.default_rng(0)
    table = []
    for side in sides:
        found = total = 0
        for face in faces:  # FER2013 faces pasted (a soft oval, as in the photo set's proxy)
            frame = room.copy()
            x, y = (int(v) for v in rng.integers(0, FRAME - side + 1, size=2))
            place_face(frame, face, (x, y, side, side), 0.0)
            found += matched([list(f.box) for f in detector.detect(np.asarray(frame))], [[x, y, side, side]])
            total += 1
        real_found = real_total = 0
        for photo, spec in photos:  # the real portraits, scaled so their face box has this side
            scale = side / max(spec.face[2:])
            scaled = photo.resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))))
            for _ in range(10):
                frame = room.copy()
                fx, fy = round(spec.face[0] * scale), round(spec.face[1] * scale)
                x = int(rng.integers(-fx, max(-fx + 1, FRAME - fx - side)))
                y = int(rng.integers(-fy, max(-fy + 1, FRAME - fy - side)))
                frame.paste(scaled, (x, y))
                box = [max(0, x + fx), max(0, y + fy), side, side]
                real_found += matched([list(f.box) for f in detector.detect(np.asarray(frame))], [box])
                real_total += 1
        table.append({"side_px_in_512_frame": side, "side_px_in_detector_view": side * view.scale,
                      "fer2013_found": found / total, "portraits_found": real_found / real_total})
        print(f"face side {side:4d} px of a {FRAME} px frame ({side * view.scale:5.1f} px in the {view.view_h} px view): "
              f"FER2013 faces {found / total:6.1%} of {total}, portraits {real_found / real_total:6.1%} of {real_total}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(table, f, indent=2)


if __name__ == "__main__":
    main()
