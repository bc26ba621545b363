"""Bench outputs: the stdout table, bench.json / bench.csv / bench.md, and the plots."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from rich.table import Table

from edgefer.fileio import write_json, write_text

COLUMNS = ("artifact", "status", "size MB", "accuracy", "macro-F1")


def _latency_columns(threads) -> list[str]:
    return [f"p50 ms {t}t" for t in threads] + [f"p99 ms {t}t" for t in threads] + ["FPS (batch)"]


def flat_rows(report: dict) -> list[dict]:
    rows = []
    for a in report["artifacts"]:
        row = {"artifact": a["name"], "status": a["status"], "size MB": f"{a['size_mb']:.2f}"}
        if a["status"] == "ok":
            row.update({"accuracy": f"{a['accuracy']:.2%}", "macro-F1": f"{a['macro_f1']:.3f}"})
            for t in report["threads"]:
                row[f"p50 ms {t}t"] = f"{a['latency'][str(t)]['p50_ms']:.2f}"
                row[f"p99 ms {t}t"] = f"{a['latency'][str(t)]['p99_ms']:.2f}"
            row["FPS (batch)"] = f"{a['throughput']['faces_per_s']:.0f} ({a['throughput']['batch']})"
            row["runtime"] = f"{a['runtime']} {a['runtime_version']}"
        else:
            row["runtime"] = a.get("error", "")
        rows.append(row)
    return rows


def table(report: dict) -> Table:
    columns = [*COLUMNS, *_latency_columns(report["threads"])]  # runtimes: in bench.md/.json
    t = Table(title=f"edgefer bench: {report['split']} n={report['n']:,}, {report['machine']['cpu']}, "
                    f"{report['machine']['cores']} cores")
    for c in columns:
        t.add_column(c, no_wrap=c == "artifact", overflow="fold")
    for row in flat_rows(report):
        t.add_row(*(row.get(c, "-") for c in columns))
    return t


def markdown(report: dict) -> str:
    columns = [*COLUMNS, *_latency_columns(report["threads"]), "runtime"]
    lines = [f"# edgefer bench: {report['data']}, {report['split']} (n = {report['n']:,})", "",
             f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, {report['machine']['os']}, "
             f"Python {report['machine']['python']}. Latency: batch 1, {report['warmup']} warm-up + "
             f"{report['runs']} timed runs per thread count.", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row.get(c, "-") for c in columns) + " |" for row in flat_rows(report)]
    return "\n".join(lines) + "\n"


def csv_text(report: dict) -> str:
    buffer = io.StringIO()
    rows = flat_rows(report)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def label_row(placed: list[tuple[float, float]], x: float, y: float) -> int:
    """How many labels already sit at about this point (within 15% of latency and 1 pp): the next label
    goes one line higher, so coinciding artifacts stay readable."""
    return sum(1 for px, py in placed if abs(px - x) <= 0.15 * max(px, x) and abs(py - y) <= 1.0)


def plot_accuracy_latency(report: dict, path: Path) -> None:
    from edgefer.plotting import pyplot, save_figure

    plt = pyplot()
    thread = str(report["threads"][0])
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    placed: list[tuple[float, float]] = []
    for a in (a for a in report["artifacts"] if a["status"] == "ok"):
        x, y = a["latency"][thread]["p50_ms"], a["accuracy"] * 100
        ax.scatter(x, y, s=30 + 12 * a["size_mb"])
        ax.annotate(f"{a['name']} ({a['size_mb']:.1f} MB)", (x, y), textcoords="offset points",
                    xytext=(5, 4 + 11 * label_row(placed, x, y)), fontsize=8)
        placed.append((x, y))
    ax.set_xscale("log")
    ax.set_xlabel(f"latency, batch 1, {thread} thread(s), median ms (log scale)")
    ax.set_ylabel(f"accuracy on {report['split']} (%), n={report['n']:,}")
    ax.set_title("accuracy vs latency (marker area ~ file size)")
    ax.grid(True, which="both", alpha=0.3)
    save_figure(fig, path)


def write_outputs(report: dict, out: Path) -> list[Path]:
    import numpy as np

    from edgefer.train_plots import plot_confusion

    out.mkdir(parents=True, exist_ok=True)
    written = [write_json(out / "bench.json", report), write_text(out / "bench.csv", csv_text(report)),
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
