"""What `edgefer analyze` writes: faces.csv as it goes, then tracks.csv, summary.json, timeline.png, and the
annotated video. Every file appears whole or not at all (temp file, then rename), and faces.csv is renamed into place
even when the source broke off, holding every analysed frame up to the last good one."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import numpy as np

from edgefer.analyze.sources import opencv
from edgefer.core.fileio import atomic_path, csv_text, write_json, write_text

FACE_COLUMNS = ("frame", "time_s", "track", "x", "y", "w", "h", "label", "score", "face_score")
MAX_PANELS = 8  # timeline panels: the tracks seen longest


def face_columns(classes) -> list[str]:
    """faces.csv's header: the fixed columns, raw probability per class (p_<class>), then the smoothed label and
    probabilities (smooth_label, smooth_<class>)."""
    return [*FACE_COLUMNS, *(f"p_{c}" for c in classes), "smooth_label", *(f"smooth_{c}" for c in classes)]


class FaceRows:
    """faces.csv written row by row into a temp file beside it, renamed into place by `close` (memory stays flat)."""

    def __init__(self, path: Path, classes):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=".faces.", suffix=".csv", dir=self.path.parent)
        self.file = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file)
        self.writer.writerow(face_columns(classes))
        self.rows = 0

    def add(self, frame: int, time_s: float, track: int, box, label: str, score: float, face_score, raw, smooth_label,
            smooth) -> None:
        self.writer.writerow([frame, f"{time_s:.4f}", track, *box, label, f"{score:.5f}",
                              "" if face_score is None else f"{face_score:.4f}", *(f"{v:.5f}" for v in raw),
                              smooth_label, *(f"{v:.5f}" for v in smooth)])
        self.rows += 1

    def close(self) -> None:
        self.file.close()
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.file.close()
        Path(self.tmp).unlink(missing_ok=True)


class TrackStats:
    """Per track: when it was seen and how often under each smoothed label (O(tracks) memory)."""

    def __init__(self, classes):
        self.classes = list(classes)
        self.tracks: dict[int, dict] = {}

    def add(self, track: int, time_s: float, label_index: int) -> None:
        entry = self.tracks.setdefault(track, {"first_s": time_s, "last_s": time_s, "frames": 0,
                                               "counts": np.zeros(len(self.classes), np.int64)})
        entry["last_s"] = time_s
        entry["frames"] += 1
        entry["counts"][label_index] += 1

    def summaries(self) -> list[dict]:
        out = []
        for track, entry in sorted(self.tracks.items()):
            shares = entry["counts"] / max(1, entry["frames"])
            out.append({"track": track, "first_s": round(entry["first_s"], 3), "last_s": round(entry["last_s"], 3),
                        "frames_seen": int(entry["frames"]),
                        **{f"share_{c}": round(float(v), 4) for c, v in zip(self.classes, shares)},
                        "dominant": self.classes[int(np.argmax(entry["counts"]))]})
        return out


def write_tracks(path: Path, summaries: list[dict], classes) -> None:
    columns = ["track", "first_s", "last_s", "frames_seen", *(f"share_{c}" for c in classes), "dominant"]
    rows = summaries or []
    write_text(path, csv_text(rows) if rows else ",".join(columns) + "\n")


def write_summary(path: Path, summary: dict) -> None:
    write_json(path, summary)


def _read_faces(path: Path, classes):
    """(track ids, times, smoothed probabilities (N, classes), smoothed labels) from faces.csv."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    tracks = np.array([int(r["track"]) for r in rows], dtype=np.int64)
    times = np.array([float(r["time_s"]) for r in rows])
    smooth = np.array([[float(r[f"smooth_{c}"]) for c in classes] for r in rows]).reshape(len(rows), len(classes))
    labels = [r["smooth_label"] for r in rows]
    return tracks, times, smooth, labels


def plot_timeline(faces_csv: Path, path: Path, classes, title: str) -> Path | None:
    """One panel per track (smoothed probabilities over time, the tracks seen longest) and a share-of-time bar chart
    over all tracks. None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    tracks, times, smooth, labels = _read_faces(faces_csv, classes)
    ids, counts = np.unique(tracks, return_counts=True) if len(tracks) else (np.array([], int), np.array([], int))
    shown = [int(i) for i in ids[np.argsort(-counts, kind="stable")][:MAX_PANELS]]
    panels = max(1, len(shown))
    fig, axes = plt.subplots(panels + 1, 1, figsize=(10, 2.1 * panels + 2.4), squeeze=False)
    colors = plt.get_cmap("tab10")
    for axis, track in zip(axes[:, 0], shown):
        mine = tracks == track
        for c, name in enumerate(classes):
            axis.plot(times[mine], smooth[mine, c], color=colors(c % 10), label=name, lw=1.4)
        axis.set_ylim(0, 1)
        axis.set_ylabel(f"track {track}")
        axis.grid(alpha=0.3)
    if not shown:
        axes[0, 0].text(0.5, 0.5, "no face found", ha="center", va="center")
    axes[0, 0].legend(ncol=len(classes), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 1.45))
    axes[panels - 1, 0].set_xlabel("time, s (smoothed probabilities)")
    share = np.array([labels.count(c) for c in classes], dtype=float)
    share = share / share.sum() if share.sum() else share
    bars = axes[panels, 0]
    bars.bar(range(len(classes)), share, color=[colors(c % 10) for c in range(len(classes))])
    bars.set_xticks(range(len(classes)), classes)
    bars.set_ylabel("share of time")
    bars.set_title("all tracks: share of analysed face-time per emotion (smoothed labels)", fontsize=9)
    more = f" ({len(ids) - len(shown)} shorter tracks not shown)" if len(ids) > len(shown) else ""
    fig.suptitle(title + more, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


class AnnotatedVideo:
    """The source's frames with each track's box, id and smoothed label drawn, written with OpenCV (mp4v)."""

    def __init__(self, path: Path, fps: float):
        self.cv2 = opencv()
        self.path, self.fps = Path(path), fps
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=".annotated.", suffix=self.path.suffix or ".mp4", dir=self.path.parent)
        os.close(fd)
        self.writer = None

    def add(self, pixels, channels: str, faces: list[tuple[int, tuple, str, float]]) -> None:
        """faces: (track, box, smoothed label, its probability) to draw on this frame."""
        cv2 = self.cv2
        frame = np.asarray(pixels)
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        elif channels == "rgb":
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        else:
            frame = frame.copy()
        if self.writer is None:
            height, width = frame.shape[:2]
            self.writer = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self.writer.isOpened():
                raise OSError(f"{self.path}: OpenCV cannot write an mp4 video here")
        thickness = max(2, min(frame.shape[:2]) // 240)
        for track, (x, y, w, h), label, probability in faces:
            cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 196, 255), thickness)
            text = f"#{track} {label} {probability:.0%}"
            scale = max(0.5, min(frame.shape[:2]) / 900)
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            top = max(0, y - th - 8)
            cv2.rectangle(frame, (x, top), (x + tw + 6, top + th + 8), (0, 196, 255), -1)
            cv2.putText(frame, text, (x + 3, top + th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
        self.writer.write(np.ascontiguousarray(frame))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            os.replace(self.tmp, self.path)
        else:
            Path(self.tmp).unlink(missing_ok=True)
