"""The device predictor: no TensorFlow, every input form, clear errors, faces found in photos."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgefer.core.backends import TFLiteRunner
from edgefer.predictor import BLAZEFACE_FILE, BlazeFaceDetector, EmotionPredictor, PredictorError, crop_face, resize
from helpers import separable_faces

DATA = Path(__file__).parents[2] / "edgefer" / "assets"
ASTRONAUT = DATA / "astronaut.jpg"
ASTRONAUT_FACE_CENTER = (225, 128)  # x, y of Eileen Collins's nose in the 512x512 image
CLASSES = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]

# Runs the bundle's predictor where `import tensorflow` (and keras, and the edgefer package) fails.
NO_TF_SCRIPT = """
import importlib.abc, json, sys
import numpy as np

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "edgefer", "tf_keras"):
            raise ImportError(f"{name} is blocked in this test")

sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[1])
from edgefer_predictor import EmotionPredictor

faces = np.load(sys.argv[3], allow_pickle=False)
predictor = EmotionPredictor(sys.argv[2], num_threads=1)
probs = [[r.probabilities[c] for c in predictor.classes] for r in predictor.predict_batch(list(faces))]
single = predictor.predict(faces[0]).to_dict()
print(json.dumps({"runtime": predictor.runtime, "probs": probs, "single": single,
                  "tensorflow_loaded": any(m.split(".")[0] == "tensorflow" for m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def bundle(exported, tmp_path_factory):
    """The export folder copied somewhere else, as a user copies it to a device."""
    folder, _ = exported
    target = tmp_path_factory.mktemp("device") / "bundle"
    shutil.copytree(folder, target)
    return target


@pytest.fixture(scope="module")
def int8_predictor(bundle):
    return EmotionPredictor(bundle / "model_int8.tflite", num_threads=1)


@pytest.fixture(scope="module")
def faces():
    images, labels = separable_faces(3, seed=21)
    return images, labels


# --- no TensorFlow, same numbers as tf.lite ---------------------------------------------------------


@pytest.mark.parametrize("artifact", ["model_int8.tflite", "model_fp32.tflite", "model_dynamic.tflite"])
def test_predictor_without_tensorflow_equals_tf_lite(bundle, faces, tmp_path, artifact):
    images, _ = faces
    np.save(tmp_path / "faces.npy", images)
    script = tmp_path / "no_tf.py"
    script.write_text(NO_TF_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(bundle), str(bundle / artifact), str(tmp_path / "faces.npy")],
                          capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["runtime"] == "ai-edge-litert" and not result["tensorflow_loaded"]

    reference = TFLiteRunner(bundle / artifact, num_threads=1, runtime="tensorflow").predict(images[..., None])
    ours = np.array(result["probs"])
    step = TFLiteRunner(bundle / artifact, runtime="tensorflow").output["quantization"][0] or 1e-6
    np.testing.assert_allclose(ours, reference, atol=step + 1e-6)
    assert (ours.argmax(1) == reference.argmax(1)).all()
    assert result["single"]["probabilities"] == pytest.approx(dict(zip(CLASSES, result["probs"][0])), abs=1e-6)


def test_bundle_holds_what_a_device_needs(bundle):
    predictor_copy = bundle / "edgefer_predictor.py"
    assert predictor_copy.read_text() == (Path(__file__).parents[2] / "edgefer" / "predictor.py").read_text()
    for name in (BLAZEFACE_FILE, "LICENSE-mediapipe-blazeface.txt", "labels.json", "requirements.txt", "README.md"):
        assert (bundle / name).is_file(), name
    requirements = (bundle / "requirements.txt").read_text()
    assert "ai-edge-litert" in requirements and "tensorflow" not in requirements.replace("tflite", "")
    readme = (bundle / "README.md").read_text()
    assert "model_int8.tflite" in readme and "Raspberry Pi" in readme and "Android" in readme
    assert "Apache License" in (bundle / "LICENSE-mediapipe-blazeface.txt").read_text()


def test_bundle_cli_runs_standalone(bundle, tmp_path):
    Image.fromarray(separable_faces(1, seed=3)[0][4]).save(tmp_path / "face.png")
    proc = subprocess.run([sys.executable, str(bundle / "edgefer_predictor.py"), str(bundle / "model_int8.tflite"),
                           str(tmp_path / "face.png"), str(ASTRONAUT), "--detect", "--json"],
                          capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [Path(line["image"]).name for line in lines] == ["face.png", "astronaut.jpg"]
    assert len(lines[1]["faces"]) == 1 and lines[1]["faces"][0]["label"] in CLASSES


# --- every input form -------------------------------------------------------------------------------


def test_prediction_has_label_probability_and_all_classes(int8_predictor, faces):
    images, labels = faces
    result = int8_predictor.predict(images[0])
    assert result.label in CLASSES and list(result.probabilities) == CLASSES
    assert result.probability == max(result.probabilities.values())
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=0.05)  # uint8 output steps
    predicted = [CLASSES.index(r.label) for r in int8_predictor.predict_batch(list(images))]
    assert (np.array(predicted) == labels).mean() >= 0.85  # the model separates these classes


def test_every_input_form_gives_the_same_answer(int8_predictor, faces, tmp_path):
    face = faces[0][5]
    expected = int8_predictor.predict(face).probabilities
    Image.fromarray(face).save(tmp_path / "face.png")
    rgb = np.repeat(face[..., None], 3, axis=-1)
    Image.fromarray(rgb).save(tmp_path / "face_rgb.png")
    rgba = np.concatenate([rgb, np.full((48, 48, 1), 77, np.uint8)], axis=-1)
    same = {
        "path str": str(tmp_path / "face.png"),
        "path Path": tmp_path / "face.png",
        "RGB png": tmp_path / "face_rgb.png",
        "PIL L": Image.fromarray(face),
        "PIL RGB": Image.fromarray(rgb),
        "PIL RGBA": Image.fromarray(rgba),
        "(H,W) uint8": face,
        "(H,W,1) uint8": face[..., None],
        "(H,W,3) uint8": rgb,
        "(H,W,4) uint8": rgba,
        "(H,W) float 0..1": face.astype(np.float32) / 255.0,
        "(H,W,3) float 0..255": rgb.astype(np.float64),
        "(H,W) int64": face.astype(np.int64),
    }
    for form, image in same.items():
        assert int8_predictor.predict(image).probabilities == pytest.approx(expected, abs=1e-6), form


def test_any_size_is_resized_to_the_model_input(int8_predictor, faces, tmp_path):
    """A face enlarged (or saved as a colour JPEG) gets nearly the answer of the 48x48 original.

    Rates, not every face: the fixture model is trained on the machine running the tests, and its
    borderline faces differ between CPUs (AVX2 vs AVX-512 numerics)."""
    images, labels = faces
    same_big, same_jpg, right = [], [], []
    for i, (face, label) in enumerate(zip(images[::3], labels[::3])):
        original = int8_predictor.predict(face)
        big = np.asarray(Image.fromarray(face).resize((200, 200), Image.Resampling.BILINEAR))
        assert int8_predictor.prepare(big).shape == (48, 48, 3)  # exported TFLite takes RGB; gray fills 3 channels
        from_big = int8_predictor.predict(big)
        color_jpg = tmp_path / f"face{i}.jpg"
        Image.fromarray(big).convert("RGB").save(color_jpg, quality=95)
        from_jpg = int8_predictor.predict(color_jpg)
        same_big.append(from_big.label == original.label)
        same_jpg.append(from_jpg.label == original.label)
        right.append(from_big.label == CLASSES[label])
    assert np.mean(same_big) >= 0.8 and np.mean(same_jpg) >= 0.8, (same_big, same_jpg)
    assert np.mean(right) >= 0.7, right  # chance is 1/7


def test_numpy_resize_matches_pillow(monkeypatch):
    """On noise (the hardest case) the numpy fallback gives Pillow's pixels, blocks-then-filter as Pillow does it
    with reducing_gap (the exact antialiased filter is a different filter: tests/predict/test_frames.py)."""
    import edgefer.predictor as predictor_module

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (137, 91), dtype=np.uint8)
    monkeypatch.setattr(predictor_module, "RESIZE_BACKEND", "numpy")
    ours = resize(image, 48, 48)
    pillow = np.asarray(Image.fromarray(image).resize((48, 48), Image.Resampling.BILINEAR,
                                                      reducing_gap=predictor_module.PILLOW_REDUCING_GAP), np.float32)
    assert np.abs(ours - pillow).mean() < 0.5 and np.abs(ours - pillow).max() <= 1


def test_float_model_and_quantized_model_agree(bundle, faces):
    images, _ = faces
    fp32 = EmotionPredictor(bundle / "model_fp32.tflite")
    int8 = EmotionPredictor(bundle / "model_int8.tflite")
    assert fp32.prepare(images[0]).dtype == np.float32 and int8.prepare(images[0]).dtype == np.uint8
    same = [a.label == b.label for a, b in zip(fp32.predict_batch(list(images)), int8.predict_batch(list(images)))]
    assert np.mean(same) >= 0.85


def test_labels_come_from_beside_when_not_embedded(bundle, tmp_path):
    model = tmp_path / "bare.tflite"
    data = (bundle / "model_int8.tflite").read_bytes()
    with zipfile.ZipFile(bundle / "model_int8.tflite") as archive:
        model.write_bytes(data[: archive.infolist()[0].header_offset])  # strip the appended metadata
    assert EmotionPredictor(model).classes == CLASSES  # no labels anywhere: FER2013 order for 7 outputs
    (tmp_path / "labels.json").write_text(json.dumps({"classes": [c.upper() for c in CLASSES]}))
    assert EmotionPredictor(model).classes == [c.upper() for c in CLASSES]
    (tmp_path / "labels.json").write_text(json.dumps({"classes": CLASSES[:5]}))
    with pytest.raises(PredictorError, match="7 outputs but 5 class names"):
        EmotionPredictor(model)


# --- bad input --------------------------------------------------------------------------------------


def test_truncated_model_is_a_clear_error(bundle, tmp_path):
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes((bundle / "model_int8.tflite").read_bytes()[:5000])
    with pytest.raises(PredictorError, match="truncated.tflite: not a valid TFLite model"):
        EmotionPredictor(truncated)
    with pytest.raises(PredictorError, match="no such model file"):
        EmotionPredictor(tmp_path / "missing.tflite")


def test_wrong_model_is_a_clear_error(bundle):
    with pytest.raises(PredictorError, match="not an image classifier"):
        EmotionPredictor(bundle / BLAZEFACE_FILE)


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros((0, 48), np.uint8), "empty image"),
    (np.zeros((48, 48, 5), np.uint8), r"expected \(H, W\)"),
    (np.zeros((2, 48, 48), np.uint8), r"expected \(H, W\)"),
    (np.full((48, 48), 300, np.int32), "expected 0..255"),
    (np.full((48, 48), np.nan, np.float32), "NaN"),
    (np.array([["a"]]), "expected uint8 or float"),
    ([[1, 2], [3, 4]], "expected an image path, a PIL image or a numpy array"),
])
def test_bad_arrays_are_clear_errors(int8_predictor, image, message):
    with pytest.raises(PredictorError, match=message):
        int8_predictor.predict(image)


