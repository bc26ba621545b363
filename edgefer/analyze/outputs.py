"""What `edgefer analyze` writes for a source: faces.csv, tracks.csv, summary.json, each person's thumbnail, the
timeline, and the annotated video. Every file appears whole or not at all (temp file, then rename), and faces.csv is
written even when the source broke off, holding every analysed frame up to the last good one."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from edgefer.core.fileio import atomic_path, csv_text, current_umask, write_json, write_text
from edgefer.core.video import opencv

FACE_COLUMNS = ("frame", "time_s", "track", "x", "y", "w", "h", "label", "score", "face_score")
MAX_PANELS = 8  # timeline panels: the tracks seen longest


def face_columns(classes) -> list[str]:
    """faces.csv's header: the fixed columns, raw probability per class (p_<class>), then the smoothed label and
    probabilities (smooth_label, smooth_<class>)."""
    return [*FACE_COLUMNS, *(f"p_{c}" for c in classes), "smooth_label", *(f"smooth_{c}" for c in classes)]


THUMBNAIL_SIDE = 96  # px: each person's face in tracks.csv's thumbnail file and on the timeline


def thumbnail_name(track: int) -> str:
    return f"track_{track}.jpg"


def face_thumbnail(pixels, channels: str, box) -> bytes:
    """A JPEG of the face in `box` (x, y, w, h) of a frame (numpy RGB/BGR or a PIL image), with a little margin,
    THUMBNAIL_SIDE px square."""
    from PIL import Image

    x, y, w, h = (int(v) for v in box)
    pad = int(0.15 * max(w, h))
    if isinstance(pixels, np.ndarray):
        height, width = pixels.shape[:2]
        part = pixels[max(0, y - pad):min(height, y + h + pad), max(0, x - pad):min(width, x + w + pad)]
        if part.ndim == 3 and channels == "bgr":
            part = part[..., 2::-1]
        image = Image.fromarray(np.ascontiguousarray(part[..., :3] if part.ndim == 3 else part))
    else:
        image = pixels.crop((max(0, x - pad), max(0, y - pad), min(pixels.width, x + w + pad),
                             min(pixels.height, y + h + pad)))
    image = image.convert("RGB").resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


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
    columns = ["track", "first_s", "last_s", "frames_seen", *(f"share_{c}" for c in classes), "dominant", "thumbnail"]
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


def plot_timeline(faces_csv: Path, path: Path, classes, title: str, duration: float | None = None,
                  thumbnails: dict | None = None) -> Path | None:
    """One panel per track (smoothed probabilities over time; the tracks seen longest), all on one time axis from 0
    to the source's end, each beside the person's thumbnail (their best-seen face); then a share-of-time bar chart
    over all tracks. None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from PIL import Image

    tracks, times, smooth, labels = _read_faces(faces_csv, classes)
    ids, counts = np.unique(tracks, return_counts=True) if len(tracks) else (np.array([], int), np.array([], int))
    shown = [int(i) for i in ids[np.argsort(-counts, kind="stable")][:MAX_PANELS]]
    shown.sort(key=lambda t: times[tracks == t].min())  # in order of appearance
    panels = max(1, len(shown))
    end = max(duration or 0.0, float(times.max()) if len(times) else 0.0) or 1.0
    fig = plt.figure(figsize=(11, 1.9 * panels + 2.6))
    grid = fig.add_gridspec(panels + 1, 2, width_ratios=(1, 9), hspace=0.55, wspace=0.12)
    colors = plt.get_cmap("tab10")
    first_axis = None
    for row, track in enumerate(shown):
        axis = fig.add_subplot(grid[row, 1], sharex=first_axis)
        first_axis = first_axis or axis
        mine = tracks == track
        for c, name in enumerate(classes):
            axis.plot(times[mine], smooth[mine, c], color=colors(c % 10), label=name, lw=1.4)
        axis.set_ylim(-0.03, 1.05)
        axis.set_yticks([0, 0.5, 1])
        axis.set_xlim(0, end)
        axis.grid(alpha=0.3)
        if row < panels - 1:
            axis.tick_params(labelbottom=False)
        face = fig.add_subplot(grid[row, 0])
        face.set_axis_off()
        if thumbnails and track in thumbnails:
            face.imshow(np.asarray(Image.open(io.BytesIO(thumbnails[track])).convert("RGB")))
        span = times[mine]
        face.set_title(f"track {track}\n{span.min():.1f}-{span.max():.1f} s", fontsize=8)
    if not shown:
        axis = fig.add_subplot(grid[0, 1])
        axis.text(0.5, 0.5, "no face found", ha="center", va="center")
        axis.set_xlim(0, end)
        first_axis = axis
    first_axis.legend(ncol=len(classes), fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.02))
    fig.axes[-2 if shown else -1].set_xlabel("time in the source, s (smoothed probabilities; one axis for everyone)",
                                             fontsize=8)
    share = np.array([labels.count(c) for c in classes], dtype=float)
    share = share / share.sum() if share.sum() else share
    bars = fig.add_subplot(grid[panels, 1])
    bars.set_position(bars.get_position().translated(0, -0.03))  # room for the time axis's label above it
    bars.bar(range(len(classes)), share, color=[colors(c % 10) for c in range(len(classes))])
    bars.set_xticks(range(len(classes)), classes)
    bars.set_ylabel("share of time")
    bars.set_title("all tracks: share of analysed face-time per emotion (smoothed labels)", fontsize=9, pad=4)
    bars.xaxis.set_label_position("bottom")
    more = f" ({len(ids) - len(shown)} shorter tracks not shown)" if len(ids) > len(shown) else ""
    fig.suptitle(title + more, fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
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
            os.chmod(self.tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a video gets the usual permissions
            os.replace(self.tmp, self.path)
        else:
            Path(self.tmp).unlink(missing_ok=True)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.release()
        Path(self.tmp).unlink(missing_ok=True)
