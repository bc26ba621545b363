"""What should BlazeFace look at? The views of a frame against faces found and time, before and after one-view.

    python research/detector_views.py [--data ../shared/data/fer2013] [--before 361fb34] [--out OUT] [--rounds 2]

Up to commit 361fb34 the detector looked at a frame of 512 px and more three or four times: the whole frame
letterboxed into BlazeFace's 128x128 input, plus overlapping squares of its short side (VGA: 2, 720p: 3), one call
each (about 1.1-1.3 ms on one core of a 2-core EPYC). BlazeFace takes any input size (its output reshapes are
[1, -1, C]), so a large frame can be seen whole, at the squares' resolution or better, in one call on a wider input.
This measures, on the photo set and the frame set of `edgefer bench --photos/--frames sample` (their faces.json
gives every face), per bucket of the frame's short side: true faces found (matched as the benches match them),
detections on no true face, and p50 ms of `detect` per frame, all detectors in one process, interleaved frame by
frame, 1 thread:

- `before`: the detector of the commit given (its predictor.py read from git);
- `now`: the shipped one (frames under 512 px letterboxed into 128x128, thumbnails of at most 96 px into 96x96; from
  512 px one view of short side 144);
- variants of `now`: large frames at short side 128; thumbnails into 128x128 too; every frame under 512 px
  letterboxed into 96 or 64 (the only way to make a 100-199 px photo cheaper than one 128x128 call);
- with `--full-range FILE`: MediaPipe's full-range BlazeFace, every frame letterboxed into its 192x192 input (the
  file is in the `mediapipe` 0.10.14 wheel: `mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgefer.bench.frames import matched, open_frame_set
from edgefer.bench.photos import BUCKETS, bucket_of, open_photo_set
from edgefer.core.run_folder import machine_info
from edgefer.predictor import BlazeFaceDetector, open_image


def detector_at(rev: str):
    """BlazeFaceDetector class of edgefer/predictor.py at a git revision."""
    source = subprocess.run(["git", "show", f"{rev}:edgefer/predictor.py"], check=True, capture_output=True,
                            text=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="predictor-"))
    path = folder / "predictor_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("predictor_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module._HERE = Path(__file__).resolve().parents[1] / "edgefer"  # its BlazeFace file: the packaged one
    return module.BlazeFaceDetector


def variant(**attributes):
    return type("Variant", (BlazeFaceDetector,), attributes)


class FullRangeDetector(BlazeFaceDetector):
    """MediaPipe's BlazeFace full-range (`face_detection_full_range_sparse.tflite`, faces within about 5 m): a fixed
    192x192 input (XNNPACK cannot reshape it), one anchor per cell of a stride-4 grid (48x48 = 2,304), boxes decoded
    as the short-range model's. Every frame is letterboxed whole into 192x192."""

    size = 192
    large_from = 10**9
    thumbnail = 0

    def _runner(self, height: int, width: int) -> tuple:
        interpreter, index, boxes, scores, _ = super()._runner(height, width)
        ys, xs = np.meshgrid((np.arange(height // 4) + 0.5) * 4, (np.arange(width // 4) + 0.5) * 4, indexing="ij")
        return interpreter, index, boxes, scores, np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def measure(photos, detectors: dict, rounds: int) -> list[dict]:
    images = [open_image(p).convert("RGB") for p in photos.files]
    times = {name: [[] for _ in images] for name in detectors}
    found = {name: [0] * len(images) for name in detectors}
    extra = {name: [0] * len(images) for name in detectors}
    for r in range(rounds):
        for i, image in enumerate(images):
            order = list(detectors.items())
            for name, detector in (order if (r + i) % 2 == 0 else order[::-1]):
                start = time.perf_counter()
                faces = detector.detect(image)  # each its own FramePixels
                times[name][i].append((time.perf_counter() - start) * 1e3)
                truth = (photos.truth or {}).get(photos.names[i], [])
                found[name][i] = matched([list(f.box) for f in faces], truth)
                extra[name][i] = len(faces) - found[name][i]
    buckets = [bucket_of(*size) for size in photos.sizes]
    truth_n = [len((photos.truth or {}).get(n, [])) for n in photos.names]
    rows = []
    for bucket, _, _ in BUCKETS:
        idx = [i for i, b in enumerate(buckets) if b == bucket]
        if idx:
            rows.append({"bucket": bucket, "frames": len(idx), "faces": sum(truth_n[i] for i in idx),
                         **{name: {"found": sum(found[name][i] for i in idx), "extra": sum(extra[name][i] for i in idx),
                                   "p50_ms": float(np.median([np.median(times[name][i]) for i in idx]))}
                            for name in detectors}})
    return rows


def table(title: str, rows: list[dict], names: list[str]) -> list[str]:
    lines = [f"### {title}", "", "found (+ on no face) / p50 ms of detect per frame, 1 thread", "",
             "| short side px | frames | faces | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for row in rows:
        lines.append(f"| {row['bucket']} | {row['frames']} | {row['faces']} | " + " | ".join(
            f"{row[n]['found']} (+{row[n]['extra']}) / {row[n]['p50_ms']:.2f}" for n in names) + " |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="FER2013 folder for the photo set's proxy (default: the sample)")
    parser.add_argument("--before", default="361fb34", help="git revision of the detector to compare with")
    parser.add_argument("--out", type=Path, default=Path("bench/detector-views"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--full-range", type=Path, default=None, help="face_detection_full_range_sparse.tflite")
    args = parser.parse_args()
    detectors = {"before": detector_at(args.before)(num_threads=1), "now": BlazeFaceDetector(num_threads=1),
                 "large at 128": variant(large_short=128)(num_threads=1),
                 "thumbnails in 128": variant(thumbnail=0)(num_threads=1),
                 "small in 96": variant(size=96, thumbnail=96)(num_threads=1),
                 "small in 64": variant(size=64, thumbnail=64)(num_threads=1)}
    if args.full_range:
        detectors["full range 192"] = FullRangeDetector(num_threads=1, model_path=args.full_range)
    frame_set = open_frame_set("sample", args.out)
    sets = {"photos": open_photo_set("sample", args.out, args.data, 30),
            "frames": open_photo_set(str(Path(frame_set.files[0]).parent), args.out)}
    results = {name: measure(photos, detectors, args.rounds) for name, photos in sets.items()}
    names = list(detectors)
    machine = machine_info()
    cpu = f"{machine['cpu']} ({', '.join(machine['vector_extensions'])}), {machine['cores']} cores"
    lines = [f"# Detector views ({cpu}; Python {machine['python']})", "",
             f"`python research/detector_views.py --before {args.before} --rounds {args.rounds}"
             + (f" --data {args.data}" if args.data else "")
             + (" --full-range face_detection_full_range_sparse.tflite" if args.full_range else "") + "`", ""]
    for name, rows in results.items():
        lines += table(f"{name} set", rows, names)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "views.json").write_text(json.dumps({"machine": machine, "before": args.before, **results}, indent=1))
    (args.out / "views.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
