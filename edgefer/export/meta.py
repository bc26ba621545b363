"""Labels and input facts that travel inside each artifact and beside it.

TFLite: a zip archive holding `model.json` appended to the flatbuffer (the "associated files"
convention of TFLite metadata: interpreters ignore the trailing bytes, and `zipfile` reads them
with the standard library alone). ONNX: `metadata_props["edgefer"]`. Beside the artifacts:
`labels.json` (class names in order) and `model.json` (facts of every artifact).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from edgefer.predictor import read_model_meta
from edgefer.runs import read_json_object

META_NAME = "model.json"
ONNX_KEY = "edgefer"


def embed_tflite(model_bytes: bytes, meta: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(META_NAME, json.dumps(meta, indent=1))
        archive.writestr("labels.txt", "\n".join(meta["classes"]) + "\n")
    return model_bytes + buffer.getvalue()


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
