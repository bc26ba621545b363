"""Run a model file on a batch of raw faces: TFLite (any runtime), ONNX Runtime or Keras (the `Runner` protocol).

Every runner takes a batch in the model's input layout (for edgefer models: uint8 faces
`(N, 48, 48, 1)`) and returns float probabilities `(N, classes)`,
quantizing the input and dequantizing the output with the artifact's own parameters, so export
verification, benchmarks and the predictor compare like with like.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from edgefer.core.keras_env import import_keras
from edgefer.errors import ModelError, first_line
from edgefer.predictor import TTA_MODES, TFLiteModel, load_interpreter, with_tta


class Runner(Protocol):
    """What export checks, bench and distillation run: a batch of model inputs in, probabilities out."""

    runtime: str  # e.g. "ai-edge-litert", "onnxruntime", "keras-tensorflow"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One input's shape, e.g. (48, 48, 1)."""

    def predict(self, faces: np.ndarray, batch_size: int = 64) -> np.ndarray: ...


class TFLiteRunner:
    """predictor.TFLiteModel over whole arrays of faces, in batches; what bench and the export checks run."""

    def __init__(self, path: Path, num_threads: int | None = None, runtime: str | None = None):
        try:
            interpreter, self.runtime = load_interpreter(str(path), num_threads, prefer=runtime)
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{path}: not a loadable TFLite model ({error})") from None
        self.model = TFLiteModel(interpreter)

    @property
    def input(self) -> dict:
        return self.model.input

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.model.input["shape"][1:])

    @property
    def output(self) -> dict:
        return self.model.output

    @property
    def input_dtype(self):
        return self.model.input_dtype

    @property
    def output_dtype(self):
        return self.model.output_dtype

    def predict(self, faces: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Gray faces (N, H, W, 1) go into an RGB-input model as three equal channels (its luma gives them back)."""
        channels = int(self.model.input["shape"][-1])
        if faces.shape[-1] == 1 and channels == 3:
            faces = np.repeat(faces, 3, axis=-1)
        return np.concatenate([self.model.run(self.model.quantize(faces[start : start + batch_size]))
                               for start in range(0, len(faces), batch_size)])


class OnnxRunner:
    def __init__(self, path: Path, num_threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ModelError(f"{path}: not a loadable ONNX model ({first_line(error)})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.runtime = "onnxruntime"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.session.get_inputs()[0].shape[1:])

    def predict(self, faces: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """A model with a fixed batch (the batch-1 exports for NNAPI, CoreML and the web) is run a face at a time."""
        fixed = self.session.get_inputs()[0].shape[0]
        if isinstance(fixed, int) and fixed > 0:
            batch_size = fixed
        outputs = []
        for start in range(0, len(faces), batch_size):
            chunk = faces[start : start + batch_size].astype(np.float32)
            outputs.append(self.session.run(None, {self.input_name: chunk})[0])
        return np.concatenate(outputs)


class KerasRunner:
    def __init__(self, path: Path, num_threads: int | None = None):
        keras = import_keras()
        try:
            self.model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as error:
            raise ModelError(f"{path}: not a loadable Keras model ({first_line(error)})") from None
        self.runtime = f"keras-{keras.backend.backend()}"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.model.input_shape[1:])

    def predict(self, faces: np.ndarray, batch_size: int = 64) -> np.ndarray:
        from keras import ops

        # Direct calls, not model.predict: predict() costs ~100 ms of set-up per call at batch 1.
        return np.concatenate([ops.convert_to_numpy(self.model(faces[i : i + batch_size].astype(np.float32),
                                                               training=False))
                               for i in range(0, len(faces), batch_size)])


RUNNERS = {".tflite": TFLiteRunner, ".onnx": OnnxRunner, ".keras": KerasRunner}


def open_runner(path: Path, num_threads: int | None = None):
    path = Path(path)
    runner = RUNNERS.get(path.suffix.lower())
    if runner is None:
        raise ModelError(f"{path}: unknown model type; expected one of {', '.join(RUNNERS)}")
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    return runner(path, num_threads)


class TTARunner:
    """A runner whose probabilities average each face with its mirror image (`predictor.with_tta`)."""

    def __init__(self, runner, tta: str):
        self.runner, self.tta, self.runtime = runner, tta, runner.runtime

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.runner.input_shape

    def predict(self, faces: np.ndarray, batch_size: int = 64) -> np.ndarray:
        parts = [with_tta(lambda b: self.runner.predict(b, batch_size=len(b)), faces[i : i + batch_size], self.tta)
                 for i in range(0, len(faces), batch_size)]
        return np.concatenate(parts)


def with_tta_runner(runner, tta: str = "none"):
    if tta not in TTA_MODES:
        raise ModelError(f"test-time augmentation {tta!r}; expected one of {', '.join(TTA_MODES)}")
    return runner if tta == "none" else TTARunner(runner, tta)


def runtime_version(name: str) -> str:
    """The installed version of a runtime named as the runners name them (for reports)."""
    for dist in {"tensorflow": ("tensorflow-cpu", "tensorflow")}.get(name, (name,)):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"
