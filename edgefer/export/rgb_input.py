"""Give a gray-input TFLite classifier an RGB input, with the gray conversion inside the network.

Phone toolchains hand a model camera frames in RGB: MediaPipe Tasks' ImageClassifier accepts only input tensors of
depth 3 or 4, and refuses edgefer's (1, H, W, 1) models at creation. This module rewrites a converted model's
flatbuffer so that its input is (1, H, W, 3) and a fixed 1x1 convolution computes luma in front of the unchanged
network (`rgb_input`), for float and for full-integer models alike, without the Keras model (so the packaged models,
which ship as TFLite only, get it too).

The convolution's weights are (65, 127, 26) / 218: ITU-R 601 luma (0.299, 0.587, 0.114) to within 0.005, summing to
exactly 1, and exactly representable in int8 with one scale (1/218). A gray image given as three equal channels
therefore comes out of it unchanged in every format, bit for bit in int8 (the accumulator is 218 * g, requantized by
1/218), so the RGB model's outputs on gray faces are the gray model's outputs.

Needs TensorFlow's flatbuffer schema (`edgefer[train]`), as conversion does.
"""

from __future__ import annotations

import numpy as np

from edgefer.errors import ModelError

LUMA_NUMERATORS = (65, 127, 26)
LUMA_DENOMINATOR = 218  # sum of the numerators: gray in, the same gray out
LUMA = tuple(n / LUMA_DENOMINATOR for n in LUMA_NUMERATORS)


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    return schema, flatbuffer_utils


def _opcode(model, schema, builtin: int) -> int:
    """Index of the operator code for `builtin` in the model, added when missing."""
    for index, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return index
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _buffer(model, schema, values: np.ndarray) -> int:
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), np.uint8)
    model.buffers.append(buffer)
    return len(model.buffers) - 1


def _tensor(graph, schema, name: str, shape, dtype: int, buffer: int = 0, quantization=None,
            shape_signature=None) -> int:
    tensor = schema.TensorT()
    tensor.name, tensor.shape, tensor.type, tensor.buffer = name.encode(), list(shape), dtype, buffer
    tensor.quantization = quantization
    if shape_signature is not None:
        tensor.shapeSignature = list(shape_signature)
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _quantization(schema, scales, zero_points, dimension: int = 0):
    q = schema.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = list(scales), list(zero_points), dimension
    return q


def input_channels(model_bytes: bytes) -> int:
    schema, _ = _schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model_bytes, 0))
    graph = model.subgraphs[0]
    return int(graph.tensors[graph.inputs[0]].shape[-1])


def rgb_input(model_bytes: bytes) -> bytes:
    """The model with a (N, H, W, 3) input of the same dtype and quantization, luma computed inside; a model whose
    input has 3 channels already is returned as it is."""
    schema, flatbuffer_utils = _schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(bytearray(model_bytes), 0))
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1:
        raise ModelError(f"an RGB input needs a model with one input; this one has {len(graph.inputs)}")
    gray_index = int(graph.inputs[0])
    gray = graph.tensors[gray_index]
    if int(gray.shape[-1]) == 3:
        return bytes(model_bytes)
    if len(gray.shape) != 4 or int(gray.shape[-1]) != 1:
        raise ModelError(f"an RGB input replaces a (N, H, W, 1) input; this model takes {list(gray.shape)}")
    T = schema.TensorType
    shape = [int(v) for v in gray.shape[:3]] + [3]
    signature = None if gray.shapeSignature is None else [int(v) for v in gray.shapeSignature[:3]] + [3]
    rgb_index = _tensor(graph, schema, (gray.name or b"input").decode(), shape, gray.type,
                        quantization=gray.quantization, shape_signature=signature)
    gray.name = b"gray_from_rgb"
    conv = schema.OperatorT()
    conv.opcodeIndex = _opcode(model, schema, schema.BuiltinOperator.CONV_2D)
    options = schema.Conv2DOptionsT()
    options.padding, options.strideW, options.strideH = schema.Padding.VALID, 1, 1
    options.dilationWFactor = options.dilationHFactor = 1
    options.fusedActivationFunction = schema.ActivationFunctionType.NONE
    conv.builtinOptionsType, conv.builtinOptions = schema.BuiltinOptions.Conv2DOptions, options
    if gray.type == T.FLOAT32:
        weights = _tensor(graph, schema, "luma_weights", [1, 1, 1, 3], T.FLOAT32,
                          _buffer(model, schema, np.array(LUMA, np.float32)))
        bias = _tensor(graph, schema, "luma_bias", [1], T.FLOAT32, _buffer(model, schema, np.zeros(1, np.float32)))
        conv.inputs, conv.outputs = [rgb_index, weights, bias], [gray_index]
        position = 0
    elif gray.type == T.UINT8:
        # Full-integer edgefer models: raw uint8 pixels in, then QUANTIZE to int8. The QUANTIZE now takes the RGB
        # input and gives RGB int8 (same scale and zero point); the luma convolution gives what it gave before.
        first = next((i for i, op in enumerate(graph.operators) if gray_index in list(op.inputs)), None)
        op = graph.operators[first] if first is not None else None
        code = model.operatorCodes[op.opcodeIndex] if op is not None else None
        if code is None or max(code.builtinCode, code.deprecatedBuiltinCode) != schema.BuiltinOperator.QUANTIZE:
            raise ModelError("a uint8-input model is expected to start with a QUANTIZE to int8")
        quantized = graph.tensors[op.outputs[0]]
        if quantized.type != T.INT8:
            raise ModelError("a uint8-input model is expected to quantize its input to int8")
        rgb_int8 = _tensor(graph, schema, "rgb_int8", shape, T.INT8, quantization=quantized.quantization,
                           shape_signature=signature)
        op.inputs, old_output = [rgb_index], op.outputs[0]
        op.outputs = [rgb_int8]
        step = 1.0 / LUMA_DENOMINATOR
        input_scale = float(quantized.quantization.scale[0])
        weights = _tensor(graph, schema, "luma_weights", [1, 1, 1, 3], T.INT8,
                          _buffer(model, schema, np.array(LUMA_NUMERATORS, np.int8)),
                          quantization=_quantization(schema, [step], [0]))
        bias = _tensor(graph, schema, "luma_bias", [1], T.INT32, _buffer(model, schema, np.zeros(1, np.int32)),
                       quantization=_quantization(schema, [input_scale * step], [0]))
        conv.inputs, conv.outputs = [rgb_int8, weights, bias], [old_output]
        position = first + 1
    else:
        raise ModelError(f"an RGB input is made for float32 or uint8 inputs; this model takes tensor type {gray.type}")
    graph.operators.insert(position, conv)
    graph.inputs = [rgb_index]
    for signature_def in model.signatureDefs or []:
        for entry in signature_def.inputs or []:
            if entry.tensorIndex == gray_index:
                entry.tensorIndex = rgb_index
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
