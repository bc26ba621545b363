"""Convert face-api.js's expression model (MIT) to TFLite once, as a peer in the benchmarks and a teacher member.

    python benchmarks/faceapi_peer.py --weights ../shared/models/faceapi-expression --out peers/faceapi

face-api.js (github.com/justadudewhohacks/face-api.js, MIT, `weights/face_expression_model-*`) ships its
FaceExpressionNet as tfjs weights: a manifest of names and shapes and one shard of uint8-quantized filters
(value = q * scale + min) and float32 biases. The network, rebuilt here from its sources
(`src/faceFeatureExtractor/FaceFeatureExtractor.ts`, `denseBlock.ts`, `src/faceProcessor/FaceProcessor.ts`):
input 112x112 RGB, `(x - [122.782, 117.001, 104.298]) / 255`; four dense blocks (each: a stride-2 convolution
(a plain 3x3 conv in the first block, separable in the others), then three separable 3x3 convolutions whose
inputs are the ReLU of the running sum of the earlier outputs); 7x7 average pooling; a 256->7 dense layer; softmax.
Output order: neutral, happy, sad, angry, fearful, disgusted, surprised.

Two files are written (fp32; the licence beside them):
- `faceapi_expression_rgb112.tflite`: the network as face-api.js runs it, on a (1, 112, 112, 3) float RGB crop in
  0..255, face-api.js's own class order. The photo benchmark feeds it the photo's colour crop of each face.
- `faceapi_expression.tflite`: the same network behind edgefer's artifact interface: a (N, 48, 48, 1) face in 0..255
  (resized to 112 and repeated to three channels inside), outputs in FER2013's order (Angry, Disgust, Fear, Happy,
  Sad, Surprise, Neutral). `edgefer bench --artifacts` scores it on the crops beside edgefer's models, and
  `edgefer train --teacher` / `edgefer teacher record` take it as a teacher member.

A benchmark dependency only: edgefer never loads it at run time. Checked when written: the TFLite gives the
Keras rebuild's probabilities (max difference printed), and, with `--check-images DIR` (face-api.js's
`test/images/angry_cropped.jpg` and `surprised_cropped.jpg`), the two test crops get their labels.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

FACEAPI_CLASSES = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
FER2013_ORDER = ("angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral")
FER2013_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)


def read_weights(folder: Path) -> dict[str, np.ndarray]:
    """The manifest's tensors by name, dequantized (uint8 -> q * scale + min) in the shard's order."""
    manifest = json.loads((folder / "face_expression_model-weights_manifest.json").read_text())
    tensors: dict[str, np.ndarray] = {}
    for group in manifest:
        blob = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            count = int(np.prod(entry["shape"]))
            quant = entry.get("quantization")
            if quant:
                if quant["dtype"] != "uint8":
                    raise ValueError(f"{entry['name']}: quantization {quant['dtype']}; expected uint8")
                q = np.frombuffer(blob, np.uint8, count, offset).astype(np.float32)
                values, offset = q * quant["scale"] + quant["min"], offset + count
            else:
                values, offset = np.frombuffer(blob, np.float32, count, offset), offset + 4 * count
            tensors[entry["name"]] = values.reshape(entry["shape"])
        if offset != len(blob):
            raise ValueError(f"{folder}: the shard holds {len(blob)} bytes, the manifest describes {offset}")
    return tensors


def build_network(weights: dict[str, np.ndarray]):
    """The Keras rebuild: (N, 112, 112, 3) RGB 0..255 -> probabilities in face-api.js's order."""
    from edgefer.core.keras_env import import_keras

    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input((112, 112, 3), name="rgb")
    x = layers.Rescaling(1 / 255.0, offset=-MEAN_RGB / 255.0, name="normalize")(inputs)

    def separable(t, name, stride):
        dw, pw, bias = (weights[f"{name}/{k}"] for k in ("depthwise_filter", "pointwise_filter", "bias"))
        layer = layers.SeparableConv2D(pw.shape[-1], 3, strides=stride, padding="same", name=name.replace("/", "_"))
        out = layer(t)
        layer.set_weights([dw, pw, bias])
        return out

    for block in range(4):
        prefix = f"dense{block}"
        if block == 0:
            conv = layers.Conv2D(32, 3, strides=2, padding="same", name=f"{prefix}_conv0")
            out1 = conv(x)
            conv.set_weights([weights[f"{prefix}/conv0/filters"], weights[f"{prefix}/conv0/bias"]])
        else:
            out1 = separable(x, f"{prefix}/conv0", 2)
        out1 = layers.ReLU()(out1)
        outs = [out1]
        for k in (1, 2, 3):
            inp = outs[0] if k == 1 else layers.ReLU()(layers.Add()(outs))
            outs.append(separable(inp, f"{prefix}/conv{k}", 1))
        x = layers.ReLU()(layers.Add()(outs))
    x = layers.AveragePooling2D(7, strides=2, padding="valid")(x)
    x = layers.Flatten()(x)
    dense = layers.Dense(7, name="fc")
    logits = dense(x)
    dense.set_weights([weights["fc/weights"], weights["fc/bias"]])
    probs = layers.Softmax(name="expressions")(logits)
    return keras.Model(inputs, probs, name="faceapi_expression")


