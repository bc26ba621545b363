"""Ship an exported int8 model inside edgefer as a packaged model, with a model card from a real bench.

    python benchmarks/ship_model.py EXPORT_DIR/model_int8.tflite --bench BENCH_DIR/bench.json \
        [--name default|fast] [--note TEXT] [--tradeoff TEXT]

Copies the artifact to edgefer/assets/<NAME>_model.tflite (`edgefer predict --model NAME`; "default" is used when
no model is given) and writes its card edgefer/assets/<NAME>_model.json: where the model came from (its embedded
metadata: backbone, size, weights, run), what `edgefer bench` measured for that same file on the real test split
(accuracy, macro-F1, latency, the machine) and, in words, the trade-off it makes (`edgefer models` shows it).
tests/test_realdata.py re-runs the bench on every packaged model and checks the accuracy against its card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from edgefer.bench.results import BenchReport
from edgefer.fileio import atomic_path
from edgefer.packaged import card_path
from edgefer.packaged import main as readme_main
from edgefer.predictor import PACKAGED_MODELS, read_model_meta

ASSETS = Path(__file__).resolve().parents[1] / "edgefer" / "assets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--bench", type=Path, required=True, help="bench.json of a run that included MODEL")
    parser.add_argument("--name", choices=sorted(PACKAGED_MODELS), default="default", help="which packaged model")
    parser.add_argument("--note", default="", help="how the model was trained, in words (goes into the card)")
    parser.add_argument("--tradeoff", default="", help="what it gives up for what, against the other packaged models")
    args = parser.parse_args()
    try:
        report = BenchReport.from_json(json.loads(args.bench.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{args.bench}: not a bench report edgefer bench wrote ({error}); run the bench again")
    digest = hashlib.sha256(args.model.read_bytes()).hexdigest()
    row = report.row_for(args.model)
    if row is None or not row.ok:
        raise SystemExit(f"{args.bench} has no successful row for {args.model}")
    meta = read_model_meta(args.model) or {}
    card = {
        "file": PACKAGED_MODELS[args.name],
        "sha256": digest,
        "model": meta.get("model"), "alpha": meta.get("alpha", 1.0), "img_size": meta.get("img_size"),
        "format": meta.get("format"),
        "weights": meta.get("weights"), "run": meta.get("run"), "classes": meta.get("classes"),
        "training": args.note,
        "tradeoff": args.tradeoff,
        "bench": {"data": report.data, "split": report.split, "n": report.n, "label_source": report.label_source,
                  "accuracy": row.accuracy, "macro_f1": row.macro_f1,
                  "latency_p50_ms": {t: v["p50_ms"] for t, v in row.latency.items()},
                  "runtime": row.runtime, "machine": report.machine,
                  **({"where_fer2013_agrees": row.where_fer2013_agrees} if row.where_fer2013_agrees else {})},
    }
    target = ASSETS / PACKAGED_MODELS[args.name]
    if not (target.exists() and target.samefile(args.model)):  # the shipped file itself: only its card is rewritten
        with atomic_path(target) as tmp:
            shutil.copyfile(args.model, tmp)
    with atomic_path(card_path(target)) as tmp:
        tmp.write_text(json.dumps(card, indent=1) + "\n")
    print(f"shipped {args.model} as {target}: {row.accuracy:.2%} on {report.split} (n={report.n:,})")
    readme_main([str(ASSETS.parents[1] / "README.md")])  # its packaged-models table comes from the cards


if __name__ == "__main__":
    main()
