"""Standard TFLite Model Metadata for edgefer's classifiers, so phone toolchains read them as they are.

MediaPipe Tasks' ImageClassifier (and the TFLite Support / LiteRT tooling before it) read a model's facts from the
`TFLITE_METADATA` buffer of the flatbuffer (a `ModelMetadata` table, file identifier "M001", schema
`metadata_schema.fbs` of TensorFlow Lite Support, Apache-2.0) and its associated files from a zip archive appended
to the model. Without them a classifier returns class indices with no names. This module writes:

- the model's name, description, version, author and licence;
- the input: an RGB image (`ImageProperties`, colour space RGB), normalization mean 0 / std 1 (raw pixels 0..255 go in
  as they are: the model scales inside), value range 0..255;
- the output: class probabilities (`FeatureProperties`, range 0..1) with `labels.txt` as its `TENSOR_AXIS_LABELS`;
- `model.json` (edgefer's own facts: classes, input, training) as a model-level associated file, which the device
  predictor and `edgefer models` read.

No maintained metadata writer installs beside TensorFlow 2.21 (mediapipe's needs a native module its 1.x wheels lack;
tflite-support pins protobuf < 4), so the tables are built here with the `flatbuffers` package, field by field; the
slot numbers below are those of the schema's generated code (mediapipe 1.2.3's `metadata_schema_py_generated.py`).
Writing the model's own buffer list uses TensorFlow's flatbuffer schema (`edgefer[train]`), as conversion does.
"""

from __future__ import annotations

import io
import json
import zipfile

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.0.0"
LABELS_FILE = "labels.txt"
META_FILE = "model.json"

# Enum values of metadata_schema.fbs.
FILE_UNKNOWN, FILE_DESCRIPTIONS, FILE_TENSOR_AXIS_LABELS = 0, 1, 2
COLOR_RGB = 1
CONTENT_FEATURE, CONTENT_IMAGE = 1, 2
UNIT_NORMALIZATION = 1


class _Writer:
    """flatbuffers.Builder with the few shapes the metadata tables need."""

    def __init__(self):
        import flatbuffers

        self.b = flatbuffers.Builder(1024)

    def string(self, text: str) -> int:
        return self.b.CreateString(text)

    def floats(self, values) -> int:
        self.b.StartVector(4, len(values), 4)
        for value in reversed(values):
            self.b.PrependFloat32(float(value))
        return self.b.EndVector()

    def tables(self, offsets) -> int:
        self.b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            self.b.PrependUOffsetTRelative(offset)
        return self.b.EndVector()

    def table(self, slots: int, fields: dict) -> int:
        """A table of `slots` fields; fields maps slot -> ("offset" | "int8" | "uint8", value), None values skipped."""
        self.b.StartObject(slots)
        for slot, (kind, value) in fields.items():
            if value is None:
                continue
            if kind == "offset":
                self.b.PrependUOffsetTRelativeSlot(slot, value, 0)
            elif kind == "int8":
                self.b.PrependInt8Slot(slot, value, 0)
            else:
                self.b.PrependUint8Slot(slot, value, 0)
        return self.b.EndObject()

    def associated_file(self, name: str, description: str, kind: int) -> int:
        name_, description_ = self.string(name), self.string(description)
        return self.table(5, {0: ("offset", name_), 1: ("offset", description_), 2: ("int8", kind)})

    def stats(self, low: float, high: float) -> int:
        high_, low_ = self.floats([high]), self.floats([low])
        return self.table(2, {0: ("offset", high_), 1: ("offset", low_)})

    def finish(self, root: int) -> bytes:
        self.b.Finish(root, file_identifier=METADATA_IDENTIFIER)
        return bytes(self.b.Output())


