"""Weight interpolation between a packaged model and its fine-tune (WiSE-FT: Wortsman et al., 2022), on validation.

    python research/weight_interpolation.py RUN --data ../shared/data/fer2013 [--alphas 0,0.25,0.5,0.75,1] \
        [--write OUT_RUN --pick ALPHA] [--start OTHER_RUN]

RUN is a run that fine-tuned a packaged model (`--weights default`, BatchNorm folded and frozen, so that both ends share
one architecture and one set of normalisation constants and a straight line between their weights is a model too).
For each alpha, weights = (1 - alpha) * packaged + alpha * fine-tuned; scored on the run's validation split, clean and
after the `photo` augmentation (what a camera does to a face), as the fine-tune's aim is robustness without losing
accuracy on crops. `--write` saves the interpolation at `--pick` (default: the largest degraded-validation accuracy
whose clean accuracy is within 0.3 pp of the packaged model's) as a run folder (run.json, model.keras) for
`edgefer export`. PublicTest is never looked at here. `--start OTHER_RUN`: interpolate from another run's model.keras
instead of RUN's packaged start (two runs of one architecture whose BatchNorm is folded, e.g. a run and a later one
started from its int8 export).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from edgefer.core.keras_env import import_keras
from edgefer.core.run_folder import RunRecord
from edgefer.data.loading import load_dataset
from edgefer.data.splits import run_splits
from edgefer.train.augment import AUGMENT_PRESETS, augment_epoch
from edgefer.train.config import TrainConfig
from edgefer.train.model import build_model
from edgefer.train.packaged_start import load_packaged_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--alphas", default="0,0.25,0.4,0.5,0.6,0.75,1")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--pick", type=float)
    parser.add_argument("--start", type=Path, help="a run whose model.keras is alpha 0 (default: RUN's packaged start)")
    args = parser.parse_args()

    keras = import_keras()
    record = json.loads((args.run / "run.json").read_text())
    config = TrainConfig(**{k: (tuple(v) if k == "dense_units" and v is not None else v)
                            for k, v in record["config"].items()}).validate()
    tuned = keras.saving.load_model(args.run / "model.keras", safe_mode=True, compile=False)
    start = build_model(config, len(RunRecord.read(args.run).classes), weights="none")
    if args.start is not None:
        import edgefer.train.keras_parts  # noqa: F401 - the distillation loss a checkpointed model may name

        start.full.set_weights(keras.saving.load_model(args.start / "model.keras", safe_mode=True,
                                                       compile=False).get_weights())
    else:
        classes = RunRecord.read(args.run).classes
        load_packaged_weights(start, config.packaged_source,
                              keep_classes=classes if set(classes) <= set(config.packaged_source.classes) else None)
    a, b = start.full.get_weights(), tuned.get_weights()
    assert [x.shape for x in a] == [y.shape for y in b], "the run is not a fine-tune of its packaged start"

    splits = run_splits(load_dataset(args.data), record["config"])
    val = splits.val
    clean = val.images[..., None].astype(np.float32)
    degraded = augment_epoch(val.images, AUGMENT_PRESETS["photo-all"], seed=123, epoch=0)[..., None].astype(np.float32)
    rows = []
    print(f"validation: {len(val.labels):,} faces; degraded: the photo-all augmentation, seed 123")
    print("| alpha | clean val | degraded val |")
    print("|---|---|---|")
    for alpha in [float(x) for x in args.alphas.split(",")]:
        start.full.set_weights([(1 - alpha) * x + alpha * y for x, y in zip(a, b)])
        c = np.mean(start.full.predict(clean, batch_size=256, verbose=0).argmax(1) == val.labels)
        d = np.mean(start.full.predict(degraded, batch_size=256, verbose=0).argmax(1) == val.labels)
        rows.append((alpha, c, d))
        print(f"| {alpha:.2f} | {c:.2%} | {d:.2%} |")
    base_clean = next(c for alpha, c, _ in rows if alpha == 0.0) if any(r[0] == 0.0 for r in rows) else None
    pick = args.pick
    if pick is None and base_clean is not None:
        pick = max((r for r in rows if r[1] >= base_clean - 0.003), key=lambda r: r[2])[0]
    print(f"picked alpha = {pick}")
    if args.write and pick is not None:
        start.full.set_weights([(1 - pick) * x + pick * y for x, y in zip(a, b)])
        args.write.mkdir(parents=True, exist_ok=True)
        for name in ("run.json", "history.csv", "metrics.json"):
            if (args.run / name).exists():
                shutil.copy(args.run / name, args.write / name)
        start.full.save(args.write / "model.keras")
        print(f"wrote {args.write}/model.keras (alpha {pick})")


if __name__ == "__main__":
    main()
