"""Make an exported int8 model the default shipped inside edgefer, with a model card from a real bench.

    python benchmarks/ship_model.py EXPORT_DIR/model_int8.tflite --bench BENCH_DIR/bench.json [--note TEXT]

Copies the artifact to edgefer/assets/default_model.tflite and writes edgefer/assets/default_model.json:
where the model came from (its embedded metadata: backbone, size, weights, run) and what `edgefer bench`
measured for that same file on the real test split (accuracy, macro-F1, latency, the machine).
tests/test_realdata.py re-runs the bench and checks the accuracy against this card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from edgefer.predictor import DEFAULT_MODEL_FILE, read_model_meta

ASSETS = Path(__file__).resolve().parents[1] / "edgefer" / "assets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--bench", type=Path, required=True, help="bench.json of a run that included MODEL")
    parser.add_argument("--note", default="", help="how the model was trained, in words (goes into the card)")
    args = parser.parse_args()
    report = json.loads(args.bench.read_text())
    digest = hashlib.sha256(args.model.read_bytes()).hexdigest()
    row = next((a for a in report["artifacts"] if Path(a["path"]).resolve() == args.model.resolve()), None)
    if row is None or row["status"] != "ok":
        raise SystemExit(f"{args.bench} has no successful row for {args.model}")
    meta = read_model_meta(args.model) or {}
    card = {
        "file": DEFAULT_MODEL_FILE,
        "sha256": digest,
        "model": meta.get("model"), "alpha": meta.get("alpha", 1.0), "img_size": meta.get("img_size"),
        "format": meta.get("format"),
        "weights": meta.get("weights"), "run": meta.get("run"), "classes": meta.get("classes"),
        "training": args.note,
        "bench": {"data": report["data"], "split": report["split"], "n": report["n"],
                  "accuracy": row["accuracy"], "macro_f1": row["macro_f1"],
                  "latency_p50_ms": {t: v["p50_ms"] for t, v in row["latency"].items()},
                  "runtime": row.get("runtime"), "machine": report["machine"]},
    }
    shutil.copyfile(args.model, ASSETS / DEFAULT_MODEL_FILE)
    (ASSETS / "default_model.json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"shipped {args.model} as {ASSETS / DEFAULT_MODEL_FILE}: {row['accuracy']:.2%} on {report['split']} "
          f"(n={report['n']:,})")


if __name__ == "__main__":
    main()
