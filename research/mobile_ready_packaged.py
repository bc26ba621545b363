"""Give the packaged models an RGB input and standard TFLite metadata, checking they still give the same outputs.

    python research/mobile_ready_packaged.py [NAME ...]      (default: every packaged model)

For each edgefer/assets/<NAME>_model.tflite: the luma convolution in front (edgefer.export.rgb_input; kept where
there) and the standard metadata with labels.txt and model.json (edgefer.export.meta.embed_tflite, written anew; the
face crop of edgefer.predictor in model.json), as `edgefer export` does for new artifacts. Refuses to write unless the new file's outputs on all 560 sample faces (given as three equal channels)
equal the old file's bit for bit; then updates the card's sha256 and says what changed. The figures on the card stay
those of its bench run: the network is the same, plus 6,912 multiply-accumulates per face.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np

from edgefer.core.fileio import atomic_path
from edgefer.data.sample import SAMPLE_PATH
from edgefer.export.meta import embed_tflite
from edgefer.export.rgb_input import rgb_input
from edgefer.packaged import card_path
from edgefer.predictor import (
    FACE_LIFT,
    FACE_MARGIN,
    PACKAGED_MODELS,
    TFLiteModel,
    load_interpreter,
    packaged_model_path,
    read_model_meta,
)


def outputs(path_or_bytes, faces: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=path_or_bytes) if isinstance(path_or_bytes, bytes) else \
        load_interpreter(path_or_bytes)[0]
    interpreter.allocate_tensors()
    model = TFLiteModel(interpreter)
    channels = int(model.input["shape"][-1])
    batch = faces[..., None] if channels == 1 else np.repeat(faces[..., None], 3, axis=-1)
    return np.concatenate([model.run(model.quantize(batch[i:i + 1])) for i in range(len(batch))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(PACKAGED_MODELS))
    args = parser.parse_args()
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        faces = sample["images"]
    for name in args.names:
        path = packaged_model_path(name)
        old = path.read_bytes()
        meta = read_model_meta(path)
        meta["input"] = {**meta["input"], "shape": [None, 48, 48, 3], "crop": {"margin": FACE_MARGIN, "lift": FACE_LIFT},
                         "meaning": "raw 48x48 face, RGB (gray in three equal channels gives the same); gray "
                                    "conversion, resizing and scaling are inside the model"}
        new = embed_tflite(rgb_input(old), meta)  # an RGB model keeps its input; its metadata is written anew
        before, after = outputs(str(path), faces), outputs(new, faces)
        if not np.array_equal(before, after):
            raise SystemExit(f"{name}: outputs differ on the sample (max {np.abs(before - after).max()}); not written")
        with atomic_path(path) as tmp:
            tmp.write_bytes(new)
        card = json.loads(card_path(path).read_text())
        card["sha256"] = hashlib.sha256(new).hexdigest()
        card["input"] = "RGB (1, 48, 48, 3) uint8; gray inside the network; standard TFLite metadata with labels"
        with atomic_path(card_path(path)) as tmp:
            tmp.write_text(json.dumps(card, indent=1) + "\n")
        print(f"{name}: RGB input, standard metadata, crop facts; outputs on {len(faces)} sample faces identical; "
              f"{len(old):,} -> {len(new):,} bytes")


if __name__ == "__main__":
    main()
