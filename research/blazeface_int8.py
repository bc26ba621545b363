"""Would an int8 BlazeFace make detection cheaper and still find the same faces? Tried; not kept.

    python research/blazeface_int8.py [--data ../shared/data/fer2013] [--out OUT] [--quantized-heads]

Rebuilds the shipped BlazeFace short-range as a TensorFlow graph from its TFLite file (every op of the file mapped to
its TF op, weights dequantized from float16; checked equal to the TFLite model on a random view), converts it to
full-integer int8 with float input and output, calibrated on the real photos of the photo set (no FER2013 face), with
the four head convolutions left in float unless --quantized-heads (quantized, the face logits come out in steps of
about 2 logits: their range spans thousands because of the black padding). Then times `invoke` of both at 128x128,
144x192 and 144x256, and runs the shipped detector with each file on the photo and frame sets as
research/detector_views.py does (faces found, detections on no face, p50 ms of detect).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_views import measure, table  # noqa: E402

from edgefer.bench.frames import open_frame_set  # noqa: E402
from edgefer.bench.photos import open_photo_set  # noqa: E402
from edgefer.predictor import BlazeFaceDetector, FramePixels, find_blazeface, load_interpreter, open_image  # noqa: E402

HEADS = ["add_49;Conv2D_17;add_49/y1", "add_51;Conv2D_19;add_51/y1", "add_50;Conv2D_18;add_50/y1",
         "add_52;Conv2D_20;add_52/y1"]  # the head convolutions' tensors in the converted graph


def tf_graph(source: Path):
    """A function x (1, H, W, 3) -> (regressors, classificators) doing what the TFLite file at `source` does."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(source))
    graph = model.subgraphs[0]
    op_names = {v: k for k, v in schema.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    codes = [op_names[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in model.operatorCodes]
    padding = {0: "SAME", 1: "VALID"}
    types = {schema.TensorType.FLOAT16: np.float16, schema.TensorType.FLOAT32: np.float32,
             schema.TensorType.INT32: np.int32}

    def constant(index):
        tensor = graph.tensors[index]
        return np.frombuffer(bytes(model.buffers[tensor.buffer].data), types[tensor.type]).reshape(tensor.shape)

    weights = {op.outputs[0]: constant(op.inputs[0]).astype(np.float32)
               for op in graph.operators if codes[op.opcodeIndex] == "DEQUANTIZE"}

    def run(x):
        values = {graph.inputs[0]: x}
        for op in graph.operators:
            name, options = codes[op.opcodeIndex], op.builtinOptions
            if name == "DEQUANTIZE":
                continue
            first = values.get(op.inputs[0])
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                assert getattr(options, "fusedActivationFunction", 0) == 0
                kernel = np.transpose(weights[op.inputs[1]], (1, 2, 3, 0))
                if name == "CONV_2D":
                    y = tf.nn.conv2d(first, kernel, options.strideH, padding[options.padding])
                else:
                    y = tf.nn.depthwise_conv2d(first, kernel, [1, options.strideH, options.strideW, 1],
                                               padding[options.padding])
                y = y + weights[op.inputs[2]]
            elif name == "ADD":
                y = first + values[op.inputs[1]]
            elif name == "RELU":
                y = tf.nn.relu(first)
            elif name == "MAX_POOL_2D":
                y = tf.nn.max_pool2d(first, options.filterHeight, options.strideH, padding[options.padding])
            elif name == "PAD":
                y = tf.pad(first, constant(op.inputs[1]))
            elif name == "RESHAPE":
                y = tf.reshape(first, [1, -1, int(graph.tensors[op.outputs[0]].shape[-1])])
            elif name == "CONCATENATION":
                y = tf.concat([values[i] for i in op.inputs], axis=options.axis)
            else:
                raise ValueError(f"op {name} not mapped")
            values[op.outputs[0]] = y
        out = {graph.tensors[i].name.decode(): values[i] for i in graph.outputs}
        return out["regressors"], out["classificators"]

    return tf.function(run, input_signature=[tf.TensorSpec([1, 128, 128, 3], tf.float32)])


def calibration_views(files: list[Path]):
    """Each photo as the detector sees it, on a 128x128 canvas (the converter's input)."""
    for file in files:
        image = open_image(file).convert("RGB")
        view = BlazeFaceDetector.views(image.height, image.width)[0]
        tensor = BlazeFaceDetector.view_input(FramePixels(image), view)
        canvas = np.full((128, 128, 3), -1.0, np.float32)
        h, w = min(128, tensor.shape[0]), min(128, tensor.shape[1])
        canvas[:h, :w] = tensor[:h, :w]
        yield [canvas[None]]


def p50_invoke_ms(path: Path, shape, runs: int = 200) -> float:
    interpreter, _ = load_interpreter(path, 1)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, shape)
    interpreter.allocate_tensors()
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    times = []
    for i in range(runs + 20):
        start = time.perf_counter()
        interpreter.set_tensor(index, x)
        interpreter.invoke()
        if i >= 20:
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="FER2013 folder for the photo set's proxy (default: the sample)")
    parser.add_argument("--out", type=Path, default=Path("bench/blazeface-int8"))
    parser.add_argument("--quantized-heads", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import tensorflow as tf

    from edgefer.core.fileio import atomic_path

    source = find_blazeface()
    function = tf_graph(source)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
    interpreter, _ = load_interpreter(source, 1)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    reference = {int(d["shape"][-1]): interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
    boxes, logits = (t.numpy() for t in function(tf.constant(x)))
    print(f"TF rebuild vs TFLite: max |diff| regressors {np.abs(boxes - reference[16]).max():.2e}, "
          f"classificators {np.abs(logits - reference[1]).max():.2e}")

    frame_set = open_frame_set("sample", args.out)
    photos = open_photo_set("sample", args.out, args.data, 30)
    real = sorted((args.out / "photos" / "real").glob("*.jpg"))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: calibration_views(real)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=lambda: calibration_views(real),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=[] if args.quantized_heads else HEADS))
    path = args.out / "blazeface_int8.tflite"
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(debugger.get_nondebug_quantized_model())
    for shape in ([1, 128, 128, 3], [1, 144, 192, 3], [1, 144, 256, 3]):
        print(f"{shape[1]}x{shape[2]}: p50 invoke float {p50_invoke_ms(source, shape):.3f} ms, "
              f"int8 {p50_invoke_ms(path, shape):.3f} ms")

    class Int8Detector(BlazeFaceDetector):
        def __init__(self, num_threads=None):
            super().__init__(num_threads, model_path=path)

    detectors = {"float": BlazeFaceDetector(num_threads=1), "int8": Int8Detector(num_threads=1)}
    sets = {"photos": photos, "frames": open_photo_set(str(Path(frame_set.files[0]).parent), args.out)}
    for name, frames in sets.items():
        print("\n".join(table(f"{name} set", measure(frames, detectors, args.rounds), list(detectors))))


if __name__ == "__main__":
    main()
