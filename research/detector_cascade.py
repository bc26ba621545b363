"""Would a cascade make wide frames cheaper? The whole-frame view first, the squares only when it finds no face.

    python research/detector_cascade.py --data ../shared/data/fer2013 [--out OUT] [--rounds 3]

This measured the detector of commit 361fb34 (read from git: research/detector_views.py's `detector_at`); the
shipped one now looks at such frames once, in one wider view (research/detector_views.py).

That detector always looked at a wide frame of 512 px and more three times: whole, and two
squares of its short side (one BlazeFace call is about 1.1 ms on one core of a 2-core EPYC). The cascade stops after
the whole view when that finds a face: cheaper on portraits, but a small face beside a large one is lost. On the photo
set of `edgefer bench --photos sample` (its faces.json gives every face), per bucket of the photo's short side: faces
found (matched to the truth as the photo bench matches them) and p50 ms of `detect` per photo, both detectors in one
process, interleaved photo by photo, 1 thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from edgefer.bench.frames import open_frame_set
from edgefer.bench.photos import open_photo_set
from edgefer.predictor import Face, _clip_box, _weighted_nms

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_views import detector_at, measure  # noqa: E402

BlazeFaceDetector = detector_at("361fb34")
NO_TIMES = sys.modules[BlazeFaceDetector.__module__].NO_TIMES
FramePixels = sys.modules[BlazeFaceDetector.__module__].FramePixels


class CascadeDetector(BlazeFaceDetector):
    def detect(self, image, min_score: float = 0.5, iou: float = 0.3, clock=NO_TIMES) -> list[Face]:
        pixels = image if isinstance(image, FramePixels) else FramePixels(image)
        k = max(1, min(pixels.shape[:2]) // self.size)
        small = pixels.reduced(k)
        candidates = []
        for i, window in enumerate(self.windows(*small.shape[:2], squares=max(pixels.shape[:2]) >= self.squares_from)):
            if i > 0 and len(candidates[0][1]):  # the whole view found a face: no squares
                break
            tensor, scale, pad_x, pad_y = self._letterbox(small, window)
            x, y = window[:2]
            self.interpreter.set_tensor(self._in, tensor[None])
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self._boxes)[0]
            logits = self.interpreter.get_tensor(self._scores)[0, :, 0].astype(np.float64)
            candidates.append(self._candidates(raw, logits, min_score, scale / k, pad_x, pad_y, x * k, y * k))
        boxes, scores, points = (np.concatenate(parts) for parts in zip(*candidates))
        return [Face(_clip_box(*box, pixels.shape), float(score), [tuple(p) for p in keypoints])
                for box, score, keypoints in _weighted_nms(boxes, scores, points, iou)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", type=Path, default=Path("bench/cascade"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", choices=("photos", "frames"), default="photos",
                        help="the photo set (one face a photo) or the frame set (several faces a frame, sizes mixed)")
    args = parser.parse_args()
    if args.set == "photos":
        photos = open_photo_set("sample", args.out, args.data, 30)
    else:
        frame_set = open_frame_set("sample", args.out)
        photos = open_photo_set(str(Path(frame_set.files[0]).parent), args.out)
    detectors = {"shipped": BlazeFaceDetector(num_threads=1), "cascade": CascadeDetector(num_threads=1)}
    rows = []
    print("| short side px | photos | faces there | found: shipped / cascade | p50 ms detect: shipped / cascade |")
    print("|---|---|---|---|---|")
    for measured in measure(photos, detectors, args.rounds):  # interleaved photo by photo, as detector_views does
        row = {"bucket": measured["bucket"], "photos": measured["frames"], "faces": measured["faces"],
               **{f"found_{n}": measured[n]["found"] for n in detectors},
               **{f"p50_ms_{n}": measured[n]["p50_ms"] for n in detectors}}
        rows.append(row)
        print(f"| {row['bucket']} | {row['photos']} | {row['faces']} | {row['found_shipped']} / {row['found_cascade']} | "
              f"{row['p50_ms_shipped']:.2f} / {row['p50_ms_cascade']:.2f} |")
    (args.out / "cascade.json").write_text(json.dumps({"rows": rows}, indent=1))

if __name__ == "__main__":
    main()
