"""`edgefer pipeline`: the whole job in one command: train -> export int8 + ONNX -> bench -> predict.

On the embedded sample (the default) it runs offline in a few minutes on 2 cores and shows every
step working; on the full data (`--data`) with more epochs it is the real thing. Everything goes
under one folder (default `pipeline/`): runs/, export/<run>/ (the device bundle), bench/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgefer.cli_support import option
from edgefer.core.run_folder import default_export_dir
from edgefer.train.backbones import BACKBONE_NAMES
from edgefer.train.config import TrainConfig
from edgefer.train.packaged_start import is_packaged


@dataclass
class PipelineConfig:
    """`edgefer pipeline`'s options (flag, default and help in each field's metadata, as TrainConfig's)."""

    out: Path = field(default=Path("pipeline"), metadata=option("--out", "Folder for runs/, export/ and bench/."))
    data: str | None = field(default=None, metadata=option(
        "--data", "FER2013 in any form. Default: the embedded sample (offline, minutes).", metavar="PATH"))
    model: str = field(default="mobilenetv2", metadata=option("--model", f"{' or '.join(BACKBONE_NAMES)}."))
    img_size: int | None = field(default=None, metadata=option(
        "--img-size", "Input side inside the model. Default: the packaged model's (64) with --weights default, "
        "else 96."))
    epochs: int = field(default=4, metadata=option(
        "--epochs", "Training epochs (1 head + the rest fine-tuning).", min=2))
    weights: str = field(default="default", metadata=option(
        "--weights", "default, fast or ferplus (fine-tune the packaged model: offline, learns from the first epoch), "
        "none (from scratch: the scratch recipe, every layer), imagenet, or a no-top .h5."))
    bench_runs: int = field(default=100, metadata=option(
        "--bench-runs", "Timed single-face inferences per thread count.", min=1))
    predict_faces: int = 7

    def train_config(self) -> TrainConfig:
        # weights none: the scratch recipe, every layer (one warm-up epoch of the few); otherwise the finetune
        # recipe: the head on the frozen base for one epoch, then the top layers (all of them from ImageNet).
        scratch = self.weights == "none"
        packaged = is_packaged(self.weights)
        img_size = self.img_size if self.img_size is not None or packaged else 96
        return TrainConfig(model=self.model, mode="advanced", data=self.data, epochs=self.epochs, head_epochs=1,
                           img_size=img_size, weights=self.weights, unfreeze="default" if packaged else "all",
                           warmup_epochs=1 if scratch else None, batch_size=32, out=str(self.out / "runs"))

    @property
    def description(self) -> str:
        if self.weights == "none":
            return "from scratch (scratch recipe, every layer trainable)"
        if is_packaged(self.weights):
            return (f"fine-tuned from the packaged {self.weights!r} model (head on the frozen base for 1 epoch, then "
                    f"its top layers)")
        return f"fine-tuned from {self.weights} weights (head for 1 epoch, then every layer)"


def run_pipeline(config: PipelineConfig, say) -> dict:
    """Run the four steps, reporting each through `say(text)`; returns where everything went."""
    from edgefer.bench.report import table, write_outputs
    from edgefer.bench.run import BenchConfig, run_bench
    from edgefer.export.run import export_run
    from edgefer.train.training import train

    train_config = config.train_config().validate()
    say(f"[1/4] train {config.model} {train_config.img_size} px, {config.description}, {config.epochs} epochs, "
        f"on {config.data or 'the embedded sample'}")
    result = train(train_config)
    say(f"      test accuracy {result.metrics['test']['accuracy']:.1%} (n={result.metrics['test']['n']:,}) "
        f"-> {result.run_dir}")
    if config.data is None and config.weights == "none":
        say("      (from scratch on the sample's few hundred faces: near chance is expected; the shipped model in the "
            "bench below shows what full training gives)")
    say("[2/4] export int8 TFLite + ONNX, each checked against the Keras model")
    folder, artifacts = export_run(result.run_dir, ["int8", "onnx"], out=config.out / default_export_dir(result.run_dir),
                                   check_samples=100)
    for a in artifacts:
        say(f"      {a.format}: {a.status} {Path(a.file).name if a.file else ''} {a.size_mb:.2f} MB {a.reason}")
    say("[3/4] bench: accuracy and latency of every artifact on the same test faces")
    paths = [result.run_dir / "model.keras", *(Path(a.file) for a in artifacts if a.status == "ok")]
    shipped = _shipped_model()
    if shipped is not None:
        paths.append(shipped)
    report = run_bench(BenchConfig(paths=paths, data=config.data, runs=config.bench_runs, warmup=10,
                                   out=config.out / "bench"))
    write_outputs(report.to_json(), config.out / "bench")
    say(table(report.to_json()))
    say("[4/4] predict with the device predictor (numpy + TFLite runtime) on test faces")
    int8 = folder / "model_int8.tflite"
    if int8.is_file():
        _predict_examples(int8, config, say)
    return {"run": result.run_dir, "export": folder, "bench": config.out / "bench"}


def _shipped_model() -> Path | None:
    from edgefer.predictor import PredictorError, default_model_path

    try:
        return default_model_path()
    except PredictorError:
        return None


def _predict_examples(model: Path, config: PipelineConfig, say) -> None:
    from edgefer.data.loading import load_dataset
    from edgefer.data.splits import split_dataset
    from edgefer.predictor import EmotionPredictor

    test = split_dataset(load_dataset(config.data), seed=0).test
    rng = np.random.default_rng(0)
    rows = rng.choice(len(test), size=min(config.predict_faces, len(test)), replace=False)
    faces = [test.images[r] for r in rows]
    ours = EmotionPredictor(model, num_threads=2).predict_batch(faces)
    shipped = _shipped_model()
    theirs = EmotionPredictor(shipped, num_threads=2).predict_batch(faces) if shipped else [None] * len(faces)
    for row, new, old in zip(rows, ours, theirs):
        line = f"      test face {row:4d}: true {test.classes[test.labels[row]]:8s} new model {new.label} {new.probability:.0%}"
        say(line + (f", shipped model {old.label} {old.probability:.0%}" if old else ""))
    say(f"      same from a shell: edgefer predict {model} FACE.png, or on a device: "
        f"cd {model.parent} && python edgefer_predictor.py {model.name} FACE.png")
