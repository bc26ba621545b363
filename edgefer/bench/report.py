"""Bench outputs: the stdout table, bench.json / bench.csv / bench.md, and the plots.

The accuracy-latency Pareto front (artifacts no other artifact beats on both axes at the first thread
count) is marked in the table ("front" column), in bench.md and on the plot, so that "which model should
I ship" can be read off one run.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.table import Table

from edgefer.core.compute import millions
from edgefer.core.fileio import csv_text, write_json, write_text
from edgefer.core.plotting import pyplot, save_figure
from edgefer.train.plots import plot_confusion

COLUMNS = ("artifact", "status", "size MB", "MMAC", "accuracy", "macro-F1")  # MMAC: millions of MACs per face
TERMINAL_HEADERS = {"size MB": "MB", "macro-F1": "F1"}  # shorter in the terminal table, where width is scarce
AGREED = "acc. where FER2013 agrees"  # a column of FER+-labelled reports (bench --labels-source ferplus)
MAJORITY = "FER+ majority"  # FER2013-labelled reports with the votes found: the same faces, the annotators' labels
PHOTOS = "photos"  # --photos DIR beside --data: end to end on the folder's labelled photos


def _columns(report: dict) -> list[str]:
    columns = [*COLUMNS, AGREED] if report.get("label_source") == "ferplus" else list(COLUMNS)
    if any("ferplus_majority" in a for a in report["artifacts"]):
        columns.append(MAJORITY)
    if any("photos" in a for a in report["artifacts"]):
        columns.append(PHOTOS)
    return columns


def photo_cell(photos: dict) -> str:
    """'86.3% (n=204; Happy 75%, Neutral 98%)', or the error of a photo run that failed."""
    if "error" in photos:
        return f"failed: {photos['error']}"
    recall = ", ".join(f"{k} {v:.0%}" for k, v in photos["recall"].items())
    return f"{photos['accuracy']:.1%} (n={photos['n']:,}; {recall})"


def pareto_front(points: list[tuple[float, float]]) -> list[bool]:
    """For (latency, accuracy) points: True where no other point is at least as fast and as accurate and
    strictly better on one of the two (the accuracy-latency Pareto front)."""
    def dominated(i: int) -> bool:
        x, y = points[i]
        return any(px <= x and py >= y and (px < x or py > y) for j, (px, py) in enumerate(points) if j != i)

    return [not dominated(i) for i in range(len(points))]


def _on_front(report: dict) -> set[int]:
    """Indices (in report["artifacts"]) of the successful artifacts on the Pareto front."""
    thread = str(report["threads"][0])
    ok = [i for i, a in enumerate(report["artifacts"]) if a["status"] == "ok"]
    points = [(report["artifacts"][i]["latency"][thread]["p50_ms"], report["artifacts"][i]["accuracy"]) for i in ok]
    return {i for i, front in zip(ok, pareto_front(points)) if front}


def _latency_columns(threads) -> list[str]:
    return [f"p50 ms {t}t" for t in threads] + [f"p99 ms {t}t" for t in threads] + ["FPS (batch)"]


def flat_rows(report: dict) -> list[dict]:
    rows, front = [], _on_front(report)
    for i, a in enumerate(report["artifacts"]):
        row = {"artifact": a["name"], "status": a["status"], "size MB": f"{a['size_mb']:.2f}"}
        if a.get("macs") is not None:
            row["MMAC"] = millions(a["macs"])
        if a["status"] == "ok":
            row.update({"accuracy": f"{a['accuracy']:.2%}", "macro-F1": f"{a['macro_f1']:.3f}",
                        "front": "yes" if i in front else ""})
            if "where_fer2013_agrees" in a:
                agreed = a["where_fer2013_agrees"]
                row[AGREED] = f"{agreed['accuracy']:.2%} (n={agreed['n']:,})"
            if "ferplus_majority" in a:
                majority = a["ferplus_majority"]
                row[MAJORITY] = f"{majority['accuracy']:.2%} (n={majority['n']:,})"
            if "photos" in a:
                row[PHOTOS] = photo_cell(a["photos"])
            for t in report["threads"]:
                row[f"p50 ms {t}t"] = f"{a['latency'][str(t)]['p50_ms']:.2f}"
                row[f"p99 ms {t}t"] = f"{a['latency'][str(t)]['p99_ms']:.2f}"
            row["FPS (batch)"] = f"{a['throughput']['faces_per_s']:.0f} ({a['throughput']['batch']})"
            row["runtime"] = f"{a['runtime']} {a['runtime_version']}"
        else:
            row["runtime"] = a.get("error", "")
        rows.append(row)
    return rows


def terminal_row(row: dict, threads) -> dict:
    """A flat row for the terminal, where width is scarce: p50 and p99 in one column per thread count, "failed" in
    the accuracy column (the errors are printed below the table)."""
    shown = {**row, "accuracy": row.get("accuracy", row["status"])}
    for t in threads:
        if f"p50 ms {t}t" in row:
            shown[f"p50/p99 ms {t}t"] = f"{row[f'p50 ms {t}t']} / {row[f'p99 ms {t}t']}"
    return shown


def table(report: dict) -> Table:
    threads = report["threads"]
    columns = [c for c in _columns(report) if c != "status"] + [f"p50/p99 ms {t}t" for t in threads] + ["FPS (batch)"]
    t = Table(title=f"edgefer bench: {report['split']} n={report['n']:,}, {report['machine']['cpu']}, "
                    f"{report['machine']['cores']} cores",
              caption=f"bold: on the accuracy-latency Pareto front ({threads[0]} thread(s)); MMAC: millions of "
                      f"multiply-accumulates per face; every column in bench.md")
    for c in columns:
        t.add_column(TERMINAL_HEADERS.get(c, c), no_wrap=c == "artifact", overflow="fold")
    for row in flat_rows(report):
        shown = terminal_row(row, threads)
        t.add_row(*(shown.get(c, "-") for c in columns), style="bold" if row.get("front") else None)
    return t


def _extensions(machine: dict) -> str:
    """" (avx2, avx512f)": the CPU's vector extensions, which latency depends on; "" for reports written before."""
    found = machine.get("vector_extensions")
    return f" ({', '.join(found) or 'no AVX2/AVX-512/NEON'})" if found is not None else ""


