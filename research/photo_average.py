"""Photos end to end for models and for the plain average of their probabilities: is one model above the average of
two others (issue 57's yardstick: the average of the FER2013-tuned default and `ferplus`)?

    python research/photo_average.py PREVIOUS_DEFAULT.tflite ferplus default --average 0,1 \
        --photos ../shared/data/london --photos sample --data ../shared/data/fer2013 --per-class 120

Each labelled photo (a class folder's name), every model with the same detector: the face on the photo's true box
where the set has one, else its largest face, as `edgefer bench --photos` scores it (the same figures for one model);
a photo without a face counts as wrong. The average is taken face by face over the models named by --average
(indices), on FER2013's seven classes (an eight-class model's probabilities of those, renormalised).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from edgefer.bench.photos import _predicted_label, open_photo_set
from edgefer.predictor import FER2013_CLASSES, EmotionPredictor


def seven(prediction) -> np.ndarray:
    p = np.array([prediction.probabilities.get(c, 0.0) for c in FER2013_CLASSES])
    return p / p.sum()


def score(source: str, models: list[str], average: list[int], data: str | None, per_class: int, out: Path) -> dict:
    photos = open_photo_set(source, out, data=data, per_class=per_class)
    predictors = [EmotionPredictor(m) for m in models]
    stems = [Path(m).stem if Path(m).suffix else m for m in models]
    names = [f"{n} ({i})" if stems.count(n) > 1 else n for i, n in enumerate(stems)]
    average_name = "average of " + " + ".join(names[i] for i in average) if average else None
    right = dict.fromkeys(names + ([average_name] if average_name else []), 0)
    labelled = 0
    for path, name, label in zip(photos.files, photos.names, photos.labels):
        if label is None:
            continue
        labelled += 1
        truth = (photos.truth or {}).get(name)
        results = [p.predict_frame(str(path)) for p in predictors]
        for model, found in zip(names, results):
            labels = [FER2013_CLASSES[int(seven(r).argmax())] for r in found]
            right[model] += _predicted_label([r.box for r in found], labels, truth) == label
        if average_name and results[average[0]]:
            faces = zip(*(results[i] for i in average))
            labels = [FER2013_CLASSES[int(sum(seven(r) for r in face).argmax())] for face in faces]
            right[average_name] += _predicted_label([r.box for r in results[average[0]]], labels, truth) == label
    return {"source": source, "labelled": labelled, "accuracy": {k: v / max(labelled, 1) for k, v in right.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="packaged model names or .tflite paths")
    parser.add_argument("--average", help="indices of the models to average, e.g. 0,1")
    parser.add_argument("--photos", action="append", required=True, help="a photo folder or 'sample' (repeatable)")
    parser.add_argument("--data", help="FER2013, for the built-in set's proxy faces")
    parser.add_argument("--per-class", type=int, default=120)
    args = parser.parse_args()
    average = [int(i) for i in args.average.split(",")] if args.average else []
    with tempfile.TemporaryDirectory() as work:
        for source in args.photos:
            result = score(source, args.models, average, args.data, args.per_class, Path(work))
            print(f"{result['source']}: {result['labelled']} labelled photos")
            for name, accuracy in result["accuracy"].items():
                print(f"  {name:<40} {accuracy:.1%}")


if __name__ == "__main__":
    main()
