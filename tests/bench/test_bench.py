"""`edgefer bench` on a tiny exported model: table rows, JSON schema, floor flag, external models, timings."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefer import FERDataset
from edgefer.bench.report import flat_rows, pareto_front
from edgefer.bench.worker import latency_stats, time_single
from edgefer.cli import app
from edgefer.core.conversion import tflite_fp32
from edgefer.data.npz_format import save_npz
from helpers import separable_faces

runner = CliRunner()
FAST = ["--runs", "20", "--warmup", "2", "--threads", "1,2"]


@pytest.fixture(scope="module")
def test_faces(tmp_path_factory):
    """The same kind of faces the fixture model was trained on, as a PublicTest-only dataset."""
    images, labels = separable_faces(10, seed=7)
    return save_npz(FERDataset(images=images, labels=labels, usage=["PublicTest"] * len(labels)),
                    tmp_path_factory.mktemp("bench") / "faces.npz")


@pytest.fixture(scope="module")
def benched(exported, test_faces, tmp_path_factory):
    folder, _ = exported
    out = tmp_path_factory.mktemp("bench_out")
    result = runner.invoke(app, ["bench", str(folder / "model_int8.tflite"), str(folder / "model.onnx"),
                                 "--data", str(test_faces), "--out", str(out), *FAST])
    return result, out


def test_table_has_a_row_per_artifact(benched):
    result, _ = benched
    assert result.exit_code == 0, result.output
    for name in ("model_int8.tflite", "model.onnx", "accuracy", "MMAC", "p50/p99 ms 1t", "p50/p99 ms 2t", "FPS"):
        assert name in result.stdout


def test_json_schema_and_files(benched):
    _, out = benched
    report = json.loads((out / "bench.json").read_text())
    assert report["n"] == 70 and report["split"] == "PublicTest" and report["threads"] == [1, 2]
    assert {"cpu", "vector_extensions", "cores", "os", "python"} <= set(report["machine"])
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    for flag in ("avx2", "avx512f"):  # what the report says matches what this CPU has
        assert (flag in report["machine"]["vector_extensions"]) == (flag in flags)
    assert f"({', '.join(report['machine']['vector_extensions'])})" in (out / "bench.md").read_text()
    names = [a["name"] for a in report["artifacts"]]
    assert names == ["model_int8.tflite", "model.onnx"]
    for a in report["artifacts"]:
        assert a["status"] == "ok" and a["accuracy"] > 0.8  # the fixture model separates these faces
        assert set(a["latency"]) == {"1", "2"}
        for stats in a["latency"].values():
            assert stats["runs"] == 20 and 0 < stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"]
        assert a["runtime"] in ("ai-edge-litert", "onnxruntime") and a["runtime_version"] != "unknown"
        assert np.array(a["confusion_matrix"]).shape == (7, 7) and np.array(a["confusion_matrix"]).sum() == 70
        assert a["size_mb"] > 0 and a["load_seconds"] > 0 and a["peak_rss_mb"] > 0
        assert a["throughput"]["faces_per_s"] > 0
        assert a["macs"] > 1_000_000  # the network's multiply-accumulates per face, in the table as MMAC
    assert flat_rows(report)[0]["MMAC"] == f"{report['artifacts'][0]['macs'] / 1e6:.1f}"
    for name in ("bench.csv", "bench.md", "accuracy_vs_latency.png", "confusion_model_int8_tflite.png"):
        assert (out / name).is_file()


def test_min_accuracy_floor_sets_exit_code(exported, test_faces, tmp_path):
    folder, _ = exported
    args = ["bench", str(folder / "model_int8.tflite"), "--data", str(test_faces), "--out", str(tmp_path), *FAST]
    assert runner.invoke(app, args + ["--min-accuracy", "0.5"]).exit_code == 0
    accuracy = json.loads((tmp_path / "bench.json").read_text())["artifacts"][0]["accuracy"]
    failing = runner.invoke(app, args + ["--min-accuracy", f"{accuracy + 0.001:.4f}"])  # just above what it scores
    assert failing.exit_code == 1 and "under --min-accuracy" in failing.output


def test_external_model_with_another_label_order(trained_run, test_faces, tmp_path):
    """A model whose outputs come in a rotated class order scores the same once --labels says so."""
    import keras

    model = keras.saving.load_model(trained_run / "model.keras", safe_mode=True, compile=False)
    last = model.get_layer("probabilities")
    kernel, bias = last.get_weights()
    last.set_weights([np.roll(kernel, 1, axis=1), np.roll(bias, 1)])  # output j is our class j-1
    path = tmp_path / "foreign.tflite"
    path.write_bytes(tflite_fp32(model, None))  # no edgefer metadata: an external model
    classes = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    rotated = ",".join(np.roll(classes, 1))
    base = ["bench", str(path), "--data", str(test_faces), *FAST, "--input-size", "48", "--normalize", "none"]
    good = runner.invoke(app, base + ["--class-names", rotated, "--out", str(tmp_path / "a")])
    naive = runner.invoke(app, base + ["--labels", ",".join(classes), "--out", str(tmp_path / "b")])  # old spelling
    assert good.exit_code == 0 and naive.exit_code == 0, good.output + naive.output
    acc_good = json.loads((tmp_path / "a" / "bench.json").read_text())["artifacts"][0]["accuracy"]
    acc_naive = json.loads((tmp_path / "b" / "bench.json").read_text())["artifacts"][0]["accuracy"]
    assert acc_good > 0.8 and acc_naive < 0.3
    missing = runner.invoke(app, ["bench", str(path), "--data", str(test_faces), "--out", str(tmp_path / "c")])
    assert missing.exit_code == 2 and "not an edgefer artifact" in missing.output


def test_external_model_gets_resized_and_normalised_input(exported, test_faces, tmp_path):
    """An external model and edgefer's own in one run: the options apply to the external one only."""
    import keras

    inputs = keras.Input((64, 64, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    path = tmp_path / "rgb64.tflite"
    path.write_bytes(tflite_fp32(model, None))
    ours = exported[0] / "model_int8.tflite"
    result = runner.invoke(app, ["bench", str(ours), str(path), "--data", str(test_faces), *FAST, "--input-size", "64",
                                 "--normalize", "-1_1", "--labels", "Angry,Disgust,Fear,Happy,Sad,Surprise,Neutral",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    rows = {a["name"]: a for a in json.loads((tmp_path / "o" / "bench.json").read_text())["artifacts"]}
    assert rows["rgb64.tflite"]["status"] == "ok" and rows["model_int8.tflite"]["accuracy"] > 0.8


def test_same_file_names_from_two_folders_stay_apart(tmp_path):
    from edgefer.bench.run import display_names

    paths = [tmp_path / "a" / "model.onnx", tmp_path / "b" / "model.onnx", tmp_path / "a" / "model_int8.tflite"]
    assert display_names(paths) == ["a/model.onnx", "b/model.onnx", "model_int8.tflite"]


def test_pareto_front_keeps_what_nothing_beats_on_both_axes():
    #          fast+weak   slow+best   dominated   ties the first   faster but worse than none
    points = [(0.3, 0.65), (0.8, 0.68), (0.9, 0.60), (0.3, 0.65), (0.1, 0.50)]
    assert pareto_front(points) == [True, True, False, True, True]
    assert pareto_front([(1.0, 0.5)]) == [True] and pareto_front([]) == []


def test_front_column_marks_the_front_and_skips_failed_rows(benched):
    _, out = benched
    report = json.loads((out / "bench.json").read_text())
    report["artifacts"].append({**report["artifacts"][0], "name": "slower-and-worse", "accuracy": 0.1,
                                "latency": {t: {**v, "p50_ms": v["p50_ms"] + 10} for t, v in report["artifacts"][0]["latency"].items()}})
    report["artifacts"].append({"name": "broken.tflite", "status": "failed", "size_mb": 0.1, "error": "x"})
    rows = {r["artifact"]: r for r in flat_rows(report)}
    assert rows["slower-and-worse"]["front"] == "" and "front" not in rows["broken.tflite"]
    assert "yes" in {rows["model_int8.tflite"]["front"], rows["model.onnx"]["front"]}


def test_latency_statistics_come_from_real_timings():
    class Sleeper:
        calls = 0

        def predict(self, face, batch_size=1):
            Sleeper.calls += 1
            time.sleep(0.003)

    samples = time_single(Sleeper(), np.zeros((1, 48, 48, 1), np.uint8), runs=15, warmup=3)
    stats = latency_stats(samples)
    assert Sleeper.calls == 18 and stats["runs"] == 15
    assert 3.0 <= stats["p50_ms"] < 50 and stats["min_ms"] >= 3.0


def test_flip_tta_is_a_row_of_its_own_with_its_latency(exported, test_faces, tmp_path):
    from edgefer.predictor import EmotionPredictor

    folder, _ = exported
    model = folder / "model_int8.tflite"
    result = runner.invoke(app, ["bench", str(model), "--data", str(test_faces), "--out", str(tmp_path),
                                 "--tta", "flip", *FAST])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "bench.json").read_text())["artifacts"]
    assert [(r["name"], r["tta"]) for r in rows] == [("model_int8.tflite", "none"), ("model_int8.tflite +flip", "flip")]
    assert all(r["status"] == "ok" and set(r["latency"]) == {"1", "2"} for r in rows)
    assert rows[1]["macs"] == 2 * rows[0]["macs"]  # the face and its mirror
    # The flip row scores what the predictor with tta="flip" predicts on the same faces.
    data = np.load(test_faces, allow_pickle=False)
    predictor = EmotionPredictor(model, num_threads=1, tta="flip")
    labels = [predictor.classes.index(r.label) for r in predictor.predict_batch(list(data["images"]))]
    assert rows[1]["accuracy"] == pytest.approx(np.mean(np.array(labels) == data["labels"]), abs=1.5 / 70)
    assert "model_int8.tflite +flip" in result.stdout
    bad = runner.invoke(app, ["bench", str(model), "--data", str(test_faces), "--out", str(tmp_path), "--tta", "rot"])
    assert bad.exit_code == 2 and "--tta 'rot'" in bad.output


def test_same_file_names_in_same_named_folders_take_as_many_folders_as_needed(tmp_path):
    """Two runs' export/model_int8.tflite (the frontier sweep) must not share a row name or a plot file."""
    from edgefer.bench.run import display_names

    paths = [tmp_path / "plain" / "export" / "model_int8.tflite", tmp_path / "kd" / "export" / "model_int8.tflite",
             tmp_path / "kd" / "export" / "model.onnx"]
    assert display_names(paths) == ["plain/export/model_int8.tflite", "kd/export/model_int8.tflite", "model.onnx"]


def test_runs_are_split_between_rounds_and_add_up():
    from edgefer.bench.run import BenchConfig

    assert [BenchConfig(paths=[], runs=10, rounds=3).runs_in_round(r) for r in range(3)] == [4, 3, 3]
    assert [BenchConfig(paths=[], runs=2, rounds=3).runs_in_round(r) for r in range(2)] == [1, 1]  # 2 rounds at most
    assert BenchConfig(paths=[], runs=7, rounds=1).runs_in_round(0) == 7


def test_latency_rounds_take_turns_and_pool_every_run(exported, test_faces, tmp_path, monkeypatch):
    """Round 1 measures each artifact in full, rounds 2..R time latency only, the artifacts taking turns."""
    import edgefer.bench.run as bench_run

    calls, real = [], bench_run._run_worker

    def spy(job, workdir):
        calls.append((job["artifact"].rsplit("/", 1)[-1], bool(job.get("latency_only")), job["runs"]))
        return real(job, workdir)

    monkeypatch.setattr(bench_run, "_run_worker", spy)
    folder, _ = exported
    result = runner.invoke(app, ["bench", str(folder / "model_int8.tflite"), str(folder / "model_fp16.tflite"),
                                 "--data", str(test_faces), "--out", str(tmp_path), "--runs", "10", "--warmup", "1",
                                 "--threads", "1", "--rounds", "3"])
    assert result.exit_code == 0, result.output
    a, b = "model_int8.tflite", "model_fp16.tflite"
    assert calls == [(a, False, 4), (b, False, 4), (a, True, 3), (b, True, 3), (a, True, 3), (b, True, 3)]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["rounds"] == 3 and "in 3 round(s)" in (tmp_path / "bench.md").read_text()
    for row in report["artifacts"]:
        assert row["latency"]["1"]["runs"] == 10 and "latency_samples" not in row and "job" not in row


def test_bench_report_round_trips_and_owns_the_exit_rule(tmp_path):
    from edgefer.bench.results import BenchReport, BenchRow

    report = BenchReport(data="d", split="PublicTest", n=10, classes=["a", "b"], threads=[1], runs=3, rounds=1,
                         warmup=1, machine={"cpu": "x"}, versions={},
                         rows=[BenchRow(name="m.tflite", path=str(tmp_path / "m.tflite"), format="tflite", size_mb=1.0,
                                        accuracy=0.8, latency={"1": {"p50_ms": 0.5}}),
                               BenchRow(name="b.onnx", path="b.onnx", format="onnx", size_mb=1.0, status="failed",
                                        error="does not load")])
    assert BenchReport.from_json(json.loads(json.dumps(report.to_json()))) == report
    assert "accuracy" not in report.to_json()["artifacts"][1]  # a failed row keeps the short form of bench.json
    assert report.rows[0].p50_ms(1) == 0.5 and report.row_for(tmp_path / "m.tflite") is report.rows[0]
    assert report.exit_code() == 1 and [r.name for r in report.failed()] == ["b.onnx"]
    report.rows.pop()
    assert report.exit_code() == 0 and report.exit_code(min_accuracy=0.9) == 1 and report.under(0.5) == []


def test_overlapping_plot_labels_are_moved_apart():
    from edgefer.bench.report import first_free

    bounds = (0.0, 0.0, 1000.0, 1000.0)
    taken = [(0.0, 0.0, 100.0, 10.0)]  # a label already there
    right, left, low = (50.0, 1.0, 150.0, 11.0), (300.0, 1.0, 400.0, 11.0), (50.0, -20.0, 150.0, -10.0)
    assert first_free([left, right], taken, bounds) == 0  # the first side is free: it is taken
    assert first_free([right, left], taken, bounds) == 1  # the first covers the other label: the next
    assert first_free([right, low, left], taken, bounds) == 2  # below the plot area is no place either
    barely = (90.0, 0.0, 190.0, 10.0)  # overlaps the other label by a tenth of its width
    assert first_free([right, barely], taken, bounds) == 1  # none free: the least covered
