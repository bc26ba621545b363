"""Export under faults: a full disk and Ctrl-C leave no partial artifact and no staging folder."""

import errno
from pathlib import Path

from typer.testing import CliRunner

from edgefer.cli import app
from helpers import one_line_error

runner = CliRunner()


def test_disk_full_is_one_line_and_leaves_no_partial_export(trained_run, tmp_path, monkeypatch):
    import dataclasses

    from edgefer.export.formats import EXPORT_FORMATS

    def full_disk(artifact, path, meta):
        Path(path).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setitem(EXPORT_FORMATS, "onnx", dataclasses.replace(EXPORT_FORMATS["onnx"], write=full_disk))
    out = tmp_path / "export"
    one_line_error(runner.invoke(app, ["export", str(trained_run), "--onnx", "--out", str(out),
                                       "--check-samples", "14"]), "disk is full")
    assert not (out / "rejected").exists() and not (out / ".staging").exists() and not (out / "model.onnx").exists()


def test_ctrl_c_in_export_leaves_no_staging(trained_run, tmp_path, monkeypatch):
    from edgefer.export.formats import EXPORT_FORMATS, ExportFormat

    def interrupted(model, calibration):
        raise KeyboardInterrupt

    monkeypatch.setitem(EXPORT_FORMATS, "fp32", ExportFormat("fp32", "model_fp32.tflite", "x", False, interrupted))
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(trained_run), "--fp32", "--out", str(out), "--check-samples", "14"])
    assert result.exit_code == 130
    assert not (out / ".staging").exists() and not (out / "model_fp32.tflite").exists()
