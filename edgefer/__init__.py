"""edgefer: facial-expression recognition (FER2013) trained, quantized and benchmarked for edge devices."""

__version__ = "0.1.0"

from edgefer.data.classes import FER2013_CLASSES, FERPLUS_CLASSES  # noqa: E402
from edgefer.data.dataset import FERDataset, LoadReport  # noqa: E402
from edgefer.data.loading import load_dataset  # noqa: E402
from edgefer.data.splits import DataSplits, split_dataset  # noqa: E402
from edgefer.errors import ConfigError, DataError, EdgeferError, ModelError  # noqa: E402

__all__ = [
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
