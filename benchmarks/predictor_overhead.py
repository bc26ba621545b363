"""The device predictor's own cost: `predict()` against the bare `interpreter.invoke()` it wraps.

    python benchmarks/predictor_overhead.py [--model MODEL.tflite] [--threads 1,2] [--runs 2000]

For each thread count it times, on the same real test faces (the embedded sample's 140 PublicTest
faces, 48x48 uint8, the form a detector crop is resized to), alternating so drift hits both alike:
- `invoke`: `interpreter.invoke()` alone, input already set (the floor any wrapper sits on);
- `predict`: `EmotionPredictor.predict(face)`: checks, quantization, set_tensor, invoke, output
  dequantization and the result with all class probabilities.
Overhead = predict p50 - invoke p50, also as a share of invoke p50 (target: <= 10%).
It also times `predict` on a 200x200 RGB crop (resize + gray conversion in numpy) and
`predict_frame` on a 640x480 photo (BlazeFace detection + crop + predict), for scale.
Default model: the one shipped inside edgefer.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from edgefer.data.sample import SAMPLE_PATH
from edgefer.predictor import EmotionPredictor, default_model_path


def test_faces() -> np.ndarray:
    data = np.load(SAMPLE_PATH, allow_pickle=False)
    return data["images"][data["usage"] == "PublicTest"].reshape(-1, 48, 48)


def timed(fn, runs: int) -> np.ndarray:
    out = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        out[i] = time.perf_counter() - start
    return out * 1e3


def measure(model: str, threads: int, runs: int, photo: np.ndarray) -> dict:
    predictor = EmotionPredictor(model, num_threads=threads)
    faces = test_faces()
    interpreter = predictor.interpreter
    index = interpreter.get_input_details()[0]["index"]
    for face in faces[:50]:  # warm-up
        predictor.predict(face)
    invoke, predict = [], []
    for block in range(runs // 100):  # alternate blocks of 100 so both see the same machine state
        interpreter.set_tensor(index, predictor.prepare(faces[block % len(faces)])[None])
        invoke.append(timed(lambda i: interpreter.invoke(), 100))
        predict.append(timed(lambda i: predictor.predict(faces[i % len(faces)]), 100))
    invoke, predict = np.concatenate(invoke), np.concatenate(predict)
    crop = np.repeat(np.asarray(Image.fromarray(faces[0]).resize((200, 200)))[..., None], 3, axis=-1)
    big_crop = timed(lambda i: predictor.predict(crop), 200)
    predictor.predict_frame(photo)
    frame = timed(lambda i: predictor.predict_frame(photo), 50)
    return {"threads": threads, "runtime": predictor.runtime, "invoke": np.median(invoke),
            "predict": np.median(predict), "crop200": np.median(big_crop), "frame": np.median(frame),
            "faces_in_frame": len(predictor.predict_frame(photo))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="int8 .tflite (default: the model shipped with edgefer)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=2000, help="timed calls of each kind per thread count")
    parser.add_argument("--photo", default="edgefer/assets/astronaut.jpg", help="full frame for predict_frame")
    args = parser.parse_args()
    model = args.model or str(default_model_path())
    photo = np.asarray(Image.open(args.photo).convert("RGB").resize((640, 480)))
    print(f"model {model}; p50 over {args.runs} calls each, milliseconds")
    print(f"{'threads':>7s} {'invoke':>8s} {'predict':>8s} {'overhead':>9s} {'share':>7s} "
          f"{'predict 200x200 RGB':>20s} {'predict_frame 640x480':>22s}  runtime")
    for threads in (int(t) for t in args.threads.split(",")):
        r = measure(model, threads, args.runs, photo)
        overhead = r["predict"] - r["invoke"]
        print(f"{threads:7d} {r['invoke']:8.3f} {r['predict']:8.3f} {overhead:9.3f} {overhead / r['invoke']:7.1%} "
              f"{r['crop200']:20.3f} {r['frame']:16.3f} ({r['faces_in_frame']} face)  {r['runtime']}")


if __name__ == "__main__":
    main()
