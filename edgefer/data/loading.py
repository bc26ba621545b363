"""`load_dataset`: one entry point for every FER2013 form, with format detection and caching.

Formats are a registry (name -> how to recognise it, how to read it, whether to cache it), so a
new layout is one entry. FER+ labels are applied after the (cached) FER2013 load; they are cheap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from edgefer.core.fileio import discard_damaged
from edgefer.data.cache import cache_path, default_cache_dir
from edgefer.data.csv_format import read_fer2013_csv
from edgefer.data.dataset import FERDataset, LoadReport
from edgefer.data.ferplus import apply_blended_targets, apply_ferplus_labels, find_ferplus_file
from edgefer.data.folder_format import looks_like_folder_layout, read_image_folder, read_own_classes
from edgefer.data.npz_format import read_npz, save_npz
from edgefer.data.sample import SAMPLE_PATH
from edgefer.errors import DataError

LABEL_SOURCES = ("fer2013", "ferplus", "blend", "folders")
DEFAULT_LABEL_BLEND = 0.5  # --labels blend: FER2013's share of each target
CSV_NAMES = ("fer2013.csv", "fer2013.csv.gz")
CSV_SUFFIXES = (".csv", ".csv.gz", ".gz", ".txt")


@dataclass(frozen=True)
class SourceFormat:
    name: str
    matches: Callable[[Path], bool]
    read: Callable[..., FERDataset]
    cacheable: bool


def _is_csv(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(CSV_SUFFIXES)


def _is_npz(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".npz"


def _read_npz(path: Path, *, skip_bad: bool, report: LoadReport) -> FERDataset:
    return read_npz(path, report=report)


SOURCE_FORMATS: dict[str, SourceFormat] = {
    f.name: f
    for f in (
        SourceFormat("fer2013-csv", _is_csv, read_fer2013_csv, cacheable=True),
        SourceFormat("npz", _is_npz, _read_npz, cacheable=False),
        SourceFormat("image-folders", looks_like_folder_layout, read_image_folder, cacheable=True),
    )
}
# `--labels folders`: the same tree read with its folder names as the classes (a cache entry of its own).
OWN_CLASSES_FORMAT = SourceFormat("image-folders-own-classes", looks_like_folder_layout, read_own_classes,
                                  cacheable=True)


def resolve_source(path: Path) -> tuple[Path, SourceFormat]:
    """The file or folder to read and its format; a folder holding fer2013.csv[.gz] means that file."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        for name in CSV_NAMES:
            if (path / name).is_file():
                return path / name, SOURCE_FORMATS["fer2013-csv"]
    for source_format in SOURCE_FORMATS.values():
        if source_format.matches(path):
            return path, source_format
    raise DataError(
        f"{path}: not a FER2013 source; expected fer2013.csv[.gz], an edgefer .npz, "
        "or a folder with train/<class>/*.png and test/<class>/*.png"
    )


def _cache_counts(report: LoadReport) -> dict[str, np.ndarray]:
    return {
        "report_counts": np.array([report.skipped, report.converted, report.ignored_files]),
        "report_skipped_examples": np.array(report.skipped_examples, dtype=str),
    }


def _restore_counts(cache_file: Path, report: LoadReport) -> None:
    with np.load(cache_file, allow_pickle=False) as data:
        if "report_counts" in data.files:
            report.skipped, report.converted, report.ignored_files = (int(v) for v in data["report_counts"])
            report.skipped_examples = data["report_skipped_examples"].tolist()


def _read_with_cache(source: Path, fmt: SourceFormat, skip_bad: bool, cache_dir: Path | None, report: LoadReport):
    if not fmt.cacheable or cache_dir is None:
        return fmt.read(source, skip_bad=skip_bad, report=report)
    cache_file = cache_path(source, cache_dir, reader=fmt.name, skip_bad=skip_bad)
    report.cache_file = str(cache_file)
    if cache_file.is_file():
        try:
            dataset = read_npz(cache_file, report=report)
            _restore_counts(cache_file, report)
            report.cache_hit = True
            return dataset
        except Exception as error:  # a damaged entry (any way numpy/zipfile fail) is rebuilt, never trusted
            discard_damaged(cache_file, "the parse cache", error)
    dataset = fmt.read(source, skip_bad=skip_bad, report=report)
    try:
        save_npz(dataset, cache_file, **_cache_counts(report))
    except OSError as error:  # an unwritable cache must not stop the load
        report.cache_file = f"not written ({error})"
    return dataset