def test_bad_files_are_clear_errors(int8_predictor, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(PredictorError, match="notes.jpg: not an image Pillow can read"):
        int8_predictor.predict(text)
    with pytest.raises(PredictorError, match="missing.png: no such image file"):
        int8_predictor.predict(tmp_path / "missing.png")
    with pytest.raises(PredictorError, match="empty image"):
        int8_predictor.predict(Image.new("L", (0, 0)))


# --- faces in full frames ---------------------------------------------------------------------------


def _contains(box, point) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_blazeface_finds_the_astronauts_face():
    faces = BlazeFaceDetector().detect(np.asarray(Image.open(ASTRONAUT)))
    assert len(faces) == 1
    assert faces[0].score > 0.8 and _contains(faces[0].box, ASTRONAUT_FACE_CENTER)
    assert 60 <= faces[0].box[2] <= 160  # a face, not the whole picture


def test_predict_frame_gives_one_result_per_face_with_box(int8_predictor):
    head = np.asarray(Image.open(ASTRONAUT))[40:220, 135:315]  # 180x180 around the face
    two = np.concatenate([head, head[:, ::-1]], axis=1)  # the face and its mirror image side by side
    results = int8_predictor.predict_frame(two)
    assert len(results) == 2
    centers = sorted(r.box[0] + r.box[2] / 2 for r in results)
    assert centers[0] < 180 < centers[1]
    assert all(r.label in CLASSES and r.face_score > 0.5 for r in results)
    assert results[0].to_dict()["box"] == list(results[0].box)


def test_frame_without_face_gives_no_result(int8_predictor):
    rng = np.random.default_rng(1)
    assert int8_predictor.predict_frame(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) == []
    assert int8_predictor.predict_frame(np.full((240, 320), 128, np.uint8)) == []


def test_crop_keeps_a_square_with_margin_and_pads_at_edges():
    gray = np.arange(100 * 100, dtype=np.float32).reshape(100, 100)
    assert crop_face(gray, (40, 40, 20, 20), 0.1).shape == (24, 24)
    corner = crop_face(gray, (0, 0, 30, 20), 0.5)
    assert corner.shape == (60, 60) and corner[0, 0] == gray[0, 0]


def test_haar_detector_when_opencv_is_there(bundle):
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "CascadeClassifier"):
        pytest.skip("this OpenCV has no CascadeClassifier")
    results = EmotionPredictor(bundle / "model_int8.tflite", detector="haar").predict_frame(str(ASTRONAUT))
    assert len(results) >= 1 and any(_contains(r.box, ASTRONAUT_FACE_CENTER) for r in results)


