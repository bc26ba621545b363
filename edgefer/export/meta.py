"""Labels and input facts that travel inside each artifact and beside it.

TFLite: standard TFLite Model Metadata (`edgefer.export.tflite_metadata`: the TFLITE_METADATA buffer that MediaPipe
and the LiteRT tooling read, with `labels.txt` as the output's labels) and, as its associated files appended in a
zip, `labels.txt` and `model.json` (interpreters ignore the trailing bytes; `zipfile` reads them with the standard
library alone, which is how the device predictor does it). ONNX: `metadata_props["edgefer"]`. Beside the artifacts:
`labels.json` (class names in order) and `model.json` (facts of every artifact).
"""

from __future__ import annotations

import json
from pathlib import Path

from edgefer import __version__
from edgefer.core.run_folder import read_json_object
from edgefer.export.tflite_metadata import with_metadata
from edgefer.predictor import read_model_meta

META_NAME = "model.json"
ONNX_KEY = "edgefer"


def embed_tflite(model_bytes: bytes, meta: dict) -> bytes:
    """The flatbuffer with standard metadata and its associated files (labels.txt, model.json)."""
    return with_metadata(model_bytes, meta, version=str(meta.get("edgefer_version", __version__)))


def read_tflite_meta(path: Path) -> dict | None:
    return read_model_meta(path)


def embed_onnx(model, meta: dict) -> None:
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_KEY, json.dumps(meta)


def read_onnx_meta(path: Path) -> dict | None:
    import onnxruntime as ort

    props = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    return json.loads(props[ONNX_KEY]) if ONNX_KEY in props else None


def read_meta(path: Path) -> dict | None:
    """Embedded facts of an artifact, else the model.json entry beside it, else None."""
    path = Path(path)
    embedded = read_tflite_meta(path) if path.suffix == ".tflite" else read_onnx_meta(path) if path.suffix == ".onnx" else None
    if embedded:
        return embedded
    beside = path.parent / META_NAME
    if beside.is_file():
        return read_export_record(beside).get("artifacts", {}).get(path.name)
    return None


def read_export_record(path: Path) -> dict:
    """An export folder's model.json (a record: damaged, it is an error that says what to do)."""

    return read_json_object(path, "the export record edgefer export writes",
                            fix="export the run again into this folder after deleting the file")
