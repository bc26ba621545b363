"""docs/measurements.md is generated from the benchmark JSON files, and is current."""

import json
from pathlib import Path

from edgefer.bench.measurements import FIGURES, page

ROOT = Path(__file__).resolve().parents[2]


def test_the_measurements_page_is_current():
    assert (ROOT / "docs" / "measurements.md").read_text() == page(FIGURES), \
        "regenerate it: python -m edgefer.bench.measurements docs/measurements.md"


def test_the_page_shows_what_the_json_says(tmp_path):
    run = tmp_path / "one-run"
    run.mkdir()
    machine = {"cpu": "Test CPU", "vector_extensions": ["avx2"], "cores": 2}
    (run / "bench.json").write_text(json.dumps({
        "data": "x/fer2013.csv.gz", "split": "PublicTest", "n": 10, "label_source": "fer2013", "machine": machine,
        "artifacts": [{"name": "m.tflite", "status": "ok", "accuracy": 0.5123, "macro_f1": 0.4, "macs": 24_500_000,
                       "latency": {"1": {"p50_ms": 0.987}}},
                      {"name": "broken.tflite", "status": "failed"}]}))
    (run / "other.json").write_text(json.dumps({"machine": machine, "speedup": 3.25, "rows": None}))
    text = page(tmp_path)
    assert "## one-run/bench.json" in text and "Test CPU (avx2), 2 cores" in text
    assert "| m.tflite | 51.23% | 0.400 | 0.99 | 24.5 |" in text
    assert "| broken.tflite | failed |" in text
    assert "| speedup | 3.25 |" in text
