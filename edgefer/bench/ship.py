"""Ship an exported int8 model inside edgefer as a packaged model, with a card of short fields from real benches.

    python -m edgefer.bench.ship EXPORT_DIR/model_int8.tflite --bench BENCH_DIR/bench.json --name default|fast \
        --trained-on TEXT --recipe TEXT --reproduce COMMAND [--photos PHOTOS_DIR/photos.json]

Copies the artifact to edgefer/assets/<NAME>_model.tflite (`--model NAME`; "default" when no model is given) and
writes its card edgefer/assets/<NAME>_model.json: where the model came from (its embedded metadata: backbone, size,
weights, run), in three short fields (what it was trained on, the recipe, the command that reproduces it), what
`edgefer bench` measured for that same file on the test split (accuracy against FER2013's labels and, where the FER+
votes were found, against the annotators' majority, macro-F1, per-class recall, latency, the machine; a bench run with
`--photos DIR` beside `--data` also gives its end-to-end accuracy and recall on that folder of real photos) and, with
--photos, what `edgefer bench --photos` measured for it on the photo yardstick (end-to-end accuracy and per-class
recall). `edgefer models` and the README's table read the cards; tests/test_realdata.py re-runs the
bench on every packaged model and checks the accuracy against its card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from edgefer.bench.photos import PhotoReport, pipeline_totals
from edgefer.bench.results import BenchReport
from edgefer.core.fileio import atomic_path
from edgefer.packaged import card_path
from edgefer.packaged import main as readme_main
from edgefer.predictor import PACKAGED_MODELS, read_model_meta

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def photo_figures(photos_json: Path, model: Path, pipeline: str | None = None) -> dict:
    """The card's photo figures: this model's end-to-end accuracy, macro-recall and per-class recall on the photo
    yardstick, with every peer of the same run beside it."""
    try:
        data = json.loads(photos_json.read_text())
        report = PhotoReport.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{photos_json}: not a photo bench report ({error}); run edgefer bench --photos again")
    totals = pipeline_totals(report)
    ours = [pipeline] if pipeline in totals else [
        name for name in totals if name.startswith("edgefer ") and Path(model).name.split(".")[0] in name]
    if not ours:
        raise SystemExit(f"{photos_json} has no pipeline for {model} (pipelines: {', '.join(totals)})")
    keep = ("accuracy", "macro_recall", "recall", "found", "truth", "labelled")
    return {"source": report.source, "machine": report.machine.get("cpu"),
            **{k: totals[ours[0]][k] for k in keep},
            "peers": {name: {k: t[k] for k in keep} for name, t in totals.items() if not name.startswith("edgefer ")}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--bench", type=Path, required=True, help="bench.json of a run that included MODEL")
    parser.add_argument("--name", choices=sorted(PACKAGED_MODELS), default="default", help="which packaged model")
    parser.add_argument("--trained-on", required=True, help="the data, e.g. 'FER2013 Training (25,837 faces)'")
    parser.add_argument("--recipe", required=True, help="the recipe in a line, e.g. 'fine-tuned from default, "
                        "--augment photo, 12 epochs, distilled from default + face-api.js (0.3)'")
    parser.add_argument("--reproduce", required=True, help="the command (or commands) that make this model")
    parser.add_argument("--photos", type=Path, help="photos.json of `edgefer bench --photos` that ran this model")
    parser.add_argument("--photos-pipeline", help="its pipeline's name there (default: the one named after the file)")
    args = parser.parse_args(argv)
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
        "trained_on": args.trained_on,
        "recipe": args.recipe,
        "reproduce": args.reproduce,
        "bench": {"data": report.data, "split": report.split, "n": report.n, "label_source": report.label_source,
                  "accuracy": row.accuracy, "macro_f1": row.macro_f1,
                  "latency_p50_ms": {t: v["p50_ms"] for t, v in row.latency.items()},
                  "runtime": row.runtime, "machine": report.machine,
                  **({"where_fer2013_agrees": row.where_fer2013_agrees} if row.where_fer2013_agrees else {}),
                  **({"ferplus_majority": row.ferplus_majority} if row.ferplus_majority else {})},
    }
    if row.photos and "accuracy" in row.photos:  # `edgefer bench --data D --photos DIR`: real labelled photos
        card["real_photos"] = {k: row.photos[k] for k in ("source", "n", "accuracy", "macro_recall", "recall")}
    if row.per_class_recall:
        card["bench"]["recall"] = row.per_class_recall
    if args.photos:
        card["photos"] = photo_figures(args.photos, args.model, args.photos_pipeline)
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