def load_dataset(
    path: str | Path | None = None,
    *,
    labels: str = "fer2013",
    ferplus: str | Path | None = None,
    skip_bad: bool = False,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    label_blend: float = DEFAULT_LABEL_BLEND,
) -> FERDataset:
    """Load FER2013 from a CSV (.gz), a Kaggle image-folder tree or a .npz; None = embedded sample.

    labels: "fer2013" (7 classes), "ferplus" (majority vote of fer2013new.csv, 8 classes), "blend" (FER2013's 7
    classes and labels, each face's target `label_blend` x its label + the rest x its FER+ votes), or "folders" (an
    image tree's class folder names are the classes: your own classes).
    """
    if labels not in LABEL_SOURCES:
        raise DataError(f"unknown label source {labels!r}; expected one of {', '.join(LABEL_SOURCES)}")
    start = time.perf_counter()
    source, fmt = resolve_source(Path(path) if path is not None else SAMPLE_PATH)
    if labels == "folders":
        if fmt.name != "image-folders":
            raise DataError(f"{source}: --labels folders names the classes by the class folders of an image tree "
                            f"(train/<class>/*.png, test/<class>/*.png); this is {fmt.name}")
        fmt = OWN_CLASSES_FORMAT
    report = LoadReport(source=str(source) if path is not None else f"embedded sample ({source.name})", format=fmt.name,
                        label_source=labels)
    cache_root = (Path(cache_dir) if cache_dir else default_cache_dir()) if use_cache else None
    dataset = _read_with_cache(source, fmt, skip_bad, cache_root, report)
    if labels in ("ferplus", "blend"):
        if fmt.name == "image-folders":
            raise DataError(f"{source}: FER+ labels need the row-aligned FER2013 CSV, not an image-folder tree")
        votes_file = Path(ferplus) if ferplus else find_ferplus_file(source)
        dataset = (apply_ferplus_labels(dataset, votes_file) if labels == "ferplus"
                   else apply_blended_targets(dataset, votes_file, label_blend))
    dataset.report.seconds = time.perf_counter() - start
    return dataset


@dataclass
class DataSource:
    """Where the faces come from and how to read them: the options of `edgefer data info` and `data show`
    (flag, default and help in each field's metadata, as TrainConfig's)."""

    labels: str = field(default="fer2013", metadata={
        "flag": "--labels", "help": "Label source: fer2013 (7 classes), ferplus (8, adds Contempt), blend (FER2013's 7 "
        "classes, each face's target mixing its label with its FER+ votes), or folders (an image tree's class folders "
        "are the classes: your own, any number)."})
    ferplus: str | None = field(default=None, metadata={
        "flag": "--ferplus", "help": "fer2013new.csv[.gz]; default: found beside the CSV.", "metavar": "PATH"})
    skip_bad: bool = field(default=False, metadata={
        "flag": "--skip-bad", "help": "Skip bad rows/files and report how many, instead of stopping."})
    cache_dir: str | None = field(default=None, metadata={
        "flag": "--cache-dir", "help": "Parse cache folder (default $EDGEFER_CACHE_DIR or ~/.cache/edgefer).",
        "metavar": "PATH"})
    use_cache: bool = field(default=True, metadata={
        "flag": "--no-cache", "help": "Parse the source again and write no cache.", "invert": True})

    def load(self, path: str | Path | None) -> FERDataset:
        return load_dataset(path, labels=self.labels, ferplus=self.ferplus, skip_bad=self.skip_bad,
                            cache_dir=self.cache_dir, use_cache=self.use_cache)
