"""Which logit shift meets the London Set criterion at the least cost on PublicTest: a grid of Happy + a and
Neutral - b on a run's float model, before `research/class_bias.py` writes the chosen one.

    python research/class_bias_grid.py RUN --data ../shared/data/fer2013 --photos ../shared/data/london \
        --out research/figures/class-bias-grid

The London faces are found and cropped as `edgefer predict` does (the packaged predictor's detector and crop; the
largest face of each photo); the run's Keras model scores those crops and PublicTest's faces once, and every shift is
applied to the logits (log-probabilities: a constant per class, as the classifier's bias would add). Prints and
writes grid.md: London overall and per class, PublicTest against FER2013's labels and the FER+ majority, and the
cheapest shift (highest FER2013 + FER+ sum) meeting `--need` (default: London >= 85% with each class >= 75%).
Float logits, so the int8 export of a chosen shift is checked by `edgefer bench` before it is kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from edgefer.core.fileio import atomic_path
from edgefer.core.keras_env import import_keras
from edgefer.data.classes import FER2013_CLASSES as CLASSES
from edgefer.predictor import EmotionPredictor, FramePixels

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_frontier import scorer, test_faces  # noqa: E402 - PublicTest on both label sources, as the ceiling scores it

PHOTO_CLASSES = {"happy": "Happy", "neutral": "Neutral"}


def photo_crops(photos: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """48x48 gray crops of the largest face of each photo under photos/<class>/, their class indices, photos seen."""
    predictor = EmotionPredictor("default")
    crops, truth, seen = [], [], 0
    for folder, name in PHOTO_CLASSES.items():
        for path in sorted((photos / folder).glob("*.jpg")):
            seen += 1
            pixels = FramePixels(str(path))
            faces = predictor.detect(pixels)
            if faces:  # a photo without a face counts as wrong (below)
                face = max(faces, key=lambda f: f.box[2] * f.box[3])
                crops.append(pixels.face(face.box, predictor.margin, 48, 48, predictor.lift))
                truth.append(CLASSES.index(name))
    return np.stack(crops), np.array(truth), seen


def logits(model, faces: np.ndarray) -> np.ndarray:
    return np.log(model.predict(faces[..., None].astype("float32"), batch_size=512, verbose=0) + 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder with model.keras (7 FER2013 classes)")
    parser.add_argument("--data", default="../shared/data/fer2013")
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/london"))
    parser.add_argument("--need", default="85,75", help="London overall and per-class minimum, percent")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    need_all, need_class = (float(v) for v in args.need.split(","))
    keras = import_keras()
    import edgefer.train.keras_parts  # noqa: F401 - the distillation loss a checkpointed model may name

    model = keras.saving.load_model(args.run / "model.keras", safe_mode=True, compile=False)
    crops, truth, seen = photo_crops(args.photos)
    photo_logits = logits(model, crops)
    test_images, _, labels, majority = test_faces(args.data)
    test_logits, score, voted = logits(model, test_images), scorer(labels, majority), majority >= 0
    happy, neutral = CLASSES.index("Happy"), CLASSES.index("Neutral")
    rows = []
    for a in np.arange(0, 3.01, 0.25):
        for b in np.arange(0, 2.01, 0.25):
            shift = np.zeros(len(CLASSES))
            shift[happy], shift[neutral] = a, -b
            predicted = (photo_logits + shift).argmax(1)
            recall = {CLASSES[c]: 100 * float((predicted[truth == c] == c).sum()) / (truth == c).sum()
                      for c in (happy, neutral)}
            london = 100 * float((predicted == truth).sum()) / seen
            fer2013, ferplus = score(test_logits + shift)
            meets = london >= need_all and min(recall.values()) >= need_class
            rows.append((a, b, london, recall["Happy"], recall["Neutral"], fer2013, ferplus, meets))
    lines = [f"Command: `python research/class_bias_grid.py {args.run} --data {args.data} --photos {args.photos} "
             f"--need {args.need} --out {args.out}`", "",
             f"Run: {args.run}; London: {len(crops)} faces in {seen} photos; PublicTest {len(labels)} faces "
             f"({voted.sum()} with a FER+ majority); float logits.", "",
             "| Happy + a | Neutral - b | London | Happy / Neutral | FER2013 | FER+ majority | sum, pp | meets |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {a:.2f} | {b:.2f} | {lon:.1f}% | {h:.0f}% / {n:.0f}% | {f:.2f}% | {p:.2f}% | {f + p:.1f} | "
              f"{'yes' if ok else ''} |" for a, b, lon, h, n, f, p, ok in rows]
    meeting = [r for r in rows if r[7]]
    if meeting:
        a, b, lon, h, n, f, p, _ = max(meeting, key=lambda r: r[5] + r[6])
        lines += ["", f"Cheapest shift meeting London >= {need_all:g}% with each class >= {need_class:g}%: Happy "
                  f"+{a:.2f}, Neutral -{b:.2f}: London {lon:.1f}% ({h:.0f}% / {n:.0f}%), FER2013 {f:.2f}%, FER+ "
                  f"{p:.2f}% (sum {f + p:.1f} pp)."]
    else:
        lines += ["", "No shift in the grid meets the London criterion."]
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "grid.md") as tmp:
        tmp.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