def edgefer_interface(network):
    """The network behind edgefer's artifact interface: (N, 48, 48, 1) 0..255 gray -> FER2013-ordered probabilities."""
    from edgefer.core.keras_env import import_keras

    keras = import_keras()
    layers = keras.layers
    face = keras.Input((48, 48, 1), name="face")
    x = layers.Resizing(112, 112, interpolation="bilinear")(face)
    x = layers.Concatenate()([x, x, x])
    probs = network(x)
    order = [FACEAPI_CLASSES.index(name) for name in FER2013_ORDER]
    permute = np.zeros((7, 7), np.float32)
    permute[order, np.arange(7)] = 1.0
    reorder = layers.Dense(7, use_bias=False, trainable=False, name="fer2013_order")
    out = reorder(probs)
    reorder.set_weights([permute])
    return keras.Model(face, out, name="faceapi_expression_fer2013")


def to_tflite(model, path: Path, labels: tuple[str, ...] | None = None) -> Path:
    """fp32 TFLite of `model`; with `labels`, a labels.txt and a model.json appended as a zip (as TFLite's metadata
    populator appends its files), so that edgefer's bench and teacher loaders read the class names from the file."""
    import io
    import zipfile

    import tensorflow as tf

    from edgefer.core.fileio import atomic_path

    packed = io.BytesIO(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    if labels:
        packed.seek(0, io.SEEK_END)
        with zipfile.ZipFile(packed, "a") as archive:
            archive.writestr("labels.txt", "\n".join(labels) + "\n")
            archive.writestr("model.json", json.dumps({
                "model": "face-api.js FaceExpressionNet (MIT, github.com/justadudewhohacks/face-api.js)",
                "classes": list(labels), "img_size": 112, "format": "fp32",
                "input": {"shape": [None, 48, 48, 1], "range": [0, 255]}}, indent=1))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(packed.getvalue())
    return path


def tflite_probs(path: Path, x: np.ndarray) -> np.ndarray:
    from edgefer.core.backends import open_runner

    return open_runner(path, num_threads=2).predict(x.astype(np.float32), batch_size=len(x))


def check_images(rgb_path: Path, folder: Path) -> None:
    from PIL import Image

    for name, expected in (("angry_cropped.jpg", "angry"), ("surprised_cropped.jpg", "surprised")):
        image = Image.open(folder / name).convert("RGB").resize((112, 112), Image.BILINEAR)
        probs = tflite_probs(rgb_path, np.asarray(image, np.float32)[None])[0]
        got = FACEAPI_CLASSES[int(probs.argmax())]
        print(f"  {name}: {got} {probs.max():.3f}")
        if got != expected:
            raise SystemExit(f"{folder / name}: the converted model says {got}, face-api.js's test expects {expected}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True,
                        help="folder with face_expression_model-weights_manifest.json and its shard")
    parser.add_argument("--out", type=Path, default=Path("peers/faceapi"))
    parser.add_argument("--check-images", type=Path, help="folder with face-api.js's test/images crops")
    args = parser.parse_args()

    weights = read_weights(args.weights)
    network = build_network(weights)
    args.out.mkdir(parents=True, exist_ok=True)
    rgb = to_tflite(network, args.out / "faceapi_expression_rgb112.tflite")
    gray = to_tflite(edgefer_interface(network), args.out / "faceapi_expression.tflite", labels=FER2013_NAMES)
    licence = args.weights / "LICENSE"
    if licence.exists():
        shutil.copyfile(licence, args.out / "LICENSE-face-api.js.txt")

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (4, 112, 112, 3)).astype(np.float32)
    diff = np.abs(tflite_probs(rgb, x) - network.predict(x, verbose=0)).max()
    faces = rng.uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    keras_gray = edgefer_interface(network).predict(faces, verbose=0)
    diff48 = np.abs(tflite_probs(gray, faces) - keras_gray).max()
    print(f"wrote {rgb} and {gray}: max |TFLite - Keras| {diff:.2e} (RGB 112), {diff48:.2e} (48x48 gray)")
    if max(diff, diff48) > 1e-4:
        raise SystemExit("the TFLite conversion disagrees with the Keras rebuild")
    if args.check_images:
        check_images(rgb, args.check_images)


if __name__ == "__main__":
    main()
