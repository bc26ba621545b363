"""Class lists of the label sources edgefer reads, and the folder-name aliases people use.

FER2013 ids are the contract of the whole package: 0 Angry .. 6 Neutral. FER+ adds one class,
Contempt; it is appended as id 7 so that ids 0-6 mean the same thing under either label source.
"""

from __future__ import annotations

FER2013_CLASSES: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
FERPLUS_CLASSES: tuple[str, ...] = FER2013_CLASSES + ("Contempt",)

CLASSES_BY_LABEL_SOURCE: dict[str, tuple[str, ...]] = {
    "fer2013": FER2013_CLASSES,
    "ferplus": FERPLUS_CLASSES,
}

# Folder names seen in Kaggle-style exports, lower-cased, mapped to the FER2013 id.
_FOLDER_ALIASES: dict[str, tuple[str, ...]] = {
    "Angry": ("angry", "anger"),
    "Disgust": ("disgust", "disgusted"),
    "Fear": ("fear", "fearful", "afraid"),
    "Happy": ("happy", "happiness"),
    "Sad": ("sad", "sadness"),
    "Surprise": ("surprise", "surprised"),
    "Neutral": ("neutral",),
}
FOLDER_NAME_TO_ID: dict[str, int] = {
    alias: FER2013_CLASSES.index(name) for name, aliases in _FOLDER_ALIASES.items() for alias in aliases
}


def class_id_for_folder(name: str) -> int | None:
    """FER2013 id of a class folder name (case-insensitive, common variants), or None."""
    return FOLDER_NAME_TO_ID.get(name.strip().lower())
