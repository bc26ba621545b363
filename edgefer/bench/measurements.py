"""The reference figures page (docs/measurements.md), generated from the JSON files the benchmarks wrote.

    python -m edgefer.bench.measurements [docs/measurements.md] [--figures benchmarks/figures]

Every folder of benchmarks/figures holds the outputs of one benchmark run on one CPU (`edgefer bench` writes
bench.json, `--frames` frames.json, `--photos` photos.json; the scripts of benchmarks/ write theirs). This page renders
each of them as a table, with the machine it ran on, so the figures a reader sees are the ones measured, never copied
by hand; tests/bench/test_measurements.py fails when the page and the files disagree. The dated, session-by-session
narrative of how the figures came to be is kept apart, unchanged, in docs/history/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edgefer.bench.photos import PhotoReport, pipeline_totals
from edgefer.core.fileio import write_text

FIGURES = Path(__file__).resolve().parents[2] / "benchmarks" / "figures"
HEADER = ("<!-- generated from benchmarks/figures/*/*.json by `python -m edgefer.bench.measurements "
          "docs/measurements.md`; tests check it is current -->")


def _pct(value) -> str:
    return "-" if value is None else f"{value:.2%}"


def _ms(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _machine(machine: dict | None) -> str:
    if not machine:
        return "machine not recorded"
    extensions = ", ".join(machine.get("vector_extensions", [])) or "no listed vector extensions"
    return f"{machine.get('cpu', '?')} ({extensions}), {machine.get('cores', '?')} cores"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def crops(data: dict) -> list[str]:
    """bench.json: accuracy on the crops (and against the FER+ majority, and on a photo folder, where measured) and
    batch-1 latency per artifact."""
    majority = any("ferplus_majority" in a for a in data["artifacts"])
    photos = next((Path(str(a["photos"].get("source"))).name for a in data["artifacts"] if a.get("photos")), None)
    rows = []
    for a in data["artifacts"]:
        if a.get("status") != "ok":
            rows.append([a.get("name", "?"), "failed", "-", "-", "-"])
            continue
        latency = a.get("latency", {}).get("1", {}).get("p50_ms")
        macs = a.get("macs")
        extra = [_pct((a.get("ferplus_majority") or {}).get("accuracy"))] if majority else []
        extra += [_pct((a.get("photos") or {}).get("accuracy"))] if photos else []
        rows.append([a["name"] + (" (flip)" if a.get("tta") == "flip" else ""), _pct(a.get("accuracy")), *extra,
                     f"{a.get('macro_f1', 0):.3f}", _ms(latency), "-" if not macs else f"{macs / 1e6:.1f}"])
    intro = (f"{data['split']} of `{Path(str(data['data'])).name}`, {data['n']:,} faces, labels {data.get('label_source')}; "
             f"{_machine(data.get('machine'))}." + (f" Note: {data['note']}." if data.get("note") else ""))
    header = ["artifact", "accuracy", *(["FER+ majority"] if majority else []),
              *([f"photos ({photos})"] if photos else []), "macro-F1", "p50 ms, 1 thread", "MMAC"]
    return [intro, "", *_table(header, rows)]


def frames(data: dict) -> list[str]:
    """frames.json: whole frames per pipeline and thread count."""
    rows = [[r["pipeline"], str(r["threads"]), str(r.get("frame_size", "-")), _ms(r["p50_ms"]), _ms(r.get("p99_ms")),
             "-" if r.get("found") is None else f"{r['found']}/{r['truth']}"] for r in data["rows"]]
    return [f"Frames: {data['source']}; {_machine(data.get('machine'))}.", "",
            *_table(["pipeline", "threads", "frame", "p50 ms", "p99 ms", "faces found"], rows)]


def photos(data: dict) -> list[str]:
    """photos.json: accuracy and faces per pipeline, then p50 per photo by size bucket (first input form)."""
    report = PhotoReport.from_json(data)
    totals = pipeline_totals(report)
    lines = [f"Photos: {report.source}; {_machine(report.machine)}; {report.threads} thread(s), {report.rounds} round(s)."
             + (f" Note: {data['note']}." if data.get("note") else ""), ""]
    lines += _table(["pipeline", "input", "faces found", "end-to-end accuracy", "macro-recall"],
                    [[name, t["input"], "-" if t["found"] is None else f"{t['found']}/{t['truth']}",
                      _pct(t["accuracy"]), _pct(t["macro_recall"])] for name, t in totals.items()])
    buckets = list(dict.fromkeys(r.bucket for r in report.rows))
    p50 = {(r.pipeline, r.bucket): r.p50_ms for r in report.rows if r.input == totals[r.pipeline]["input"]}
    lines += ["", *_table(["pipeline (p50 ms per photo)", *buckets],
                          [[name, *(_ms(p50.get((name, b))) for b in buckets)] for name in totals])]
    return lines


def video(data: dict) -> list[str]:
    """video_vs_fer.json: frames per second and faces on the same clip."""
    rows = [[name, f"{data[name]['frames_per_s']:.1f}", str(data[name]["faces_found"]),
             _pct(data[name].get("label_accuracy"))] for name in ("edgefer", "fer") if name in data]
    return [f"Video: {data['video']}, {data['frames']} frames, {data['rounds']} rounds; {_machine(data.get('machine'))}; "
            f"speed-up {data['speedup']:.1f}x.", "", *_table(["pipeline", "frames/s", "faces found", "label accuracy"], rows)]


def scalars(data) -> list[str]:
    """Any other benchmark JSON: its machine and top-level figures, or its rows (a list of flat records) as a table."""
    if isinstance(data, list):
        records = [r for r in data if isinstance(r, dict)]
        keys = list(dict.fromkeys(k for r in records for k, v in r.items() if isinstance(v, (int, float, str))))
        cell = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
        return _table(keys, [[cell(r.get(k, "-")) for k in keys] for r in records]) if records else ["(no rows)"]
    if isinstance(data.get("rows"), list):
        return [f"{_machine(data.get('machine'))}.", "", *scalars(data["rows"])]
    shown = [[k, json.dumps(v) if not isinstance(v, float) else f"{v:.4g}"] for k, v in data.items()
             if k != "machine" and isinstance(v, (int, float, str, bool)) and len(str(v)) < 80]
    return [f"{_machine(data.get('machine'))}.", "", *(_table(["figure", "value"], shown) if shown else ["(tables only)"])]


RENDERERS = {"bench.json": crops, "frames.json": frames, "photos.json": photos, "video_vs_fer.json": video}


def page(figures: Path = FIGURES) -> str:
    lines = [HEADER, "", "# Measurements", "",
             "The current reference figures, one section per benchmark run, rendered from the JSON it wrote in "
             "`benchmarks/figures/`. The commands that produce each kind are in [benchmarks/README.md]"
             "(../benchmarks/README.md); how the figures came to be, session by session, is in "
             "[history/RESULTS.md](history/RESULTS.md).", ""]
    for folder in sorted(p for p in figures.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.json")):
            render = RENDERERS.get(path.name, scalars)
            lines += [f"## {folder.name}/{path.name}", "", *render(json.loads(path.read_text())), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    figures = FIGURES
    if "--figures" in args:
        i = args.index("--figures")
        figures, args = Path(args[i + 1]), args[:i] + args[i + 2:]
    out = Path(args[0]) if args else Path("docs/measurements.md")
    write_text(out, page(figures))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
