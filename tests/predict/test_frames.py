"""Whole frames in the device predictor: the fast resizing paths agree, the detector's views cover every frame, stages are timed,
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


@pytest.mark.parametrize("height, width, side", [(36, 55, 96), (96, 60, 96), (90, 97, 128), (90, 128, 128),
                                                 (110, 147, 128), (256, 256, 128), (480, 500, 128), (300, 511, 128)])
def test_frames_under_512_px_are_letterboxed_whole(height, width, side):
    # The whole frame, never cut: the small-photo regression of commit 311ad86 looked only at squares of the short
    # side, which cut a face filling a small wide photo. Thumbnails up to 96 px go into 96x96, the rest into 128x128.
    (view,) = BlazeFaceDetector.views(height, width)
    assert view.window == (0, 0, width, height) and (view.view_h, view.view_w) == (side, side)
    assert view.scale == pytest.approx(side / max(height, width))
    new_h, new_w = round(height * view.scale), round(width * view.scale)
    assert (view.pad_x, view.pad_y) == ((side - new_w) // 2, (side - new_h) // 2)


@pytest.mark.parametrize("height, width, view_hw", [(480, 640, (144, 192)), (720, 1280, (144, 256)),
                                                    (640, 480, (192, 144)), (1080, 1920, (144, 256)),
                                                    (512, 512, (144, 144)), (3024, 4032, (384, 512)),
                                                    (1536, 2048, (192, 256)), (400, 1600, (144, 576))])
def test_large_frames_are_one_view_of_short_side_144_or_an_eighth_of_a_photo(height, width, view_hw):
    """Video frames up to 1080p: short side 144; larger photos: an eighth of their short side (at most 384), so that a
    phone photo's faces from an eighth of its short side stay 18 px or more in the view."""
    (view,) = BlazeFaceDetector.views(height, width)
    assert view.window == (0, 0, width, height) and (view.view_h, view.view_w) == view_hw
    assert view.scale == pytest.approx(min(view_hw) / min(height, width))
    assert view.view_h % 16 == 0 and view.view_w % 16 == 0  # the model's strides
    new_h, new_w = round(height * view.scale), round(width * view.scale)
    assert 0 <= view.view_h - new_h < 16 and 0 <= view.view_w - new_w < 16  # the whole frame, centred, little padding
    assert (view.pad_x, view.pad_y) == ((view.view_w - new_w) // 2, (view.view_h - new_h) // 2)


def test_a_face_is_found_where_it_is_in_any_view_shape():
    """Anchors and the way back to frame pixels hold for every view shape: the same face pasted at several places of
    frames whose views are letterboxed (small) or wide (large) comes back in its place."""
    face = Image.open(ASTRONAUT).convert("RGB").crop((150, 20, 330, 200))  # Eileen Collins's head
    detector = BlazeFaceDetector(num_threads=1)
    for height, width, side in [(300, 200, 100), (480, 640, 150), (720, 1280, 160), (1280, 720, 160)]:
        for x, y in [(0.1, 0.2), (0.5, 0.5), (0.8, 0.6)]:
            frame = Image.new("RGB", (width, height), (120, 130, 140))
            box = (int(x * (width - side)), int(y * (height - side)), side, side)
            frame.paste(face.resize((side, side)), box[:2])
            faces = detector.detect(np.asarray(frame))
            assert faces, (height, width, box)
            best = max(faces, key=lambda f: f.score)
            centre = (best.box[0] + best.box[2] / 2, best.box[1] + best.box[3] / 2)
            assert abs(centre[0] - (box[0] + side / 2)) < side * 0.2 and abs(centre[1] - (box[1] + side / 2)) < side * 0.25
            assert 0.4 * side < best.box[2] < 1.1 * side, (best.box, box)


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


def test_the_detector_keeps_a_bounded_set_of_view_shapes(monkeypatch):
    """One interpreter per view shape, the least recently used dropped past `max_shapes`; a shape seen again gives
    the same faces."""
    monkeypatch.setattr(BlazeFaceDetector, "max_shapes", 3)
    detector = BlazeFaceDetector(num_threads=1)
    photo = Image.open(ASTRONAUT).convert("RGB")
    first = None
    for width in (640, 720, 800, 880, 960, 640):
        frame = np.asarray(photo.resize((width, 512)))
        faces = [(f.box, round(f.score, 4)) for f in detector.detect(frame)]
        assert len(faces) >= 1
        first = first or faces
        assert len(detector._shapes) <= 3
    assert faces == first and (144, 192) in detector._shapes


@pytest.mark.parametrize("channels", [3, None])
def test_nearest_windows_are_the_same_pixels_with_pillow_and_numpy(channels, monkeypatch):
    """Large frames reach the detector by nearest pixel: a PIL image (Pillow's NEAREST), a numpy frame read in place
    (RGB, BGR, with a 4th channel), and the numpy fallback without Pillow pick the same pixels, up- and downscaling,
    whole frames and parts."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        height, width = (int(v) for v in rng.integers(10, 300, 2))
        image = rng.integers(0, 256, (height, width, 3) if channels else (height, width), dtype=np.uint8)
        forms = [predictor_module.FramePixels(Image.fromarray(image))]
        if channels:
            forms += [predictor_module.FramePixels(image), predictor_module.FramePixels(image[..., ::-1], "bgr"),
                      predictor_module.FramePixels(np.dstack([image[..., ::-1], image[..., :1]]), "bgr")]
        monkeypatch.setattr(predictor_module, "RESIZE_BACKEND", "numpy")
        forms.append(predictor_module.FramePixels(image))
        monkeypatch.setattr(predictor_module, "RESIZE_BACKEND", None)
        assert forms[0].pil is not None and not forms[-1].pillow
        x, y = int(rng.integers(0, width // 3)), int(rng.integers(0, height // 3))
        box = (x, y, width - x - int(rng.integers(0, width // 3)), height - y - int(rng.integers(0, height // 3)))
        out_h, out_w = (int(v) for v in rng.integers(4, 260, 2))
        reference = forms[0].window(box, out_h, out_w, nearest=True)
        for form in forms[1:]:
            assert np.array_equal(form.window(box, out_h, out_w, nearest=True), reference)


def test_a_numpy_frame_is_not_converted_whole_for_a_large_frame(predictor):
    """A VGA numpy frame: the detector reads its view in place and each face is cut out before Pillow sees it, with
    the faces and labels of the decoded image."""
    photo = Image.open(ASTRONAUT).convert("RGB").resize((640, 480))
    bgr = np.ascontiguousarray(np.asarray(photo)[..., ::-1])
    pixels = predictor_module.FramePixels(bgr, "bgr")
    results = predictor.predict_frame(pixels)
    assert results and pixels._pil is None  # never made a PIL image of the whole frame
    from_image = predictor.predict_frame(photo)
    assert [(r.box, r.label, round(r.probability, 5)) for r in results] == \
        [(r.box, r.label, round(r.probability, 5)) for r in from_image]
