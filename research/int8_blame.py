"""Which part of a network breaks full-integer int8: quantize one block at a time, the rest in float.

    python research/int8_blame.py RUN_DIR [--data PATH] [--calib-samples 300] [--check-samples 300]

When `edgefer export --int8` rejects a model (EfficientNetB0 from scratch collapses to one class),
this says where. It converts the run's model with the same calibration faces as `edgefer export`
(TensorFlow's QuantizationDebugger, float input/output), and for each block (stem, block 1..N, head)
builds a model in which only that block's ops are int8 and every other op stays float; each model is
scored on the export's check faces (validation rows) for accuracy and top-1 agreement with Keras.
A block whose int8 alone costs most of the accuracy is the culprit. It then lists the activations
with the coarsest int8 step (scale): a step of several units on a tensor whose values are mostly
near zero rounds them away, the usual cause (outlier channels).

Needs TensorFlow (the `train` extra). One conversion per block: about 15 s each at 64 px on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from edgefer.core.backends import KerasRunner, TFLiteRunner
from edgefer.core.conversion import representative_faces, tflite_converter
from edgefer.export.run import calibration_and_check_faces, resolve_run

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads (lazily, in the functions below)

# "block7a_expand_conv" (EfficientNet), "block_16_project" (MobileNetV2) -> block number.
BLOCK = re.compile(r"block_?(\d+)")


def block_names(tensor_names: list[str]) -> list[str]:
    """The block of each tensor, in graph order: 'block N' from its name; ops before the first block are
    the 'stem' (resize, scaling, first conv), ops after the last one the 'head' (top conv, pooling, classifier)."""
    numbered = [BLOCK.search(name) for name in tensor_names]
    positions = [i for i, match in enumerate(numbered) if match]
    first, last = (positions[0], positions[-1]) if positions else (len(tensor_names), -1)
    return [f"block {int(match.group(1))}" if match else "stem" if i < first else "head" if i > last else "other"
            for i, match in enumerate(numbered)]


def _converter(model, calibration):
    """export's converter with its int8 calibration; float input/output, as the debugger needs."""
    tf, converter = tflite_converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_faces(calibration)
    return converter


def layer_statistics(model, calibration, faces) -> list[dict]:
    """Per quantized op: its int8 scale and its own error (QuantizationDebugger's layer statistics)."""
    import tensorflow as tf

    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every captured tensor
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=_converter(model, calibration), debug_dataset=_debug_faces(faces))
        debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    return list(csv.DictReader(io.StringIO(dump.getvalue())))


def _debug_faces(faces, n: int = 16):
    def generate():
        for face in faces[:n]:
            yield [face[None].astype(np.float32)]

    return generate


def quantize_only(model, calibration, faces, float_nodes: list[str]) -> bytes:
    """The model with every op int8 except `float_nodes`, which stay float."""
    import tensorflow as tf

    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=float_nodes)
    with contextlib.redirect_stdout(io.StringIO()):
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=_converter(model, calibration), debug_dataset=_debug_faces(faces), debug_options=options)
        return debugger.get_nondebug_quantized_model()


def score(model_bytes: bytes, faces, labels, keras_pred) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.tflite"
        path.write_bytes(model_bytes)
        pred = TFLiteRunner(path).predict(faces).argmax(1)
    return float((pred == labels).mean()), float((pred == keras_pred).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", default=None)
    parser.add_argument("--calib-samples", type=int, default=300)
    parser.add_argument("--check-samples", type=int, default=300)
    parser.add_argument("--top", type=int, default=8, help="activations listed by int8 step")
    args = parser.parse_args()

    source = resolve_run(args.run)
    keras_model = KerasRunner(source.model_path)
    calibration, faces, labels = calibration_and_check_faces(source, args.data, args.calib_samples,
                                                             args.check_samples)
    keras_pred = keras_model.predict(faces).argmax(1)
    stats = layer_statistics(keras_model.model, calibration, faces)
    names = [row["tensor_name"] for row in stats]
    blocks = block_names(names)
    print(f"{source.run.config['model']} {source.run.config['img_size']}px, {len(faces)} check faces, "
          f"Keras accuracy {float((keras_pred == labels).mean()):.1%}; int8 in one block at a time, the rest float")
    print(f"{'int8 block':12s} {'ops':>4s} {'accuracy':>9s} {'agreement':>10s}")
    for block in dict.fromkeys(blocks):
        accuracy, agreement = score(quantize_only(keras_model.model, calibration, faces,
                                                  [name for name, of in zip(names, blocks) if of != block]),
                                    faces, labels, keras_pred)
        print(f"{block:12s} {blocks.count(block):4d} {accuracy:9.1%} {agreement:10.1%}", flush=True)

    print("\ncoarsest int8 steps (scale = value of one int8 step; range is about 255 steps):")
    for row in sorted(stats, key=lambda r: -float(r["scale"]))[: args.top]:
        print(f"  {row['op_name']:18s} scale {float(row['scale']):8.3g}  {row['tensor_name'].split(';')[0]}")


if __name__ == "__main__":
    main()
