"""Bench with bad artifacts: a failed row that says why, and the others still measured."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from edgefer.cli import app
from edgefer.export.meta import embed_tflite
from helpers import FAST_BENCH, one_line_error

runner = CliRunner()


@pytest.fixture
def mislabelled_int8(exported, tmp_path):
    """The int8 model with an embedded class list of 8 names for its 7 outputs."""
    source = exported[0] / "model_int8.tflite"
    from edgefer.export.meta import read_meta

    meta = read_meta(source)
    meta["classes"] = meta["classes"] + ["Contempt"]
    path = tmp_path / "mislabelled.tflite"
    path.write_bytes(embed_tflite(source.read_bytes(), meta))
    return path


def test_bench_gives_bad_artifacts_a_failed_row_and_measures_the_others(exported, faces_npz, mislabelled_int8,
                                                                        tmp_path):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes((exported[0] / "model.onnx").read_bytes()[:5000])
    good = exported[0] / "model_int8.tflite"
    result = runner.invoke(app, ["bench", str(corrupt), str(mislabelled_int8), str(good), "--data", str(faces_npz),
                                 "--out", str(tmp_path / "bench"), *FAST_BENCH])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    rows = {r["name"]: r for r in json.loads((tmp_path / "bench" / "bench.json").read_text())["artifacts"]}
    assert rows["corrupt.onnx"]["status"] == "failed" and "give --input-size" not in rows["corrupt.onnx"]["error"]
    assert "load" in rows["corrupt.onnx"]["error"].lower() or "protobuf" in rows["corrupt.onnx"]["error"].lower()
    assert rows["mislabelled.tflite"]["status"] == "failed"
    assert "8 classes but the model has 7 outputs" in rows["mislabelled.tflite"]["error"]
    assert rows["model_int8.tflite"]["status"] == "ok" and rows["model_int8.tflite"]["accuracy"] > 0.5


def test_bench_external_labels_fewer_than_outputs_is_one_line(exported, faces_npz, tmp_path):
    shutil.copy(exported[0] / "model.onnx", tmp_path / "plain.onnx")  # no labels inside: an external model
    import onnx

    model = onnx.load(tmp_path / "plain.onnx")
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "plain.onnx")
    result = runner.invoke(app, ["bench", str(tmp_path / "plain.onnx"), "--data", str(faces_npz), "--out",
                                 str(tmp_path / "bench"), "--input-size", "48", "--labels", "Angry,Happy,Sad",
                                 *FAST_BENCH])
    one_line_error(result, "3 class names", "7 outputs")
