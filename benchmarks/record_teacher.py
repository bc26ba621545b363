"""Record a teacher's probabilities once per face, for distillation on a CPU from a teacher too costly to run there
every epoch (the face-sized ResNet-18: about 8 ms per face on 2 cores, minutes per epoch).

    python benchmarks/record_teacher.py TEACHER OUT.npz [--data ../shared/data/fer2013] [--labels fer2013] [--tta flip]
    edgefer train ... --teacher OUT.npz,OTHER_TEACHER --teacher-tta flip

TEACHER is what `edgefer train --teacher` takes. Every face of the data (all splits) is recorded by its row id, so the
file serves any validation split of the same data. A recorded member gives each face its recorded (flip-averaged)
targets whatever augmentation the student sees: offline distillation; live members of an ensemble see the augmented
faces as before.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edgefer.data.loading import load_dataset
from edgefer.train.distill import record_teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("teacher")
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", default="../shared/data/fer2013")
    parser.add_argument("--labels", default="fer2013")
    parser.add_argument("--tta", default="flip", choices=("none", "flip"))
    args = parser.parse_args()
    dataset = load_dataset(args.data, labels=args.labels)
    start = time.perf_counter()
    record_teacher(args.teacher, dataset, args.out, tta=args.tta)
    print(f"recorded {len(dataset.labels):,} faces ({args.tta}) of {args.teacher} in {time.perf_counter() - start:.0f} s "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
