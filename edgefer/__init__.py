"""edgefer: facial-expression recognition (FER2013) trained, quantized and benchmarked for edge devices.

The public API, from the package root:

    import edgefer
    edgefer.EmotionPredictor("auto").predict_frame("photo.jpg")      # predict (numpy + a TFLite runtime)
    edgefer.analyze(edgefer.AnalyzeConfig("clip.mp4", out="out"))    # video analysis
    edgefer.train_model(edgefer.TrainConfig(...)); edgefer.export_run(run_dir, ["int8"])
    edgefer.run_bench(edgefer.BenchConfig(...))

The stage entry points load on first use (`import edgefer` stays light: no TensorFlow, no Keras). They are not called
`train`, `export` and `bench`: those names are the stages' subpackages.
"""

__version__ = "0.1.0"

from edgefer.data.classes import FER2013_CLASSES, FERPLUS_CLASSES  # noqa: E402
from edgefer.data.dataset import FERDataset, LoadReport  # noqa: E402
from edgefer.data.loading import load_dataset  # noqa: E402
from edgefer.data.splits import DataSplits, split_dataset  # noqa: E402
from edgefer.errors import ConfigError, DataError, EdgeferError, ModelError  # noqa: E402

# name -> (module, attribute), imported on first access (PEP 562)
_LAZY = {
    "EmotionPredictor": ("edgefer.predictor", "EmotionPredictor"),
    "Prediction": ("edgefer.predictor", "Prediction"),
    "PredictorError": ("edgefer.predictor", "PredictorError"),
    "AnalyzeConfig": ("edgefer.analyze.run", "AnalyzeConfig"),
    "analyze": ("edgefer.analyze.run", "analyze"),
    "TrainConfig": ("edgefer.train.config", "TrainConfig"),
    "train_model": ("edgefer.train.training", "train"),
    "export_run": ("edgefer.export.run", "export_run"),
    "BenchConfig": ("edgefer.bench.run", "BenchConfig"),
    "run_bench": ("edgefer.bench.run", "run_bench"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'edgefer' has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "FER2013_CLASSES",
    "FERPLUS_CLASSES",
    "FERDataset",
    "LoadReport",
    "EdgeferError",
    "ConfigError",
    "DataError",
    "ModelError",
    "load_dataset",
    "split_dataset",
    "DataSplits",
]
