"""Registry of export formats: how each artifact is converted from the Keras model and checked.

TFLite goes through `TFLiteConverter.from_keras_model` (Keras 3's `model.export` with a Resizing
layer runs BatchNorm in training mode; see benchmarks/README.md), then gets an RGB input with the gray conversion
inside (`edgefer.export.rgb_input`: what phone toolchains feed) and standard TFLite metadata (`edgefer.export.meta`).
ONNX goes through
`tf2onnx.convert.from_keras` at opset 17 with a dynamic batch dimension. int8 ONNX is
onnxruntime static quantization (QOperator: the fast int8 form on CPUs) with uint8 activations and
int8 weights in 7-bit range (`reduce_range`). Why 7 bits: on x86 CPUs without VNNI (AVX2, and
AVX-512 before VNNI), onnxruntime's int8 GEMM multiplies u8 x s8 pairs with vpmaddubsw, whose
16-bit sums saturate when weights use the full int8 range: the artifact's accuracy then collapses
on those CPUs only (measured on the synthetic test model under an emulated AVX2 EPYC:
U8U8 and S8S8 67-73% against 99% for Keras; with reduce_range 99%, and the same on AVX-512 VNNI).
tests/export/test_export.py re-checks it under `qemu-x86_64-static -cpu EPYC-Rome` where qemu is installed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from edgefer.cli_support import option
from edgefer.core.conversion import representative_faces, tensorflow, tflite_converter, tflite_fp32
from edgefer.errors import ModelError, first_line
from edgefer.export.meta import embed_onnx, embed_tflite
from edgefer.export.rgb_input import rgb_input
from edgefer.predictor import find_interpreter

ONNX_OPSET = 17


def write_tflite(artifact: bytes, path: Path, meta: dict | None) -> None:
    """The flatbuffer, with edgefer's facts appended as a zip (edgefer.export.meta), in one write."""
    path.write_bytes(embed_tflite(bytes(artifact), meta) if meta else bytes(artifact))


def write_onnx(artifact, path: Path, meta: dict | None) -> None:
    import onnx

    if meta:
        embed_onnx(artifact, meta)
    onnx.save(artifact, path)


def _tensor_io(details: dict) -> dict:
    scale, zero = details["quantization"]
    return {"dtype": np.dtype(details["dtype"]).name, "scale": float(scale), "zero_point": int(zero)}


def tflite_io(artifact: bytes) -> dict:
    """Input and output dtype/scale/zero point of an in-memory TFLite model (for its metadata)."""

    interpreter_class, _ = find_interpreter()
    try:
        interpreter = interpreter_class(model_content=bytes(artifact))
    except (ValueError, RuntimeError) as error:
        raise ModelError(f"not a loadable TFLite model ({first_line(error)})") from None
    return {"input": _tensor_io(interpreter.get_input_details()[0]),
            "output": _tensor_io(interpreter.get_output_details()[0])}


def onnx_io(artifact) -> dict:
    """edgefer's ONNX artifacts take and give float32 (int8 ONNX quantizes inside the graph)."""
    return {"input": {"dtype": "float32", "scale": 1.0, "zero_point": 0},
            "output": {"dtype": "float32", "scale": 1.0, "zero_point": 0}}


@dataclass(frozen=True)
class ExportFormat:
    name: str
    filename: str
    description: str
    quantized: bool  # checked by accuracy against Keras (within 1 pp) rather than top-1 agreement
    convert: Callable[[object, np.ndarray], bytes | object]  # (keras model, calibration faces) -> artifact
    in_all: bool = True  # part of `export --all` (formats that work for every model)
    write: Callable[[object, Path, dict | None], None] = write_tflite  # (artifact, path, metadata) -> file
    io: Callable[[object], dict] = tflite_io  # artifact -> {"input": {...}, "output": {...}} dtype/scale/zero
    batch: int | None = None  # a fixed batch size (None: any)


def with_rgb_input(convert: Callable[[object, np.ndarray], bytes]) -> Callable[[object, np.ndarray], bytes]:
    """A TFLite converter whose artifact takes RGB (luma inside, `edgefer.export.rgb_input`): what every TFLite format
    registered below exports; the converters themselves make the gray-input flatbuffer."""

    def convert_rgb(model, calibration) -> bytes:
        return rgb_input(convert(model, calibration))

    convert_rgb.__name__ = f"{convert.__name__}_rgb"
    return convert_rgb


