"""Size and accuracy on the full test split of every artifact in an export folder, next to Keras.

    python benchmarks/export_accuracy.py RUN_DIR EXPORT_DIR [--data PATH] [--split test|val]

Prints one row per artifact: size, size ratio to the fp32 TFLite, accuracy, difference from the Keras
model in percentage points, and top-1 agreement with Keras. `--split val` scores on the run's own
validation rows (the same held-out Training rows it chose its epoch on), for choosing between exports
(calibration size, say) without looking at the test set.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgefer.data.loading import load_dataset
from edgefer.data.splits import run_splits
from edgefer.export.evaluate import evaluate_artifact
from edgefer.predictor import BLAZEFACE_FILE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("export", type=Path)
    parser.add_argument("--data", default=None)
    parser.add_argument("--split", choices=("test", "val"), default="test",
                        help="the test split (default) or the run's validation rows")
    args = parser.parse_args()
    run = json.loads((args.run / "run.json").read_text())
    config = run["config"]
    dataset = load_dataset(args.data or config["data"], labels=config["labels"], ferplus=config.get("ferplus"))
    splits = run_splits(dataset, config)
    test = splits.test if args.split == "test" else splits.val
    keras = evaluate_artifact(args.run / "model.keras", test.images, test.labels, run["classes"])
    artifacts = sorted(p for p in args.export.iterdir()  # not the face detector a bundle carries beside them
                       if p.suffix in (".tflite", ".onnx") and p.name != BLAZEFACE_FILE)
    fp32 = args.export / "model_fp32.tflite"
    print(f"{config['model']} {config['img_size']}px, weights {config['weights']}, "
          f"{config['test_split'] if args.split == 'test' else 'validation'} n={len(test):,}")
    print(f"{'artifact':24s} {'MB':>7s} {'fp32/x':>7s} {'accuracy':>9s} {'vs Keras':>9s} {'agree':>7s}  runtime")
    print(f"{'model.keras':24s} {(args.run / 'model.keras').stat().st_size / 1e6:7.2f} {'':>7s} "
          f"{keras['accuracy']:9.2%} {'':>9s} {'':>7s}  {keras['runtime']}")
    for path in artifacts:
        result = evaluate_artifact(path, test.images, test.labels, run["classes"])
        size = path.stat().st_size
        ratio = f"{fp32.stat().st_size / size:6.2f}x" if fp32.exists() else "-"
        agree = (result["predictions"] == keras["predictions"]).mean()
        delta = (result["accuracy"] - keras["accuracy"]) * 100
        print(f"{path.name:24s} {size / 1e6:7.2f} {ratio:>7s} {result['accuracy']:9.2%} {delta:+8.2f}pp "
              f"{agree:7.2%}  {result['runtime']} ({result['seconds']:.1f} s for the pass)")


if __name__ == "__main__":
    main()
