"""`edgefer analyze` on an archive: videos per hour on 1 worker, on every core and on a local Ray, in one run; memory
over a long source; and the smoothing yardstick on a labelled clip of real faces.

    python benchmarks/analyze_archive.py [--copies 8] [--seconds 20] [--out DIR]     # the engines
    python benchmarks/analyze_archive.py --memory-frames 20000                       # RSS over a long source
    python benchmarks/analyze_archive.py --smoothing-clip [--seeds 0,1,2,3] [--docs docs/video.md]

The engines: N copies of the built-in clip (edgefer.analyze.SampleClip, 3 people, 960x540, 15 frames/s) written as
mp4 files, analysed by `run_batch` with --workers 1, --workers <cores> (a process pool) and --engine ray (a local Ray
with <cores> CPUs), each into a fresh folder, in that order; prints videos per hour, frames per second, the speed-up
per core over one worker and Ray's time over the pool's, with the CPU named. Memory: the sample clip looped to
--memory-frames frames through the analysis a worker runs (`analyze_tables`), RSS every --report frames. Smoothing:
the labelled clip of edgefer.analyze.clipset (60 s, 25 frames/s) analysed once per seed with the raw labels kept, then
each smoothing applied to the same rows and scored against the truth (edgefer.analyze.clipset.score); with --docs, the
table in docs/video.md is rewritten. JSON of each part in --out.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

from edgefer.analyze import AnalyzeConfig, SampleClip
from edgefer.analyze.sources import Frame, FrameSource
from edgefer.core.run_folder import machine_info
from edgefer.core.workers import default_workers


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def engines(copies: int, seconds: float, out: Path | None) -> dict:
    from edgefer.analyze.batch import run_batch

    cores = default_workers()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = SampleClip(seconds=seconds).write(Path(tmp) / "clip.mp4")
        sources = []
        for i in range(copies):
            copy = Path(tmp) / "videos" / f"video_{i:03d}.mp4"
            copy.parent.mkdir(exist_ok=True)
            copy.write_bytes(clip.read_bytes())
            sources.append(str(copy))
        for engine, workers in (("local", 1), ("local", cores), ("ray", cores)):
            start = time.perf_counter()
            result = run_batch(sources, AnalyzeConfig("", out=Path(tmp) / f"out-{engine}-{workers}", workers=workers,
                                                      engine=engine))
            wall = time.perf_counter() - start
            frames = result.summary["frames"]
            runs.append({"engine": engine, "workers": workers, "videos": copies, "frames": frames, "seconds": round(wall, 2),
                         "videos_per_hour": round(copies * 3600 / wall, 1), "frames_per_s": round(frames / wall, 1),
                         "done": result.summary["done"]})
            print(f"{engine:5s} x{workers}: {copies} videos ({frames} frames) in {wall:.1f} s: "
                  f"{runs[-1]['videos_per_hour']} videos/hour, {runs[-1]['frames_per_s']} frames/s", flush=True)
    one, pool, ray = runs
    report = {"cpu": machine_info(), "cores": cores, "clip_seconds": seconds, "runs": runs,
              "pool_speedup": round(pool["frames_per_s"] / one["frames_per_s"], 2),
              "pool_speedup_per_core": round(pool["frames_per_s"] / one["frames_per_s"] / cores, 2),
              "ray_time_over_pool": round(ray["seconds"] / pool["seconds"], 2)}
    print(f"{machine_info()['cpu']}, {cores} cores: the pool {report['pool_speedup']}x one worker "
          f"({report['pool_speedup_per_core']} per core); Ray took {report['ray_time_over_pool']}x the pool's time")
    _write(out, "analyze_archive.json", report)
    return report


class LoopedClip(FrameSource):
    kind = "looped sample"

    def __init__(self, frames: int):
        clip = SampleClip()
        self.clip = [f.pixels for f in clip.frames()]
        super().__init__(f"sample clip looped to {frames} frames", clip.fps, frames)

    def frames(self):
        for index in range(self.expected):
            yield Frame(index, index / self.fps, self.clip[index % len(self.clip)], "rgb")


def memory(frames: int, report_every: int, out: Path | None) -> dict:
    from edgefer.analyze.run import analyze_tables

    samples: list[tuple[int, float]] = []

    def watch(frames_read: int) -> None:
        if frames_read == 500 or frames_read % report_every == 0:
            samples.append((frames_read, rss_mb()))
            print(f"frame {frames_read:6d}: RSS {samples[-1][1]:7.1f} MB", flush=True)

    start = time.perf_counter()
    tables = analyze_tables(AnalyzeConfig("looped sample", threads=1), source=LoopedClip(frames), on_frame=watch)
    after = rss_mb()
    report = {"cpu": machine_info()["cpu"], "frames": tables.summary["frames_read"], "faces": tables.summary["faces"],
              "tracks": len(tables.tracks), "seconds": round(time.perf_counter() - start, 1),
              "rss_mb_at_frame_500": round(samples[0][1], 1), "rss_mb_at_last_frame": round(samples[-1][1], 1),
              "rss_mb_after_smoothing": round(after, 1), "faces_csv_mb": round(len(tables.faces_csv) / 1e6, 1)}
    print(json.dumps(report))
    _write(out, "analyze_memory.json", report)
    return report


def smoothing(seeds: list[int], smooth: float | None, out: Path | None, docs: Path | None) -> dict:
    import pandas as pd

    from edgefer.analyze.clipset import LabelledClip, score
    from edgefer.analyze.run import _smoothed_table, analyze_tables
    from edgefer.analyze.smoothing import default_tau
    from edgefer.predictor import EmotionPredictor

    results = []
    for seed in seeds:
        clip = LabelledClip(seconds=60, seed=seed)
        tables = analyze_tables(AnalyzeConfig("clip", smoothing="none"), source=clip, predictor=EmotionPredictor())
        raw = pd.read_csv(io.StringIO(tables.faces_csv))
        rows = [[str(v) for v in r[:10 + len(tables.classes)]] for r in raw.itertuples(index=False)]
        for mode in ("none", "causal", "two-sided"):
            tau = default_tau(mode) if smooth is None else smooth
            text, _, _ = _smoothed_table(rows, tables.classes, mode, tau)
            scored = score(pd.read_csv(io.StringIO(text)), clip)
            results.append({"seed": seed, "mode": mode, "tau": tau, **scored["smoothed"],
                            "true_changes_per_min": scored["true_changes_per_min"]})
            print(json.dumps(results[-1]), flush=True)
    report = {"cpu": machine_info()["cpu"], "clip": "edgefer.analyze.clipset.LabelledClip(seconds=60, fps=25)",
              "results": results}
    _write(out, "smoothing_clip.json", report)
    if docs is not None:
        from edgefer.core.fileio import regenerate

        regenerate(docs, "<!-- smoothing:", "<!-- /smoothing -->", smoothing_table(report))
        print(f"updated {docs}")
    return report


def smoothing_table(report: dict) -> str:
    lines = ["<!-- smoothing: generated by benchmarks/analyze_archive.py --smoothing-clip -->",
             "| seed | true changes/min | labels (tau) | accuracy | label changes/min | of which flicker | shown within "
             "0.3 s of a change | median delay, s |", "|---|---|---|---|---|---|---|---|"]
    names = {"none": "raw", "causal": "causal", "two-sided": "two-sided"}
    for r in report["results"]:
        lines.append(f"| {r['seed']} | {r['true_changes_per_min']:.0f} | {names[r['mode']]} ({r['tau']:g} s) | "
                     f"{r['accuracy']:.1%} | "
                     f"{r['changes_per_min']:.0f} | {r['spurious_changes_per_min']:.0f} | "
                     f"{r['shown_within_tolerance']:.0%} | {r['median_delay_s']:.2f} |")
    lines.append(f"\nMeasured on {report['cpu']}.")
    return "\n".join(lines) + "\n<!-- /smoothing -->"


def _write(out: Path | None, name: str, report: dict) -> None:
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {out / name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--memory-frames", type=int, default=None)
    parser.add_argument("--report", type=int, default=2_000)
    parser.add_argument("--smoothing-clip", action="store_true")
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--smooth", type=float, default=None, help="tau, s (default: each mode's own)")
    parser.add_argument("--docs", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON (default: print only)")
    args = parser.parse_args()
    if args.memory_frames:
        memory(args.memory_frames, args.report, args.out)
    elif args.smoothing_clip:
        smoothing([int(s) for s in args.seeds.split(",")], args.smooth, args.out, args.docs)
    else:
        engines(args.copies, args.seconds, args.out)


if __name__ == "__main__":
    main()