def metadata_flatbuffer(meta: dict, version: str) -> bytes:
    """The ModelMetadata table (bytes) for an edgefer classifier described by its `meta` (edgefer.export.meta)."""
    w = _Writer()
    classes = list(meta["classes"])
    # Input: an RGB image, raw pixels.
    image = w.table(2, {0: ("int8", COLOR_RGB)})
    input_content = w.table(3, {0: ("uint8", CONTENT_IMAGE), 1: ("offset", image)})
    normalization = w.table(2, {0: ("offset", w.floats([0.0])), 1: ("offset", w.floats([1.0]))})
    unit = w.table(2, {0: ("uint8", UNIT_NORMALIZATION), 1: ("offset", normalization)})
    input_name = w.string("image")
    input_description = w.string(
        "A face crop, RGB (gray in three equal channels works the same), uint8 0..255 or float 0..255 as the tensor "
        "type says; the model converts to gray and resizes inside, so pixels go in as they are (mean 0, std 1).")
    units, input_stats = w.tables([unit]), w.stats(0.0, 255.0)
    input_tensor = w.table(7, {0: ("offset", input_name), 1: ("offset", input_description),
                               3: ("offset", input_content), 4: ("offset", units), 5: ("offset", input_stats)})
    # Output: probabilities, labelled by labels.txt.
    feature = w.table(0, {})
    output_content = w.table(3, {0: ("uint8", CONTENT_FEATURE), 1: ("offset", feature)})
    labels = w.tables([w.associated_file(LABELS_FILE, f"The {len(classes)} class names, in output order.",
                                         FILE_TENSOR_AXIS_LABELS)])
    output_name = w.string("probability")
    output_description = w.string(f"Probabilities of the {len(classes)} facial expressions: "
                                  + ", ".join(classes) + ".")
    output_stats = w.stats(0.0, 1.0)
    output_tensor = w.table(7, {0: ("offset", output_name), 1: ("offset", output_description),
                                3: ("offset", output_content), 5: ("offset", output_stats), 6: ("offset", labels)})
    inputs, outputs = w.tables([input_tensor]), w.tables([output_tensor])
    subgraph_name = w.string("image_classifier")
    subgraph = w.table(10, {0: ("offset", subgraph_name), 2: ("offset", inputs), 3: ("offset", outputs)})
    facts = w.tables([w.associated_file(META_FILE, "edgefer's facts about this model: classes, input, training "
                                        "(JSON).", FILE_UNKNOWN)])
    name = w.string(f"edgefer facial expression classifier ({meta.get('model', 'model')}, {meta.get('format', '')})")
    description = w.string(
        "Facial expression of one face crop: " + ", ".join(classes) + ". Find faces first (for example with MediaPipe "
        "Tasks' FaceDetector) and give each face to this model cropped square as FER2013 framed its faces: the "
        "detector's box grown by 7.6% of its side on each side, its centre moved up by 6.6% of its side.")
    version_, author, licence = w.string(version), w.string("edgefer"), w.string("Apache-2.0")
    subgraphs, parser = w.tables([subgraph]), w.string(MIN_PARSER_VERSION)
    root = w.table(8, {0: ("offset", name), 1: ("offset", description), 2: ("offset", version_),
                       3: ("offset", subgraphs), 4: ("offset", author), 5: ("offset", licence),
                       6: ("offset", facts), 7: ("offset", parser)})
    return w.finish(root)


def with_metadata(model_bytes: bytes, meta: dict, version: str) -> bytes:
    """The model with its TFLITE_METADATA buffer (replacing any earlier one) and, appended as a zip the way TFLite's
    metadata populator does it, labels.txt and model.json."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(bytearray(model_bytes), 0))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata_flatbuffer(meta, version), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME.encode(), len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name != METADATA_NAME.encode()] + [entry]
    packed = io.BytesIO(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    packed.seek(0, io.SEEK_END)
    with zipfile.ZipFile(packed, "a") as archive:  # stored, as the standard populator writes them
        archive.writestr(LABELS_FILE, "\n".join(meta["classes"]) + "\n")
        archive.writestr(META_FILE, json.dumps(meta, indent=1))
    return packed.getvalue()


def read_metadata(model_bytes: bytes) -> dict | None:
    """What the TFLITE_METADATA buffer says, as a small dict (for tests and `edgefer models`), or None."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(bytearray(model_bytes), 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() == METADATA_NAME.encode():
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return _parse(bytes(data))
    return None


def _parse(data: bytes) -> dict:
    """The fields this module writes, read back with flatbuffers' table reader (slot numbers as above)."""
    import flatbuffers
    from flatbuffers.table import Table

    if data[4:8] != METADATA_IDENTIFIER:
        raise ValueError("not a ModelMetadata buffer (identifier M001 missing)")

    def table(buf, pos):
        return Table(buf, pos)

    def field(t, slot):
        return t.Offset(4 + 2 * slot)

    def string(t, slot):
        o = field(t, slot)
        return t.String(o + t.Pos).decode() if o else None

    def child(t, slot):
        o = field(t, slot)
        return table(t.Bytes, t.Indirect(o + t.Pos)) if o else None

    def children(t, slot):
        o = field(t, slot)
        if not o:
            return []
        start, count = t.Vector(o), t.VectorLen(o)
        return [table(t.Bytes, t.Indirect(start + 4 * i)) for i in range(count)]

    def byte(t, slot, kind=flatbuffers.number_types.Int8Flags):
        o = field(t, slot)
        return t.Get(kind, o + t.Pos) if o else 0

    root = table(bytearray(data), flatbuffers.encode.Get(flatbuffers.packer.uoffset, bytearray(data), 0))
    subgraph = children(root, 3)[0]
    (tensor_in,), (tensor_out,) = children(subgraph, 2), children(subgraph, 3)
    content = child(tensor_in, 3)
    return {
        "name": string(root, 0), "version": string(root, 2), "license": string(root, 5),
        "min_parser_version": string(root, 7),
        "files": [string(f, 0) for f in children(root, 6)],
        "input": {"name": string(tensor_in, 0), "content": byte(content, 0, flatbuffers.number_types.Uint8Flags),
                  "color_space": byte(child(content, 1), 0)},
        "output": {"name": string(tensor_out, 0),
                   "files": [(string(f, 0), byte(f, 2)) for f in children(tensor_out, 6)]},
    }
