"""How much each member adds to an ensemble teacher: accuracy of every member and every combination, on the
validation split a student run selects on and then on PublicTest, plain and with flip averaging.

    python research/ensemble_teacher.py TEACHER TEACHER... [--data ../shared/data/fer2013] [--val-fraction 0.1]

Each TEACHER is what `edgefer train --teacher` takes (a run folder, a .keras, a .tflite or .onnx). An ensemble's
probabilities are the mean of its members' (`edgefer.train.distill`, the same code `--teacher A,B` trains with).
Prints a table and the time each member's pass takes over the validation faces.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from edgefer.data.loading import load_dataset
from edgefer.data.splits import split_dataset
from edgefer.predictor import with_tta
from edgefer.train.distill import load_teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("teachers", nargs="+")
    parser.add_argument("--data", default="../shared/data/fer2013")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    splits = split_dataset(dataset, val_fraction=args.val_fraction, seed=args.seed)
    faces = {"val": splits.val.images[..., None], "test": splits.test.images[..., None]}
    labels = {"val": splits.val.labels, "test": splits.test.labels}
    probs, seconds = {}, {}
    for source in args.teachers:
        teacher = load_teacher(source, len(dataset.classes))
        name = Path(source).name
        for tta in ("none", "flip"):
            for split in ("val", "test"):
                start = time.perf_counter()
                probs[name, tta, split] = with_tta(teacher.predict, faces[split], tta)
                seconds[name, tta, split] = time.perf_counter() - start
    names = [Path(s).name for s in args.teachers]
    print(f"{len(labels['val']):,} validation faces, {len(labels['test']):,} PublicTest faces")
    print("| teacher | tta | val | PublicTest | val pass (s) |")
    print("|---|---|---|---|---|")
    for size in range(1, len(names) + 1):
        for members in itertools.combinations(names, size):
            for tta in ("none", "flip"):
                acc = {split: float((np.mean([probs[m, tta, split] for m in members], axis=0).argmax(1)
                                     == labels[split]).mean()) for split in ("val", "test")}
                cost = sum(seconds[m, tta, "val"] for m in members)
                print(f"| {' + '.join(members)} | {tta} | {acc['val']:.2%} | {acc['test']:.2%} | {cost:.1f} |")


if __name__ == "__main__":
    main()
