"""`edgefer analyze` keeps its memory flat over a long source: RSS after the first frames and at the end.

A long source is the built-in sample clip (edgefer.analyze.SampleClip: 3 people, 960x540) looped to --frames frames
(default 20,000), its 90 frames decoded once and served again and again, so memory growth can only come from the
analysis (tracks, smoothers, rows). Prints RSS (MB) every --report frames and the growth from the first report
(after the predictor and the clip are loaded) to the end.

    python benchmarks/analyze_memory.py [--frames 20000] [--every 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from edgefer.analyze import AnalyzeConfig, SampleClip, analyze
from edgefer.analyze.sources import Frame, FrameSource


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class LoopedClip(FrameSource):
    kind = "looped sample"

    def __init__(self, frames: int):
        clip = SampleClip()
        self.clip = [f.pixels for f in clip.frames()]
        super().__init__(f"sample clip looped to {frames} frames", clip.fps, frames)

    def frames(self):
        for index in range(self.expected):
            yield Frame(index, index / self.fps, self.clip[index % len(self.clip)], "rgb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--report", type=int, default=2_000)
    parser.add_argument("--out", default=None, help="analysis folder (default: a temporary one)")
    args = parser.parse_args()
    samples: list[tuple[int, float]] = []

    def watch(frames_read: int) -> None:
        if frames_read == 500 or frames_read % args.report == 0:
            samples.append((frames_read, rss_mb()))
            print(f"frame {frames_read:6d}: RSS {samples[-1][1]:7.1f} MB", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        start = time.perf_counter()
        result = analyze(AnalyzeConfig("looped sample", out=out, every=args.every, threads=1),
                         source=LoopedClip(args.frames), on_frame=watch)
        seconds = time.perf_counter() - start
    first, last = samples[0], samples[-1]
    print(json.dumps({"frames": result.summary["frames_read"], "faces": result.summary["faces"],
                      "tracks": len(result.summary["tracks"]), "seconds": round(seconds, 1),
                      "rss_mb_at_frame_500": round(first[1], 1), "rss_mb_at_end": round(last[1], 1),
                      "growth_mb": round(last[1] - first[1], 1)}))


if __name__ == "__main__":
    main()
