"""Cheap ways to lift a trained FER+ model without a new cosine run, each judged on the run's validation split:
weight averaging of runs of one lineage ("soup"), stochastic weight averaging over a constant-rate phase ("swa"), and
per-class logit offsets tuned on validation ("offsets"). All three keep the network, so the latency is unchanged.
"ensemble" scores averages of recorded probabilities (`edgefer teacher record`'s files: a teacher and students)
on every split, to see what an ensemble teacher would be worth, and with --weights and --save writes one as a new
recorded teacher for `edgefer train --teacher`.

    python research/ferplus_posthoc.py soup RUN_A/model.keras RUN_B/model.keras
    python research/ferplus_posthoc.py swa RUN/model.keras --out OUT --lr 2e-4 --epochs 18 --teacher TEACHER.npz
    python research/ferplus_posthoc.py swa-score RUN/model.keras OUT/swa_avg.npz
    python research/ferplus_posthoc.py offsets RUN_A/model.keras [RUN_B/model.keras ...]
    python research/ferplus_posthoc.py ensemble TEACHER.npz STUDENT_A.npz ... [--weights 2,1,1 --save MIX.npz]

The models must come from `edgefer train --labels ferplus --val-fraction 0.1 --seed 0` (the split is rebuilt from
those). Averaged weights get their BatchNorm statistics recomputed on the training faces (both figures printed).
`offsets` also prints what the tuning is worth on faces it did not see: tuned on one half of validation, scored on
the other, over 20 random halvings. Results: docs/history/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from edgefer.core.keras_env import import_keras
from edgefer.data.loading import load_dataset
from edgefer.data.splits import split_dataset
from edgefer.errors import ModelError
from edgefer.train.distill import load_teacher, write_recording


def load_splits(data: str):
    dataset = load_dataset(data, labels="ferplus")
    return split_dataset(dataset, val_fraction=0.1, seed=0, test_split="PublicTest")


def load_model(path):
    return import_keras().saving.load_model(path, safe_mode=True, compile=False)


def log_probs(model, split) -> np.ndarray:
    return np.log(model.predict(split.images.astype("float32"), batch_size=512, verbose=0) + 1e-9)


def accuracy(logits: np.ndarray, labels: np.ndarray, offsets=0.0) -> float:
    return float(((logits + offsets).argmax(1) == labels).mean())


def recompute_batchnorm(model, faces: np.ndarray, batch_size: int = 256) -> None:
    """Replace every BatchNorm layer's moving statistics by their mean over `faces` (in batches, no augmentation).
    The saved model calls its backbone in inference mode, so the backbone is driven directly, in training mode."""
    keras = import_keras()
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    preprocess = keras.Model(model.input, model.layers[model.layers.index(backbone) - 1].output)
    norms = [layer for layer in backbone._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [(layer.momentum, layer.trainable) for layer in norms]
    for layer in norms:
        layer.trainable = True  # a frozen BatchNorm runs in inference mode and updates nothing
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape))
    order = np.random.default_rng(0).permutation(len(faces))
    for k, start in enumerate(range(0, len(faces), batch_size), start=1):
        for layer in norms:
            layer.momentum = (k - 1) / k  # a running mean over the batches
        backbone(preprocess(faces[order[start:start + batch_size]].astype("float32")), training=True)
    for layer, (momentum, trainable) in zip(norms, saved):
        layer.momentum, layer.trainable = momentum, trainable


def score_weights(model, weights, splits, label: str, save: Path | None = None) -> None:
    model.set_weights(weights)
    print(f"{label}, BatchNorm statistics averaged: val {accuracy(log_probs(model, splits.val), splits.val.labels):.2%}")
    recompute_batchnorm(model, splits.train.images)
    print(f"{label}, BatchNorm recomputed: val {accuracy(log_probs(model, splits.val), splits.val.labels):.2%}, "
          f"test {accuracy(log_probs(model, splits.test), splits.test.labels):.2%}")
    if save:
        model.save(save)
        print(f"saved {save}")


def soup(args, splits) -> None:
    models = [load_model(p) for p in args.models]
    for path, model in zip(args.models, models):
        print(f"{path}: val {accuracy(log_probs(model, splits.val), splits.val.labels):.2%}")
    weights = [m.get_weights() for m in models]
    mean = [np.mean([w[i] for w in weights], axis=0) for i in range(len(weights[0]))]
    score_weights(models[0], mean, splits, f"mean of {len(models)}", args.save)


def tune_offsets(logits: np.ndarray, labels: np.ndarray, sweeps: int = 3) -> np.ndarray:
    """Per-class additive logit offsets by coordinate ascent on accuracy (ties: the offset nearest 0)."""
    grid, offsets = np.linspace(-1.5, 1.5, 31), np.zeros(logits.shape[1])
    for _ in range(sweeps):
        for k in range(len(offsets)):
            scores = []
            for value in grid:
                offsets[k] = value
                scores.append(accuracy(logits, labels, offsets))
            best = np.flatnonzero(np.array(scores) == max(scores))
            offsets[k] = grid[best[np.argmin(np.abs(grid[best]))]]
    return offsets


def offsets(args, splits) -> None:
    yv, yt = splits.val.labels, splits.test.labels
    for path in args.models:
        model = load_model(path)
        val, test = log_probs(model, splits.val), log_probs(model, splits.test)
        tuned = tune_offsets(val, yv)
        print(f"{path}: val {accuracy(val, yv):.2%} -> {accuracy(val, yv, tuned):.2%} tuned on all of it, "
              f"test {accuracy(test, yt):.2%} -> {accuracy(test, yt, tuned):.2%}; offsets {np.round(tuned, 2).tolist()}")
        gains = []
        for seed in range(10):
            order = np.random.default_rng(seed).permutation(len(yv))
            halves = order[: len(order) // 2], order[len(order) // 2:]
            for fit, held in (halves, halves[::-1]):
                tuned = tune_offsets(val[fit], yv[fit])
                gains.append(accuracy(val[held], yv[held], tuned) - accuracy(val[held], yv[held]))
        print(f"  gain on held-out validation halves: {np.mean(gains):+.2%} (sd {np.std(gains):.2%}, 20 halves)")


def swa(args, splits) -> None:
    """A constant-rate phase from a finished run (its whole model, head included), averaging the weights at every
    epoch end into OUT/swa_avg.npz (rewritten each epoch), then scored."""
    keras = import_keras()
    from edgefer.train.config import TrainConfig
    from edgefer.train.training import train

    out, start = Path(args.out), args.models[0]

    class Average(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model.set_weights(load_model(start).get_weights())
            self.total, self.count = None, 0

        def on_epoch_end(self, epoch, logs=None):
            w = self.model.get_weights()
            self.total = [a.astype(np.float64) for a in w] if self.total is None else [t + a for t, a in zip(self.total, w)]
            self.count += 1
            np.savez(out / "swa_avg.npz", *[(t / self.count).astype(np.float32) for t in self.total])
            print(f"SWA: {self.count} epoch(s) averaged; this epoch's val_accuracy {logs.get('val_accuracy'):.4f}")

    out.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(model="mobilenetv2", data=args.data, labels="ferplus", ferplus_target="votes",
                         recipe="scratch", weights=start, img_size=64, alpha=1.0, learning_rate=args.lr,
                         lr_schedule="constant", warmup_epochs=0, label_smoothing=0.0, teacher=args.teacher,
                         epochs=args.epochs, val_fraction=0.1, seed=0, out=str(out))
    train(config, callbacks=[Average()])
    swa_score(argparse.Namespace(models=[start, str(out / "swa_avg.npz")], save=args.save), splits)


def swa_score(args, splits) -> None:
    model = load_model(args.models[0])
    with np.load(args.models[1], allow_pickle=False) as saved:
        weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    score_weights(model, weights, splits, f"averaged weights {args.models[1]}", args.save)


def recorded_probs(path: str, splits) -> dict[str, np.ndarray]:
    """A recorded teacher's probabilities for each split's faces (edgefer's own lookup by row id); a split whose faces
    were not all recorded is left out (a recording made on the GPU machine holds only 300 of the test faces)."""
    recorded, probs = load_teacher(path, len(splits.train.classes)), {}
    for name in SPLIT_NAMES:
        try:
            probs[name] = recorded.recorded(getattr(splits, name).row_ids)
        except ModelError:  # edgefer's own lookup says some of this split's faces were not recorded
            continue
    return probs


SPLIT_NAMES = ("train", "val", "test")


def ensemble(args, splits) -> None:
    probs = {Path(path).stem: recorded_probs(path, splits) for path in args.models}
    names = list(probs)
    scored = [s for s in SPLIT_NAMES if all(s in probs[m] for m in names)]
    if "val" not in scored:
        raise SystemExit("the recordings do not cover the validation faces of this split; record them on the data "
                         "and with the --val-fraction/--seed the runs used")
    if len(scored) < len(SPLIT_NAMES):
        print("not recorded for every face, so not scored:", ", ".join(s for s in SPLIT_NAMES if s not in scored))
    for size in range(1, len(names) + 1):
        for members in itertools.combinations(names, size):
            scores = [accuracy(np.mean([probs[m][s] for m in members], axis=0), getattr(splits, s).labels)
                      for s in scored]
            print(" + ".join(members), " ".join(f"{s} {a:.2%}" for s, a in zip(scored, scores)))
    if args.weights:
        weights = np.array([float(w) for w in args.weights.split(",")])
        if len(weights) != len(names):
            raise SystemExit(f"--weights has {len(weights)} values for {len(names)} files")
        weights = weights / weights.sum()
        mixed = {s: sum(w * probs[m][s] for w, m in zip(weights, names)) for s in scored}
        print(f"weighted {args.weights}:", " ".join(f"{s} {accuracy(mixed[s], getattr(splits, s).labels):.2%}"
                                                    for s in scored))
        if args.save:
            save_mixture(args.models, weights, args.save)


def save_mixture(paths: list[str], weights: np.ndarray, out: Path) -> None:
    """The weighted mean of recorded files (same rows and classes) as one recorded teacher."""
    files = []
    for path in paths:
        with np.load(path, allow_pickle=False) as saved:
            files.append({key: saved[key] for key in ("row_ids", "probs", "tta", "classes")})
    rows, classes = files[0]["row_ids"], files[0]["classes"]
    for path, saved in zip(paths, files):
        if not (np.array_equal(saved["row_ids"], rows) and np.array_equal(saved["classes"], classes)):
            raise SystemExit(f"{path}: rows or classes differ from {paths[0]}; record all on the same data")
    probs = sum(w * saved["probs"].astype(np.float64) for w, saved in zip(weights, files))
    source = " + ".join(f"{w:.3f} x {Path(p).name}" for w, p in zip(weights, paths))
    write_recording(out, rows, probs, str(files[0]["tta"]), source, classes)
    print(f"wrote {out} ({source})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("how", choices=("soup", "swa", "swa-score", "offsets", "ensemble"))
    parser.add_argument("models", nargs="+", help="model.keras files (swa: the start; swa-score: the model and npz; "
                                                  "ensemble: recorded .npz files)")
    parser.add_argument("--data", default="../shared/data/fer2013")
    parser.add_argument("--out", help="swa: folder for the run and swa_avg.npz")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--teacher", help="swa: the teacher edgefer train --teacher takes")
    parser.add_argument("--save", type=Path, help="soup/swa: write the averaged model here; ensemble: the mixture")
    parser.add_argument("--weights", help="ensemble: one weight per file, comma-separated (e.g. 2,1,1)")
    args = parser.parse_args()
    if args.how == "swa" and not args.out:
        parser.error("swa needs --out")
    splits = load_splits(args.data)
    {"soup": soup, "swa": swa, "swa-score": swa_score, "offsets": offsets, "ensemble": ensemble}[args.how](args, splits)


if __name__ == "__main__":
    main()
