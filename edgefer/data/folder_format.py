"""Reader for the Kaggle folder layout: `train/<class>/*.png|jpg`, `test/<class>/*`.

Class folder names are matched case-insensitively with the usual variants (`disgusted`, `fearful`,
`surprised`, ...); with `--labels folders` the folder names are the classes instead (a team's own classes,
any number of them). Images that are not 48x48 grayscale are converted and resized, and counted.
Pillow's decompression-bomb guard stays on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from edgefer.core.progress import progress_bar
from edgefer.data.classes import FER2013_CLASSES, FOLDER_NAME_TO_ID, class_id_for_folder
from edgefer.data.dataset import IMAGE_SIZE, FERDataset, LoadReport
from edgefer.errors import DataError
from edgefer.predictor import IMAGE_SUFFIXES, PredictorError, open_image, pil_to_array

SPLIT_FOLDERS: dict[str, str] = {
    "train": "Training",
    "training": "Training",
    "test": "PublicTest",
    "publictest": "PublicTest",
    "privatetest": "PrivateTest",
}


def looks_like_folder_layout(path: Path) -> bool:
    """A directory whose subfolders are split folders or class folders."""
    if not path.is_dir():
        return False
    names = [p.name.lower() for p in path.iterdir() if p.is_dir()]
    return any(n in SPLIT_FOLDERS or n in FOLDER_NAME_TO_ID for n in names)


def _visible_dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_dirs(root: Path, own_classes: bool = False) -> list[tuple[str, Path]]:
    """(split name, folder) pairs; a root holding class folders directly is one Training split."""
    subdirs = _visible_dirs(root)
    class_folders = (not any(p.name.lower() in SPLIT_FOLDERS for p in subdirs) if own_classes
                     else all(class_id_for_folder(p.name) is not None for p in subdirs))
    if subdirs and class_folders:
        return [("Training", root)]
    pairs = []
    for sub in subdirs:
        split = SPLIT_FOLDERS.get(sub.name.lower())
        if split is None:
            raise DataError(
                f"{sub}: unknown split folder; expected one of {', '.join(sorted(set(SPLIT_FOLDERS)))}"
            )
        pairs.append((split, sub))
    if not pairs:
        raise DataError(f"{root}: empty folder; expected train/<class>/*.png and test/<class>/*.png")
    return pairs


def list_images(root: Path, report: LoadReport, own_classes: bool = False) -> tuple[list[tuple[Path, int, str]], tuple[str, ...]]:
    """(file, class id, split) for every image under the layout in a deterministic order, and the class names.

    Class folders are FER2013's (with the usual variants; ids 0-6, all 7 classes), or with `own_classes` the folder
    names themselves (`--labels folders`: a team's own classes, sorted, matched case-insensitively across splits)."""
    splits = [(split, split_dir, _visible_dirs(split_dir)) for split, split_dir in _split_dirs(root, own_classes)]
    if own_classes:
        spelled = {}
        for _, _, class_dirs in splits:
            for class_dir in class_dirs:
                spelled.setdefault(class_dir.name.lower(), class_dir.name)
        classes = tuple(spelled[key] for key in sorted(spelled))
        class_id = lambda name: classes.index(spelled[name.lower()])  # noqa: E731
    else:
        classes, class_id = FER2013_CLASSES, class_id_for_folder
    entries = []
    for split, split_dir, class_dirs in splits:
        if not class_dirs:
            raise DataError(f"{split_dir}: empty folder; expected class folders "
                            f"({'your classes' if own_classes else ', '.join(FER2013_CLASSES)})")
        for class_dir in class_dirs:
            label = class_id(class_dir.name)
            if label is None:
                raise DataError(
                    f"{class_dir}: unknown class folder; expected one of {', '.join(sorted(FOLDER_NAME_TO_ID))} "
                    f"(or --labels folders to train on your own classes, named by their folders)"
                )
            files = sorted(p for p in class_dir.iterdir() if p.is_file() and not p.name.startswith("."))
            images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
            report.ignored_files += len(files) - len(images)
            if not images:
                raise DataError(f"{class_dir}: empty folder; expected images ({', '.join(IMAGE_SUFFIXES)})")
            entries.extend((p, label, split) for p in images)
    return entries, classes


def read_face_image(path: Path) -> tuple[np.ndarray, bool]:
    """48x48 uint8 grayscale pixels of an image file, and whether it had to be converted."""
    try:
        image = open_image(path)  # the predictor's decoder: bomb guard, 16-bit scaling, large-photo reduction
        converted = image.mode != "L" or image.size != (IMAGE_SIZE, IMAGE_SIZE)
        if image.mode != "L":  # the predictor's conversion (16-bit scaled), then colour to luma
            image = Image.fromarray(pil_to_array(image)).convert("L")
        if image.size != (IMAGE_SIZE, IMAGE_SIZE):
            image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR, reducing_gap=3.0)
        return np.asarray(image, dtype=np.uint8), converted
    except PredictorError as error:
        detail = str(error).removeprefix(f"{path}: ")
        raise DataError(f"{path}: unreadable image ({detail}); expected a PNG or JPEG face") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: unreadable image ({error}); expected a PNG or JPEG face") from None


def read_image_folder(root: Path, *, skip_bad: bool = False, report: LoadReport | None = None,
                      own_classes: bool = False) -> FERDataset:
    root = Path(root)
    report = report or LoadReport(source=str(root), format="image-folders")
    entries, classes = list_images(root, report, own_classes)
    images, labels, usage = [], [], []
    with progress_bar(f"reading {root.name}/", len(entries)) as advance:
        for i, (path, class_id, split) in enumerate(entries):
            try:
                pixels, converted = read_face_image(path)
            except DataError as error:
                if not skip_bad:
                    raise
                report.note_skip(str(error))
                continue
            report.converted += converted
            images.append(pixels)
            labels.append(class_id)
            usage.append(split)
            if i % 500 == 0:
                advance(i)
    if not images:
        raise DataError(f"{root}: no readable images")
    return FERDataset(
        images=np.stack(images), labels=np.array(labels), usage=np.array(usage), classes=classes, report=report
    )


def read_own_classes(root: Path, *, skip_bad: bool = False, report: LoadReport | None = None) -> FERDataset:
    """An image-folder tree whose class folders are the classes (`--labels folders`)."""
    return read_image_folder(root, skip_bad=skip_bad, report=report, own_classes=True)
