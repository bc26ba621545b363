"""Long runs stay flat: memory (RSS) and time per item at the start, the middle and the end of a long loop.

    python benchmarks/long_run.py [--frames 10000] [--faces 100000] [--model default] [--threads 1]

A camera loop or a batch over 100,000 photos must neither grow in memory nor slow down. This runs
`EmotionPredictor.predict_frame` over FRAMES frames (the built-in frame set of `edgefer bench --frames sample`,
cycled; with a StageTimes record cleared every 1,000 frames, as `edgefer predict --camera --stage-times` does) and
`predict_batch` over FACES faces (the embedded sample's faces, cycled, 32 per call), and prints, for the first,
middle and last tenth of each loop, the RSS after it and the mean ms per item in it, then the drift from the
first tenth to the last (both within 5% is the target).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def rss_mb() -> float:
    """Current resident set size (Linux /proc), else the peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_loop(count: int, step, label: str, unit: str) -> dict:
    """Call step(i) count times; report RSS and ms per item over the first, middle and last tenth."""
    tenth = max(1, count // 10)
    spans = {"start": range(0, tenth), "middle": range(count // 2 - tenth // 2, count // 2 - tenth // 2 + tenth),
             "end": range(count - tenth, count)}
    marks = {name: (span.start, span.stop) for name, span in spans.items()}
    results, started = {}, {}
    for i in range(count):
        for name, (first, last) in marks.items():
            if i == first:
                started[name] = time.perf_counter()
        items = step(i)
        for name, (first, last) in marks.items():
            if i == last - 1:
                elapsed = time.perf_counter() - started[name]
                results[name] = {"rss_mb": rss_mb(), "ms_per_item": elapsed * 1e3 / (tenth * items)}
    print(f"{label}: {count:,} {unit}")
    for name in spans:
        print(f"  {name:6s} RSS {results[name]['rss_mb']:8.1f} MB   {results[name]['ms_per_item']:.3f} ms per item")
    rss_drift = results["end"]["rss_mb"] / results["start"]["rss_mb"] - 1
    time_drift = results["end"]["ms_per_item"] / results["start"]["ms_per_item"] - 1
    print(f"  drift start -> end: RSS {rss_drift:+.1%}, time per item {time_drift:+.1%}")
    return results


def main() -> None:
    from edgefer.bench.frameset import make_frame_set
    from edgefer.data.sample import SAMPLE_PATH
    from edgefer.predictor import EmotionPredictor, StageTimes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    predictor = EmotionPredictor(args.model, num_threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        frame_files = sorted(make_frame_set(Path(tmp) / "frames", per_kind=10).glob("vga_*.jpg"))
        frames = [np.asarray(predictor_image(path)) for path in frame_files]  # decoded once, as a camera's frames
    times = StageTimes()

    def one_frame(i: int) -> int:
        predictor.predict_frame(frames[i % len(frames)], times=times)
        if len(times.frames) >= 1000:
            times.clear()
        return 1

    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        faces = list(sample["images"])
    batch = 32

    def one_batch(i: int) -> int:
        start = (i * batch) % len(faces)
        predictor.predict_batch((faces + faces)[start : start + batch], batch_size=batch)
        return batch

    print(f"model {predictor.model_path.name}, {args.threads} thread(s), runtime {predictor.runtime}, "
          f"RSS at start {rss_mb():.1f} MB")
    timed_loop(args.frames, one_frame, "predict_frame on 640x480 frames (1-3 faces each)", "frames")
    timed_loop(args.faces // batch, one_batch, f"predict_batch, {batch} faces per call", f"calls ({args.faces:,} faces)")


def predictor_image(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


if __name__ == "__main__":
    main()