def markdown(report: dict) -> str:
    columns = [*_columns(report), "front", *_latency_columns(report["threads"]), "runtime"]
    labels = f", FER+ majority labels ({len(report['classes'])} classes)" if report.get("label_source") == "ferplus" else ""
    majority = next((a["ferplus_majority"] for a in report["artifacts"] if "ferplus_majority" in a), None)
    photos = next((a["photos"]["source"] for a in report["artifacts"] if "photos" in a), None)
    notes = ([f"{MAJORITY}: the same faces scored against the FER+ annotators' majority label ({majority['left_out']} "
              f"faces whose majority is Contempt, unknown or not-a-face left out)."] if majority else []) + \
            ([f"{PHOTOS}: end to end on the labelled photos of {photos} (the largest face of each; no face found "
              f"counts as wrong), with the recall of each class."] if photos else [])
    lines = [f"# edgefer bench: {report['data']}, {report['split']} (n = {report['n']:,}){labels}", "",
             f"Machine: {report['machine']['cpu']}{_extensions(report['machine'])}, {report['machine']['cores']} cores, "
             f"{report['machine']['os']}, "
             f"Python {report['machine']['python']}. Latency: batch 1, {report['runs']} timed runs per thread count "
             f"in {report.get('rounds', 1)} round(s), the artifacts taking turns, each round after "
             f"{report['warmup']} warm-up runs. front: on the accuracy-latency Pareto front "
             f"({report['threads'][0]} thread(s)): no other artifact is both faster and more accurate. MMAC: millions of "
             f"multiply-accumulates per face (the network's cost on any CPU; doubled with flip averaging).",
             *([""] + notes if notes else []), "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row.get(c, "-") for c in columns) + " |" for row in flat_rows(report)]
    return "\n".join(lines) + "\n"


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in display units


def first_free(candidates: list[Box], taken: list[Box], bounds: Box) -> int:
    """Index of the first candidate box for a label that lies inside `bounds` and overlaps nothing in
    `taken` (other labels, markers); where none does, the one covering the least (inside first).
    Keeps the labels of nearby points readable."""
    def covered(box: Box) -> float:
        return sum(max(0.0, min(box[2], o[2]) - max(box[0], o[0])) * max(0.0, min(box[3], o[3]) - max(box[1], o[1]))
                   for o in taken)

    def outside(box: Box) -> bool:
        return not (bounds[0] <= box[0] and box[2] <= bounds[2] and bounds[1] <= box[1] and box[3] <= bounds[3])

    return min(range(len(candidates)), key=lambda i: (outside(candidates[i]), covered(candidates[i]), i))


def plot_accuracy_latency(report: dict, path: Path) -> None:
    from matplotlib.ticker import FuncFormatter


    plt = pyplot()
    thread = str(report["threads"][0])
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    front = _on_front(report)
    points = [(i, a, a["latency"][thread]["p50_ms"], a["accuracy"] * 100)
              for i, a in enumerate(report["artifacts"]) if a["status"] == "ok"]
    for i, a, x, y in points:
        ax.scatter(x, y, s=_marker_area(a), marker="s" if a.get("kind") == "external" else "o",
                   edgecolors="black" if i in front else "none")
    corner = sorted((x, y) for i, _, x, y in points if i in front)  # the front is among the plotted points
    if corner:
        ax.step(*zip(*corner), where="post", color="gray", linestyle="--", linewidth=1,
                label="Pareto front (black edge: on it; square: not an edgefer model)")
        fig.legend(loc="outside lower center", fontsize=8)
    if points:  # room on the right for the labels of the slowest points (log axis)
        ax.set_xlim(min(p[2] for p in points) / 1.15, max(p[2] for p in points) * 1.9)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 0.9, 2 rather than 9x10^-1
    # Minor ticks labelled at 2 and 5 only: all of 2..9 run into each other over a short span.
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}" if f"{value:.0e}"[0] in "25" else ""))
    ax.set_xlabel(f"latency, batch 1, {thread} thread(s), median ms (log scale)")
    ax.set_ylabel(f"accuracy on {report['split']} (%), n={report['n']:,}")
    ax.set_title("accuracy vs latency (marker area ~ file size)")
    ax.grid(True, which="both", alpha=0.3)
    _label_points(fig, ax, [(f"{a['name']} ({a['size_mb']:.1f} MB)", x, y, _marker_area(a)) for _, a, x, y in points])
    save_figure(fig, path)


