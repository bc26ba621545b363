"""A class's prior, shifted inside the model: a constant added to the classifier's bias for that class (its logit),
chosen on validation data, at no cost per face.

    python research/class_bias.py RUN --bias Happy=1.5 --write OUT_RUN

RUN's model.keras ends in a Dense layer named "probabilities" with a softmax: adding b to the bias of class c
multiplies that class's probability by e^b before the softmax normalises, which moves the decision boundary between c
and every other class and changes nothing else (the network, its size and its speed stay). Used for the packaged
default: FER2013's and FER+'s annotators call many posed, closed-mouth smiles of real photos Neutral, so a model
learnt from them does too; the London Set (a validation yardstick of real photos, never trained on) says how far to
move Happy, PublicTest (both label sources) what it costs on crops. OUT_RUN is a run folder (run.json, model.keras)
for `edgefer export`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from edgefer.core.keras_env import import_keras
from edgefer.core.run_folder import RunRecord


def parse_biases(text: str, classes: list[str]) -> np.ndarray:
    biases = np.zeros(len(classes), np.float32)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in classes:
            raise SystemExit(f"--bias {part}: {name!r} is not one of the run's classes ({', '.join(classes)})")
        biases[classes.index(name)] = float(value)
    return biases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--bias", required=True, help="CLASS=VALUE,...: added to those classes' logits")
    parser.add_argument("--write", type=Path, required=True)
    args = parser.parse_args()
    keras = import_keras()
    import edgefer.train.keras_parts  # noqa: F401 - the distillation loss a checkpointed model may name

    classes = RunRecord.read(args.run).classes
    biases = parse_biases(args.bias, list(classes))
    model = keras.saving.load_model(args.run / "model.keras", safe_mode=True, compile=False)
    dense = model.get_layer("probabilities")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + biases])
    args.write.mkdir(parents=True, exist_ok=True)
    for name in ("run.json", "history.csv", "metrics.json"):
        if (args.run / name).exists():
            shutil.copy(args.run / name, args.write / name)
    model.save(args.write / "model.keras")
    note = {"source_run": str(args.run), "class_bias": dict(zip(classes, biases.tolist()))}
    (args.write / "class_bias.json").write_text(json.dumps(note, indent=1) + "\n")
    print(f"wrote {args.write}/model.keras: logits + {note['class_bias']}")


if __name__ == "__main__":
    main()
