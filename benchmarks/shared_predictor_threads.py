"""One EmotionPredictor shared by a web service's worker threads: throughput with 1, 2 and 4 threads.

Every thread calls the same predictor (each concurrent call runs on an interpreter of its own, made on first need):
`predict_frame` on the photos of a folder (default: the built-in photo set, built into a temporary folder), and
`predict` on the embedded sample's faces. Prints photos/s and faces/s per thread count, and checks that every thread
got the labels one thread gets.

    python benchmarks/shared_predictor_threads.py [--photos DIR] [--threads 1,2,4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def throughput(work, items, threads: int, seconds: float) -> tuple[float, bool]:
    """(calls per second over all threads, every result equal to the one-thread result)."""
    expected = [work(item) for item in items]
    done, same, stop = [0] * threads, [True] * threads, time.perf_counter() + seconds

    def loop(worker: int) -> None:
        i = worker
        while time.perf_counter() < stop:
            item = i % len(items)
            same[worker] &= work(items[item]) == expected[item]
            done[worker] += 1
            i += 1

    pool = [threading.Thread(target=loop, args=(w,)) for w in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(done) / (time.perf_counter() - start), all(same)


def main() -> None:
    from edgefer.bench.photoset import make_photo_set
    from edgefer.core.run_folder import machine_info
    from edgefer.data.sample import SAMPLE_PATH
    from edgefer.predictor import EmotionPredictor, open_image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default=None)
    parser.add_argument("--threads", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.photos) if args.photos else make_photo_set(Path(tmp) / "photos", per_class=10)
        photos = [np.asarray(open_image(p).convert("RGB")) for p in sorted(folder.rglob("*.jpg"))]
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        faces = list(sample["images"][:200])
    predictor = EmotionPredictor(args.model, num_threads=1)
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        frames_s, frames_ok = throughput(lambda p: [r.label for r in predictor.predict_frame(p)], photos, threads,
                                         args.seconds)
        faces_s, faces_ok = throughput(lambda f: predictor.predict(f).label, faces, threads, args.seconds)
        rows.append({"threads": threads, "photos_per_s": round(frames_s, 1), "faces_per_s": round(faces_s, 1),
                     "same_labels_as_one_thread": frames_ok and faces_ok})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"machine": machine_info(), "model": args.model, "photos": len(photos), "rows": rows}))


if __name__ == "__main__":
    main()
