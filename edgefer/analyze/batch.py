"""`edgefer analyze` over an archive: many recordings, every core or a Ray cluster, resumable.

The sources are what the command line names (`expand_sources`): video files, folders (searched for videos, or a
folder of frames when it holds images only), globs, a .txt file listing paths or URLs, camera indices, `sample`.
Each gets a folder of its own under OUT (`output_names`: the file's name, made unique), holding what a single
`edgefer analyze` writes. The analysis runs as jobs (`edgefer.core.workers`: this process, a pool of processes, or
Ray); every result comes back to this process, which writes the source's folder under a temporary name and renames
it when it is whole. So a folder under its own name is a finished source: a rerun of the same command skips it and
a killed batch resumes where it stopped. A source that cannot be opened is a row with its error and no folder (a
rerun tries it again); one that breaks off (truncated) keeps what was read, is marked incomplete and is not read
again. After each source, OUT/index.csv (a row per source) and OUT/summary.json (the batch: totals, speed, and every
source's row) are rewritten, whole.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

from edgefer.analyze.run import AnalyzeConfig, SourceTables, analyze_tables, write_tables
from edgefer.analyze.sources import SAMPLE, VIDEO_SUFFIXES
from edgefer.core.fileio import csv_text, write_json, write_text
from edgefer.core.progress import console
from edgefer.core.run_folder import machine_info
from edgefer.core.workers import JobFailure, default_workers, run_jobs, threads_per_worker
from edgefer.errors import ConfigError, DataError
from edgefer.predictor import IMAGE_SUFFIXES

INDEX_COLUMNS = ("source", "folder", "status", "frames", "video_s", "faces", "tracks", "dominant", "error", "note")
PARTIAL = ".partial-"  # prefix of a source's folder while it is being written


def _is_url(text: str) -> bool:
    return "://" in text


def _videos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())


def _holds_frames(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir() if p.is_file())


def expand_sources(items: list[str]) -> tuple[list[str], bool]:
    """(sources, whether this is a batch): a batch is several sources, or any folder of videos, glob or list file,
    even one that holds a single source; a single video, camera, folder of frames or `sample` is analysed alone."""
    sources, batch = [], len(items) > 1
    for item in items:
        path = Path(item)
        if item == SAMPLE or item.isdigit() or _is_url(item):
            sources.append(item)
        elif path.suffix.lower() == ".txt" and path.is_file():
            batch = True
            for line in path.read_text().splitlines():
                entry = line.split("#", 1)[0].strip()
                if entry:
                    sources.append(entry if _is_url(entry) or Path(entry).is_absolute() else str(path.parent / entry))
        elif path.is_dir():
            videos = _videos_in(path)
            if videos:
                batch = True
                sources.extend(str(v) for v in videos)
            elif _holds_frames(path):
                sources.append(item)
            else:
                raise DataError(f"{path}: no videos ({', '.join(VIDEO_SUFFIXES)}) in it or its subfolders, and no frames "
                                f"({', '.join(IMAGE_SUFFIXES)})")
        elif not path.exists() and any(c in item for c in "*?["):
            batch = True
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise DataError(f"{item}: the pattern matches no file")
            sources.extend(matches)
        else:
            sources.append(item)
    if not sources:
        raise DataError("no source to analyse: give video files, folders, globs, a .txt list, a camera index or sample")
    return list(dict.fromkeys(sources)), batch


def output_names(sources: list[str]) -> list[str]:
    """A folder name per source, the same for the same list: its file name without the suffix; where two share one,
    their paths (folders joined by '__'); still equal, -2, -3, ... in list order."""
    def clean(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "source"

    def stem(source: str) -> str:
        if _is_url(source):
            return clean(Path(urlparse(source).path).stem or urlparse(source).netloc)
        return clean(f"camera{source}" if source.isdigit() else Path(source).stem)

    names = [stem(s) for s in sources]
    for name in set(names):
        group = [i for i, n in enumerate(names) if n == name and not _is_url(sources[i])]
        if len(group) < 2:
            continue
        paths = [Path(sources[i]).absolute() for i in group]
        common = Path(os.path.commonpath([str(p.parent) for p in paths]))
        for i, path in zip(group, paths):  # their folders from where they part, joined by '__'
            names[i] = clean("__".join(path.relative_to(common).with_suffix("").parts))
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name}-{seen[name]}"
    return names


def analyze_job(job: dict, progress) -> SourceTables:
    """One source of a batch, in whatever process runs it (edgefer.core.workers): its tables, back to the driver."""
    config = AnalyzeConfig(**{**job["config"], "out": Path(job["config"]["out"]), "save_video": None})
    return analyze_tables(config, on_frame=progress)


def _row(source: str, name: str, summary: dict | None = None, error: str | None = None, note: str = "") -> dict:
    row = {"source": source, "folder": name, "status": "failed", "frames": 0, "video_s": 0.0, "faces": 0, "tracks": 0,
           "dominant": "", "error": error or "", "note": note}
    if summary is not None:
        frames = {}
        for track in summary["tracks"]:
            for key, share in track.items():
                if key.startswith("share_"):
                    frames[key[6:]] = frames.get(key[6:], 0.0) + share * track["frames_seen"]
        row.update(status="done" if summary["complete"] else "incomplete", frames=summary["frames_read"],
                   video_s=summary.get("video_seconds") or 0.0, faces=summary["faces"], tracks=len(summary["tracks"]),
                   dominant=max(frames, key=frames.get) if frames else "", error=summary.get("error") or "")
    return row


@dataclass
class BatchResult:
    out: Path
    rows: list[dict]
    summary: dict

    @property
    def exit_code(self) -> int:
        """0 when every source was analysed whole, 1 when any failed or broke off."""
        return 0 if all(r["status"] == "done" for r in self.rows) else 1


def run_batch(sources: list[str], config: AnalyzeConfig, say=None) -> BatchResult:
    """Analyse `sources` into config.out/<name>/ (see the module docstring)."""
    import json

    config.validate()
    if config.save_video:
        raise ConfigError("--save-video names one file: give it with a single source")
    out, names = Path(config.out), output_names(sources)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{PARTIAL}*"):  # a source whose writing was cut off by a kill: written again
        shutil.rmtree(stale, ignore_errors=True)
    workers = config.workers or default_workers()
    threads = config.threads or (1 if config.engine == "ray" else threads_per_worker(min(workers, len(sources))))
    rows: list[dict | None] = [None] * len(sources)
    jobs, where = [], []
    for i, (source, name) in enumerate(zip(sources, names)):
        summary_file = out / name / "summary.json"
        if summary_file.is_file():
            try:
                rows[i] = _row(source, name, json.loads(summary_file.read_text()), note="analysed before: skipped")
                continue
            except (ValueError, KeyError, TypeError):  # a damaged folder is analysed again
                shutil.rmtree(out / name, ignore_errors=True)
        settings = {**asdict(replace(config, source=source, threads=threads)), "out": str(out / name)}
        jobs.append({"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()}})
        where.append(i)
    started = time.perf_counter()
    progress = _BatchProgress(len(sources), sum(r is not None for r in rows), [sources[i] for i in where])

    def finished(job_index: int, result) -> None:
        i = where[job_index]
        if isinstance(result, JobFailure):
            rows[i] = _row(sources[i], names[i], error=result.error)
        else:
            partial = out / f"{PARTIAL}{names[i]}"
            shutil.rmtree(partial, ignore_errors=True)
            write_tables(result, partial)
            os.replace(partial, out / names[i])
            rows[i] = _row(sources[i], names[i], result.summary)
        progress.source_done(job_index, rows[i])
        _write_index(out, rows, config, workers, time.perf_counter() - started, len(jobs))

    with progress:
        run_jobs(analyze_job, jobs, finished, engine=config.engine, workers=workers, address=config.address,
                 on_progress=progress.frames)
    summary = _write_index(out, rows, config, workers, time.perf_counter() - started, len(jobs))
    return BatchResult(out, [r for r in rows if r is not None], summary)


def _write_index(out: Path, rows: list, config: AnalyzeConfig, workers: int, seconds: float, jobs: int) -> dict:
    done = [r for r in rows if r is not None]
    write_text(out / "index.csv", csv_text([{c: r[c] for c in INDEX_COLUMNS} for r in done]) if done
               else ",".join(INDEX_COLUMNS) + "\n")
    analysed_now = [r for r in done if not r["note"] and r["status"] != "failed"]
    frames, video_s = sum(r["frames"] for r in analysed_now), sum(r["video_s"] for r in analysed_now)
    shares: dict[str, float] = {}
    for r in done:
        if r["dominant"]:
            shares[r["dominant"]] = shares.get(r["dominant"], 0) + r["frames"]
    summary = {
        "sources": len(rows), "finished": len(done), "done": sum(r["status"] == "done" for r in done),
        "incomplete": sum(r["status"] == "incomplete" for r in done),
        "failed": sum(r["status"] == "failed" for r in done),
        "skipped_as_analysed_before": sum(bool(r["note"]) for r in done),
        "frames": sum(r["frames"] for r in done), "video_seconds": round(sum(r["video_s"] for r in done), 3),
        "faces": sum(r["faces"] for r in done), "tracks": sum(r["tracks"] for r in done),
        "dominant": max(shares, key=shares.get) if shares else "",
        "engine": config.engine, "workers": workers, "cpu": machine_info()["cpu"], "cores": default_workers(),
        "this_run": {"sources": jobs, "seconds": round(seconds, 3), "frames": frames,
                     "frames_per_s": round(frames / seconds, 2) if seconds else None,
                     "videos_per_hour": round(len(analysed_now) * 3600 / seconds, 1) if seconds else None,
                     "video_seconds_per_s": round(video_s / seconds, 3) if seconds else None},
        "items": done,
    }
    write_json(out / "summary.json", summary)
    return summary


class _BatchProgress:
    """Two bars on stderr: sources finished of all, and the frames read by the sources running now."""

    def __init__(self, total: int, skipped: int, running: list[str]):
        import sys

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console,
                            transient=True, disable=not sys.stderr.isatty())
        self.sources = self.bar.add_task("sources", total=total, completed=skipped, detail="")
        self.frame_task = self.bar.add_task("frames", total=None, detail="")
        self.counts: dict[int, int] = {}
        self.finished_frames = 0

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def frames(self, index: int, frames: int) -> None:
        self.counts[index] = frames
        self.bar.update(self.frame_task, completed=self.finished_frames + sum(self.counts.values()),
                        detail=f"{len(self.counts)} source(s) running")

    def source_done(self, index: int, row: dict) -> None:
        self.finished_frames += row["frames"]
        self.counts.pop(index, None)
        self.bar.update(self.frame_task, completed=self.finished_frames + sum(self.counts.values()))
        self.bar.update(self.sources, advance=1, detail=f"last: {row['folder']} {row['status']}")


def batch_command(sources: list[str], config: AnalyzeConfig, out) -> int:
    """`edgefer analyze` over several sources: a line per source, the totals, where the index is; the exit code."""
    result = run_batch(sources, config)
    for row in result.rows:
        what = (f"{row['frames']} frames, {row['tracks']} track(s), mostly {row['dominant'] or '-'}"
                if row["status"] != "failed" else row["error"])
        extra = f" ({row['note']})" if row["note"] else (f": {row['error']}" if row["status"] == "incomplete" else "")
        out.print(f"{row['folder']}: {row['status']}, {what}{extra}", highlight=False, soft_wrap=True)
    s = result.summary
    now = s["this_run"]
    out.print(f"{s['done']} of {s['sources']} source(s) analysed whole, {s['incomplete']} incomplete, {s['failed']} "
              f"failed; this run: {now['sources']} source(s), {now['frames']} frames in {now['seconds']:.1f} s "
              f"({now['frames_per_s'] or 0} frames/s, {now['videos_per_hour'] or 0} videos/hour) on {s['engine']} "
              f"with {s['workers']} worker(s)", highlight=False)
    out.print(f"wrote {result.out / 'index.csv'} and {result.out / 'summary.json'}", highlight=False)
    return result.exit_code
