"""The weight of face-api.js in a two-member teacher, measured on validation faces, clean and camera-degraded.

    python research/teacher_mix.py --data ../shared/data/fer2013 \
        --base teachers/default_model_flip.npz --other teachers/faceapi_expression_flip.npz \
        --base-model default --other-model peers/faceapi/faceapi_expression.tflite --write teachers/mix.npz

Two recorded teachers (`edgefer teacher record`: each face's flip-averaged probabilities) are mixed as
(1 - w) * base + w * other for w in 0, 0.1, ..., 1 and scored on the validation split the packaged models were trained
beside (10% of Training, split seed 0): never PublicTest, which stays for the ship rule. A second column scores the
same mixture on the validation faces after the `photo-all` augmentation (every face: rotation, crop jitter, resolution loss, blur,
JPEG, noise, exposure), run live through both models: what a teacher says of faces as a camera delivers them.
`--write` saves the mixture at the chosen weight (`--pick`, default: the best on the degraded column whose clean
accuracy is within 1 pp of the best clean one) as a recorded teacher for `edgefer train --teacher`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from edgefer.core.backends import open_runner
from edgefer.data.loading import load_dataset
from edgefer.data.splits import split_dataset
from edgefer.predictor import resolve_model_path, with_tta
from edgefer.train.augment import AUGMENT_PRESETS, augment_epoch
from edgefer.train.distill import write_recording


def recorded(path: Path) -> tuple[dict[int, int], np.ndarray, str]:
    with np.load(path, allow_pickle=False) as saved:
        rows, probs, tta = saved["row_ids"], saved["probs"].astype(np.float32), str(saved["tta"])
    return {int(r): i for i, r in enumerate(rows)}, probs, tta


def live(model: str, faces: np.ndarray) -> np.ndarray:
    runner = open_runner(resolve_model_path(model), num_threads=2)
    return with_tta(lambda batch: runner.predict(batch, 256), faces, "flip")  # flip-averaged, as recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--other", type=Path, required=True)
    parser.add_argument("--base-model", required=True, help="the base teacher as a model (for the degraded column)")
    parser.add_argument("--other-model", required=True)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--pick", type=float, help="the weight to write (default: chosen as the docstring says)")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    dataset = load_dataset(args.data)
    val = split_dataset(dataset, val_fraction=args.val_fraction, seed=args.split_seed).val
    (base_index, base, _), (other_index, other, _) = recorded(args.base), recorded(args.other)
    rows = [int(r) for r in val.row_ids]
    clean_base, clean_other = base[[base_index[r] for r in rows]], other[[other_index[r] for r in rows]]
    degraded_faces = augment_epoch(val.images, AUGMENT_PRESETS["photo-all"], seed=123, epoch=0)[..., None]
    deg_base, deg_other = live(args.base_model, degraded_faces), live(args.other_model, degraded_faces)

    weights = np.round(np.arange(0, 1.01, 0.1), 2)
    table = []
    print(f"validation: {len(rows):,} faces (val fraction {args.val_fraction}, split seed {args.split_seed})")
    print("| w (other) | clean val | degraded val | degraded macro-recall |")
    print("|---|---|---|---|")
    for w in weights:
        clean = ((1 - w) * clean_base + w * clean_other).argmax(1)
        deg = ((1 - w) * deg_base + w * deg_other).argmax(1)
        recall = np.mean([np.mean(deg[val.labels == c] == c) for c in np.unique(val.labels)])
        table.append((w, np.mean(clean == val.labels), np.mean(deg == val.labels), recall))
        print(f"| {w:.1f} | {table[-1][1]:.2%} | {table[-1][2]:.2%} | {recall:.2%} |")
    if args.pick is None:
        best_clean = max(t[1] for t in table)
        pick = max((t for t in table if t[1] >= best_clean - 0.01), key=lambda t: t[2])[0]
    else:
        pick = args.pick
    print(f"picked w = {pick:.1f}")
    if args.write:
        shared = [r for r in base_index if r in other_index]
        mix = (1 - pick) * base[[base_index[r] for r in shared]] + pick * other[[other_index[r] for r in shared]]
        write_recording(args.write, np.array(shared), mix, "flip",
                        f"{1 - pick:.1f} x {args.base} + {pick:.1f} x {args.other}", dataset.classes)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
