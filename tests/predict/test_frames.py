"""Whole frames in the device predictor: the fast resizing paths agree, windows cover wide frames, stages are timed,
and all faces of a frame go through the classifier in one batch. Runs on the packaged default model (no training)."""

import json

import numpy as np
import pytest
from PIL import Image

import edgefer.predictor as predictor_module
from edgefer.bench.frameset import make_frame_set
from edgefer.data.sample import SAMPLE_PATH
from edgefer.predictor import FRAME_STAGES, BlazeFaceDetector, EmotionPredictor, StageTimes, resize

ASTRONAUT = SAMPLE_PATH.parent / "astronaut.jpg"


@pytest.fixture(scope="module")
def predictor():
    return EmotionPredictor(num_threads=1)


@pytest.fixture(scope="module")
def frame_set(tmp_path_factory):
    return make_frame_set(tmp_path_factory.mktemp("frames"), per_kind=4)


@pytest.fixture
def backend(monkeypatch):
    """Switch the predictor's resizing between Pillow and numpy for one test."""
    return lambda name: monkeypatch.setattr(predictor_module, "RESIZE_BACKEND", name)


SHAPES = [((137, 91), (48, 48)), ((480, 640, 3), (96, 128)), ((720, 1280, 3), (72, 128)), ((180, 180), (48, 48)),
          ((30, 30), (48, 48)), ((93, 77, 3), (64, 64)), ((256, 256, 3), (128, 128))]


@pytest.mark.parametrize("shape, out", SHAPES)
def test_numpy_resize_gives_pillows_pixels(shape, out, backend):
    """The numpy fallback repeats Pillow's 8-bit arithmetic: the same pixels within one gray level (Pillow 13 does
    some resizes with the vertical pass first, which rounds a little differently)."""
    photo = Image.open(ASTRONAUT).convert("RGB" if len(shape) == 3 else "L")
    image = np.asarray(photo.resize(shape[:2][::-1]))
    backend("pillow")
    pillow = resize(image, *out)
    backend("numpy")
    numpy = resize(image, *out)
    assert pillow.shape == numpy.shape == out + shape[2:]
    assert np.abs(pillow - numpy).max() <= 1 and np.abs(pillow - numpy).mean() < 0.25


def test_resize_is_close_to_the_exact_antialiased_filter(backend):
    """Blocks first, then the filter: close to Pillow's exact antialiased bilinear (what the models were checked on)."""
    image = np.asarray(Image.open(ASTRONAUT).convert("L").resize((91, 137)))
    exact = np.asarray(Image.fromarray(image).resize((48, 48), Image.Resampling.BILINEAR), dtype=np.float32)
    for name in ("pillow", "numpy"):
        backend(name)
        assert np.abs(resize(image, 48, 48) - exact).mean() < 3.0


def test_both_paths_give_the_same_faces_boxes_and_labels(predictor, frame_set, backend):
    """On the frame set: the same faces, boxes within a pixel, the same labels (but for a borderline face or so:
    a gray level of rounding moves a face that sits on the boundary between two classes)."""
    truth = json.loads((frame_set / "faces.json").read_text())["faces"]
    results = {}
    for name in ("pillow", "numpy"):
        backend(name)
        results[name] = {file: predictor.predict_frame(frame_set / file) for file in truth}
    same_label, faces = 0, 0
    for file in truth:
        a, b = results["pillow"][file], results["numpy"][file]
        assert len(a) == len(b), file
        for face in a:
            twin = min(b, key=lambda other: sum(abs(u - v) for u, v in zip(face.box, other.box)))
            assert max(abs(u - v) for u, v in zip(face.box, twin.box)) <= 1, file
            same_label += face.label == twin.label
            faces += 1
    assert faces >= 20 and same_label >= faces - max(1, faces // 30)


def test_both_paths_give_the_same_labels_on_the_sample(predictor, backend):
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        faces = sample["images"][sample["usage"] == "PublicTest"][::2]
    enlarged = [np.asarray(Image.fromarray(f).resize((150, 150), Image.Resampling.BICUBIC).convert("RGB")) for f in faces]
    labels = {}
    for name in ("pillow", "numpy"):
        backend(name)
        labels[name] = [r.label for r in predictor.predict_batch(enlarged)]
    assert np.mean(np.array(labels["pillow"]) == np.array(labels["numpy"])) >= 0.97


@pytest.mark.parametrize("height, width, squares", [(480, 640, 2), (720, 1280, 3), (256, 256, 0), (500, 540, 0),
                                                    (640, 480, 2), (1080, 1920, 3), (100, 400, 7), (36, 55, 0),
                                                    (90, 128, 0), (110, 147, 2)])
def test_wide_frames_are_seen_whole_and_in_overlapping_square_windows(height, width, squares):
    windows = BlazeFaceDetector.windows(height, width)
    # The whole frame always comes first (a face wider than half the short side may be cut by every square: the
    # small-photo regression of commit 311ad86); squares only for wide frames that must shrink to 128 px.
    assert windows[0] == (0, 0, width, height)
    assert len(windows) == 1 + squares
    short = min(height, width)
    for x, y, w, h in windows[1:]:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        assert (w, h) == (short, short)
    if squares:  # every face up to half the short side lies whole in some square
        side = short // 2
        for start in range(0, max(height, width) - side + 1, 7):
            face = (start, 0) if width >= height else (0, start)
            assert any(x <= face[0] and face[0] + side <= x + w and y <= face[1] and face[1] + side <= y + h
                       for x, y, w, h in windows[1:]), start


def test_stage_times_account_for_the_frame(predictor):
    times = StageTimes()
    results = predictor.predict_frame(str(ASTRONAUT), times=times)
    assert len(results) >= 1 and len(times.frames) == 1
    frame = times.frames[0]
    assert list(frame) == list(FRAME_STAGES) and all(ms > 0 for ms in frame.values())
    summary = times.summary()
    assert summary["total"] == pytest.approx(sum(frame.values()))
    assert predictor.predict_frame(np.zeros((64, 64, 3), np.uint8), times=times) == [] and len(times.frames) == 2
    times.clear()
    assert times.frames == [] and times.summary() == {}


def test_all_faces_of_a_frame_are_one_classifier_batch(predictor, frame_set, monkeypatch):
    truth = json.loads((frame_set / "faces.json").read_text())["faces"]
    file = max(truth, key=lambda name: len(truth[name]))
    calls = []
    run = predictor.run
    monkeypatch.setattr(predictor, "run", lambda batch: calls.append(len(batch)) or run(batch))
    results = predictor.predict_frame(frame_set / file)
    assert len(results) >= 2 and calls == [len(results)]


def test_frames_as_path_pil_and_array_give_the_same_result(predictor, frame_set):
    file = sorted(frame_set.glob("vga_*.jpg"))[0]
    image = Image.open(file)
    by_path = [(r.box, r.label) for r in predictor.predict_frame(file)]
    assert by_path == [(r.box, r.label) for r in predictor.predict_frame(image)]
    assert by_path == [(r.box, r.label) for r in predictor.predict_frame(np.asarray(image))]
    gray = [(r.box, r.label) for r in predictor.predict_frame(np.asarray(image.convert("L")))]
    assert len(gray) == len(by_path)