def tflite_fp16(model, calibration) -> bytes:
    tf, converter = tflite_converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def tflite_dynamic(model, calibration) -> bytes:
    tf, converter = tflite_converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # Per-channel dense quantization gives FULLY_CONNECTED v12, which tflite-runtime 2.14 cannot load;
    # per-tensor gives v9, which it loads (measured: same accuracy).
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    return converter.convert()


def tflite_int8(model, calibration) -> bytes:
    tf, converter = tflite_converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    converter.representative_dataset = representative_faces(calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    # uint8 in (raw pixels, see above); uint8 out: probabilities with scale 1/256.
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    return converter.convert()


def tflite_int16x8(model, calibration) -> bytes:
    """int8 weights, int16 activations: the known remedy when full int8 collapses (swish and
    squeeze-excite in EfficientNet). Float input/output; needs a CPU runtime, not an int8-only NPU."""
    tf, converter = tflite_converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_faces(calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    return converter.convert()


def onnx_fp32(model, calibration, batch: int | None = None):
    tf = tensorflow()
    import tf2onnx

    signature = (tf.TensorSpec((batch, 48, 48, 1), tf.float32, name="face"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=ONNX_OPSET)
    return proto


def onnx_fp32_batch1(model, calibration):
    """A fixed batch of 1: ONNX Runtime's NNAPI and CoreML execution providers (and onnxruntime-web's WebGPU/WebNN)
    place nodes only where every shape is static."""
    return onnx_fp32(model, calibration, batch=1)


def _quantized_onnx(proto, calibration, quant_format, per_channel: bool):
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static

    class Faces(CalibrationDataReader):
        def __init__(self, name):
            self.items = iter([{name: face[None].astype(np.float32)} for face in calibration])

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(proto, source)
        quantize_static(str(source), str(target), Faces(proto.graph.input[0].name), quant_format=quant_format,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=per_channel,
                        reduce_range=True)
        return onnx.load(str(target))


def onnx_int8(model, calibration):
    from onnxruntime.quantization import QuantFormat

    return _quantized_onnx(onnx_fp32(model, calibration), calibration, QuantFormat.QOperator, per_channel=True)


def onnx_qdq(model, calibration):
    """int8 in the QDQ form (QuantizeLinear / DequantizeLinear around float operators), batch 1: what the NNAPI,
    CoreML and QNN execution providers take (the QOperator form's com.microsoft QLinear* operators block them).
    Per-tensor weights, u8 activations and 7-bit s8 weights (see the module docstring)."""
    from onnxruntime.quantization import QuantFormat

    return _quantized_onnx(onnx_fp32_batch1(model, calibration), calibration, QuantFormat.QDQ, per_channel=False)


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("fp32", "model_fp32.tflite", "TFLite float32, RGB in", False, with_rgb_input(tflite_fp32)),
        ExportFormat("fp16", "model_fp16.tflite", "TFLite float16 weights, RGB in", False, with_rgb_input(tflite_fp16)),
        ExportFormat("dynamic", "model_dynamic.tflite", "TFLite dynamic-range int8 weights, RGB in", True,
                     with_rgb_input(tflite_dynamic)),
        ExportFormat("int8", "model_int8.tflite", "TFLite full-integer int8, uint8 RGB in / uint8 out", True,
                     with_rgb_input(tflite_int8)),
        # Not in --all: LiteRT refuses some int16x8 models at load time ("no_integer_overflow_from_quantization
        # ... DEPTHWISE_CONV_2D failed to prepare"; measured on untrained MobileNetV2 at 64 and 224 px, while
        # trained MobileNetV2-96 and EfficientNetB0 load). When asked for, such a file is rejected with that reason.
        ExportFormat("int16x8", "model_int16x8.tflite", "TFLite int8 weights, int16 activations, float RGB in/out",
                     True, with_rgb_input(tflite_int16x8), in_all=False),
        ExportFormat("onnx", "model.onnx", f"ONNX float32, opset {ONNX_OPSET}, dynamic batch", False, onnx_fp32,
                     write=write_onnx, io=onnx_io),
        ExportFormat("onnx-int8", "model_int8.onnx", "ONNX int8 (ORT static, QOperator, u8 activations, 7-bit s8 weights)",
                     True, onnx_int8, write=write_onnx, io=onnx_io),
        ExportFormat("onnx-b1", "model_b1.onnx", f"ONNX float32, opset {ONNX_OPSET}, batch 1 static (NNAPI, CoreML, "
                     "the web)", False, onnx_fp32_batch1, write=write_onnx, io=onnx_io, batch=1),
        ExportFormat("onnx-qdq", "model_qdq.onnx", "ONNX int8 QDQ, batch 1 static (NNAPI, CoreML, QNN)", True,
                     onnx_qdq, write=write_onnx, io=onnx_io, batch=1),
    )
}
DEFAULT_FORMATS = ("int8", "onnx")
ALL_FORMATS = tuple(name for name, f in EXPORT_FORMATS.items() if f.in_all)


def chosen_formats(flags: dict[str, bool], names: str | None, every: bool) -> list[str]:
    """The formats `edgefer export` makes: those flagged or named (--format a,b), all of ALL_FORMATS plus those
    with --all, or DEFAULT_FORMATS when none is asked for; an unknown name is a ModelError."""
    named = [n.strip() for n in (names or "").split(",") if n.strip()]
    unknown = [n for n in named if n not in EXPORT_FORMATS]
    if unknown:
        raise ModelError(f"--format {', '.join(unknown)}; expected one of {', '.join(EXPORT_FORMATS)}")
    asked = [f for f in EXPORT_FORMATS if flags.get(f) or f in named]
    if every:
        return [f for f in EXPORT_FORMATS if f in ALL_FORMATS or f in asked]
    return asked or list(DEFAULT_FORMATS)


@dataclass
class ExportOptions:
    """Every option of `edgefer export` (flag, default and help in each field's metadata); `formats()` is the list
    `export_run` takes."""

    int8: bool = field(default=False, metadata=option(
        "--int8", "TFLite full-integer int8 with uint8 input/output (raw pixels in)."))
    fp16: bool = field(default=False, metadata=option("--fp16", "TFLite with float16 weights."))
    dynamic: bool = field(default=False, metadata=option(
        "--dynamic", "TFLite dynamic-range (int8 weights, float activations)."))
    fp32: bool = field(default=False, metadata=option("--fp32", "TFLite float32."))
    int16x8: bool = field(default=False, metadata=option(
        "--int16x8", "TFLite int8 weights + int16 activations: the remedy when int8 collapses (EfficientNet)."))
    onnx: bool = field(default=False, metadata=option("--onnx", "ONNX float32 (tf2onnx, opset 17, dynamic batch)."))
    onnx_int8: bool = field(default=False, metadata=option(
        "--onnx-int8", "ONNX int8 (onnxruntime static quantization)."))
    all_formats: bool = field(default=False, metadata=option(
        "--all", "Every format above that loads for every model: all but --int16x8 (ask for it by name)."))
    format_names: str | None = field(default=None, metadata=option(
        "--format", f"Formats by name, comma-separated: {', '.join(EXPORT_FORMATS)} (the flags above are aliases)."))
    calib_samples: int = field(default=300, metadata=option(
        "--calib-samples", "Training faces (stratified) used to calibrate int8.", min=1))
    check_samples: int = field(default=300, metadata=option(
        "--check-samples", "Validation faces each artifact is checked on.", min=1))
    data: Path | None = field(default=None, metadata=option(
        "--data", "Data for calibration and checks (default: the run's own)."))
    out: Path | None = field(default=None, metadata=option("--out", "Output folder (default: export/<run-name>)."))

    def formats(self) -> list[str]:
        flags = {"int8": self.int8, "int16x8": self.int16x8, "fp16": self.fp16, "dynamic": self.dynamic,
                 "fp32": self.fp32, "onnx": self.onnx, "onnx-int8": self.onnx_int8}
        return chosen_formats(flags, self.format_names, self.all_formats)
