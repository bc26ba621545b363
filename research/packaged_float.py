"""A packaged model as a float fp32 TFLite (its int8 weights dequantized into the Keras model, then converted):
a teacher or ensemble member that gives float probabilities instead of the int8 model's 1/256 steps.

    python research/packaged_float.py default OUT.tflite
    python research/packaged_float.py default OUT.keras    # the float Keras model itself (a teacher on a GPU)
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgefer.core.conversion import tflite_fp32
from edgefer.core.fileio import atomic_path
from edgefer.export.meta import embed_tflite
from edgefer.train.config import TrainConfig
from edgefer.train.model import build_model
from edgefer.train.packaged_start import load_packaged_weights, packaged_source


def main() -> None:
    name, out = sys.argv[1], Path(sys.argv[2])
    source = packaged_source(name)
    fer = build_model(TrainConfig(weights=name).validate(), len(source.classes))
    load_packaged_weights(fer, source, keep_classes=source.classes)
    meta = {"classes": source.classes, "model": source.model, "img_size": source.img_size, "format": "fp32",
            "source": f"packaged {name}, int8 weights dequantized"}
    with atomic_path(out) as tmp:
        if out.suffix == ".keras":
            fer.full.save(tmp)
        else:
            tmp.write_bytes(embed_tflite(tflite_fp32(fer.full), meta))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