def test_unknown_detector_is_a_clear_error(bundle):
    with pytest.raises(PredictorError, match="expected one of blazeface, haar"):
        EmotionPredictor(bundle / "model_int8.tflite", detector="yolo").predict_frame(str(ASTRONAUT))


def test_flip_tta_averages_the_face_and_its_mirror(bundle, faces):
    images, _ = faces
    plain = EmotionPredictor(bundle / "model_fp32.tflite")
    flip = EmotionPredictor(bundle / "model_fp32.tflite", tta="flip")
    for face in images[:5]:
        expected = (np.array(list(plain.predict(face).probabilities.values()))
                    + np.array(list(plain.predict(face[:, ::-1]).probabilities.values()))) / 2
        got = flip.predict(face)
        np.testing.assert_allclose(list(got.probabilities.values()), expected, atol=1e-5)
        assert got.label == CLASSES[int(expected.argmax())]
    batch = [r.probabilities for r in flip.predict_batch(list(images[:5]))]
    assert batch == [pytest.approx(flip.predict(face).probabilities, abs=1e-5) for face in images[:5]]
    with pytest.raises(PredictorError, match="tta='rotate'"):
        EmotionPredictor(bundle / "model_fp32.tflite", tta="rotate")


def test_the_crop_policy_frames_a_box_as_fer2013_did():
    """Boxes in, crop out: BlazeFace's box grown by FACE_MARGIN per side and lifted by FACE_LIFT of its side (the
    framing measured in research/crop_policy.py), taken from the frame, edges replicated where it leaves the frame."""
    from edgefer.predictor import FACE_LIFT, FACE_MARGIN, face_square

    assert (FACE_MARGIN, FACE_LIFT) == (0.076, 0.066)
    x0, y0, x1, y1 = face_square((100, 100, 50, 50), FACE_MARGIN, FACE_LIFT)
    assert (x1 - x0, y1 - y0) == (58, 58)  # 50 * (1 + 2 * 0.076) = 57.6
    assert abs((x0 + x1) / 2 - 125) <= 0.5 and abs((y0 + y1) / 2 - (125 - 0.066 * 50)) <= 0.5
    frame = np.arange(300 * 300, dtype=np.int64).reshape(300, 300) % 251
    crop = crop_face(frame, (100, 100, 50, 50), FACE_MARGIN, FACE_LIFT)
    np.testing.assert_array_equal(crop, frame[y0:y1, x0:x1])
    edge = crop_face(frame, (0, 0, 40, 40), FACE_MARGIN, FACE_LIFT)  # lifted above the top: rows replicated
    assert edge.shape[0] == edge.shape[1] and (edge[0] == edge[1]).all()
    predictor = EmotionPredictor()
    assert (predictor.margin, predictor.lift) == (FACE_MARGIN, FACE_LIFT)  # the packaged card's crop