# Where a label may go, in points from its point, tried in this order: upper right, upper left, lower
# right, lower left, then a line further up or down on either side (those get a leader line).
LABEL_OFFSETS = [(dx, dy) for dy in (3, -3, 14, -14, 25, -25, 36, -36) for dx in (5, -5)]


def _marker_area(artifact: dict) -> float:
    return 30 + 12 * artifact["size_mb"]  # points squared, as scatter's s


def _label_points(fig, ax, labels: list[tuple[str, float, float, float]]) -> None:
    """Each point's label next to it, on the first side where it covers no other label or marker."""
    fig.canvas.draw()  # final layout first, so the boxes measured below are where they will be drawn
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    taken: list[Box] = []
    for _, x, y, area_pt2 in labels:  # the markers themselves
        px, py = ax.transData.transform((x, y))
        radius = area_pt2 ** 0.5 / 2 * fig.dpi / 72
        taken.append((px - radius, py - radius, px + radius, py + radius))
    for text, x, y, _ in sorted(labels, key=lambda label: -label[2]):
        note = ax.annotate(text, (x, y), textcoords="offset points", xytext=LABEL_OFFSETS[0], fontsize=8)
        candidates = []
        for dx, dy in LABEL_OFFSETS:
            note.xyann = (dx, dy)
            note.set_horizontalalignment("left" if dx > 0 else "right")
            note.set_verticalalignment("bottom" if dy > 0 else "top")
            box = note.get_window_extent(renderer)
            candidates.append((box.x0, box.y0, box.x1, box.y1))
        best = first_free(candidates, taken, (area.x0, area.y0, area.x1, area.y1))
        note.remove()
        dx, dy = LABEL_OFFSETS[best]
        leader = {"arrowprops": {"arrowstyle": "-", "color": "gray", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 4}}
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=8,
                    ha="left" if dx > 0 else "right", va="bottom" if dy > 0 else "top",
                    **(leader if abs(dy) > abs(LABEL_OFFSETS[0][1]) else {}))  # moved a line away: a line to its point
        taken.append(candidates[best])


def write_outputs(report: dict, out: Path) -> list[Path]:
    import numpy as np


    out.mkdir(parents=True, exist_ok=True)
    written = [write_json(out / "bench.json", report), write_text(out / "bench.csv", csv_text(flat_rows(report))),
               write_text(out / "bench.md", markdown(report))]
    ok = [a for a in report["artifacts"] if a["status"] == "ok"]
    if ok:
        plot_accuracy_latency(report, out / "accuracy_vs_latency.png")
        written.append(out / "accuracy_vs_latency.png")
    for a in ok:
        names = report["classes"] + (["(other)"] if len(a["confusion_matrix"]) > len(report["classes"]) else [])
        slug = a["name"].replace(".", "_").replace("/", "__").replace(" +", "_tta_")
        path = out / f"confusion_{re.sub(r'[^A-Za-z0-9_-]+', '_', slug)}.png"
        plot_confusion(np.array(a["confusion_matrix"]), names, path,
                       f"{a['name']}: accuracy {a['accuracy']:.1%} on {report['split']}")
        written.append(path)
    return written
