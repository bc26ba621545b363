"""Typed bench results: one `BenchRow` per artifact (and test-time augmentation), one `BenchReport` per run.

bench.json is their JSON form (`to_json` / `from_json`), so the CLI, `python -m edgefer.bench.ship` and the real-data
tests read a report through these classes instead of nested dicts, and the rule for `edgefer bench`'s exit status
lives in one method. The tables, Markdown and plots of `edgefer.bench.report` take the JSON form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class BenchRow:
    name: str
    path: str
    format: str
    size_mb: float
    tta: str = "none"
    kind: str = "edgefer"  # edgefer | external | unknown
    status: str = "ok"  # ok | failed
    error: str | None = None
    n: int | None = None
    accuracy: float | None = None
    macro_f1: float | None = None
    per_class_recall: dict[str, float] | None = None
    confusion_matrix: list[list[int]] | None = None
    where_fer2013_agrees: dict | None = None  # FER+ labels: {"n", "accuracy"} on the faces whose labels agree
    # FER2013 labels, with the FER+ votes found: {"n", "accuracy", "left_out"} against the annotators' majority in the
    # seven classes (faces whose majority is Contempt, unknown or not-a-face are left out, and counted)
    ferplus_majority: dict | None = None
    photos: dict | None = None  # --photos DIR beside --data: {"source", "n", "accuracy", "macro_recall", "recall"}
    latency: dict[str, dict[str, float]] | None = None  # threads -> p50_ms, p90_ms, p99_ms, mean_ms, min_ms, runs
    throughput: dict | None = None
    macs: int | None = None  # multiply-accumulates per face (edgefer.core.compute), doubled with flip averaging
    runtime: str | None = None
    runtime_version: str | None = None
    load_seconds: float | None = None
    accuracy_pass_seconds: float | None = None
    peak_rss_mb: float | None = None
    baseline_rss_mb: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def p50_ms(self, threads: int = 1) -> float | None:
        return (self.latency or {}).get(str(threads), {}).get("p50_ms")

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict) -> BenchRow:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class BenchReport:
    data: str
    split: str
    n: int
    classes: list[str]
    threads: list[int]
    runs: int
    rounds: int
    warmup: int
    machine: dict
    versions: dict
    rows: list[BenchRow] = field(default_factory=list)
    label_source: str = "fer2013"
    tta: list[str] = field(default_factory=lambda: ["none"])

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k != "rows"}
        return {**data, "artifacts": [row.to_json() for row in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> BenchReport:
        known = {f.name for f in fields(cls)} - {"rows"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   rows=[BenchRow.from_json(row) for row in data.get("artifacts", [])])

    def row_for(self, path: str | Path) -> BenchRow | None:
        """The row of an artifact file (the plain one, without test-time augmentation)."""
        target = Path(path).resolve()
        return next((r for r in self.rows if Path(r.path).resolve() == target and r.tta == "none"), None)

    def failed(self) -> list[BenchRow]:
        return [r for r in self.rows if not r.ok]

    def under(self, min_accuracy: float | None) -> list[BenchRow]:
        """Measured rows scoring under `min_accuracy` (none when it is None)."""
        if min_accuracy is None:
            return []
        return [r for r in self.rows if r.ok and r.accuracy < min_accuracy]

    def exit_code(self, min_accuracy: float | None = None) -> int:
        """`edgefer bench`'s exit status: 1 if any artifact failed or scored under --min-accuracy, else 0."""
        return 1 if self.failed() or self.under(min_accuracy) else 0
