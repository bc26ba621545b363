"""A labelled clip for the smoothing yardstick: real faces whose expression changes at known frames.

What a smoother must do on a recording is measurable only where the truth of every frame is known. `LabelledClip`
makes such a clip from real faces the package ships: two people moving across a plain background, each holding
an expression for 0.5-3 s at a time (drawn at random, seeded), then changing:

- person 1: the London Set portraits in edgefer/assets/photos (three adults, neutral and smiling; colour photos);
- person 2: FER2013 PublicTest faces of the embedded sample (or of `--data`), any of the seven classes; while an
  expression is held, the face showing it is another face of that class every 0.5-1 s, as a face's features move
  while it holds an expression (so the model's errors are not one face's, held for the whole expression).

Every frame adds what a camera adds: a little zoom and shift, brightness, noise, so that the model's raw answers
flicker as they do on real video. `truth(i)` gives each person's box and label in frame i, and
`changes()` the frames where a person's expression changes. `score(faces.csv, clip)` compares an analysis with the
truth: raw and smoothed accuracy, label changes per minute, and how many true changes the smoothed label shows within
a tolerance (edgefer.analyze.smoothing; benchmarks/analyze_archive.py prints the figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from edgefer.analyze.sources import Frame, FrameSource
from edgefer.bench.frames import matched
from edgefer.data.classes import FER2013_CLASSES
from edgefer.data.loading import load_dataset

PHOTOS = Path(__file__).resolve().parents[1] / "assets" / "photos"
SIZE = (960, 540)


@dataclass
class Segment:
    start: int  # first frame
    end: int  # one past the last frame
    label: str
    faces: list[np.ndarray]  # RGB or gray uint8, as pasted (before the camera's per-frame changes), in turn
    every: int  # frames each face is shown

    def face(self, index: int) -> np.ndarray:
        return self.faces[((index - self.start) // self.every) % len(self.faces)]


class LabelledClip(FrameSource):
    """See the module docstring. `seconds` long at `fps`, seeded by `seed`; `data`: FER2013 for person 2's faces."""

    kind = "labelled clip"

    def __init__(self, seconds: float = 60.0, fps: float = 25.0, seed: int = 0, data: str | None = None,
                 hold: tuple[float, float] = (0.5, 3.0)):
        super().__init__("labelled clip", fps, int(round(seconds * fps)))
        self.width, self.height = SIZE
        self.seed, self.rng = seed, np.random.default_rng(seed)
        self.people = [self._segments(self._london_faces(), hold, change=False),
                       self._segments(self._fer_faces(data), hold, change=True)]
        self.sides = (200, 170)

    @staticmethod
    def _london_faces() -> dict[str, list[np.ndarray]]:
        from PIL import Image

        faces: dict[str, list[np.ndarray]] = {"Happy": [], "Neutral": []}
        for path in sorted(PHOTOS.glob("*.jpg")):
            with Image.open(path) as photo:
                side = photo.width
                crop = photo.convert("RGB").crop((int(0.22 * side), int(0.2 * side), int(0.78 * side), int(0.76 * side)))
            faces["Happy" if "happy" in path.name else "Neutral"].append(np.asarray(crop))
        return faces

    @staticmethod
    def _fer_faces(data: str | None) -> dict[str, list[np.ndarray]]:
        test = load_dataset(data).split("PublicTest")
        return {name: list(test.images[test.labels == i]) for i, name in enumerate(FER2013_CLASSES)
                if (test.labels == i).any()}

    def _segments(self, faces: dict[str, list[np.ndarray]], hold: tuple[float, float], change: bool) -> list[Segment]:
        segments, frame, label = [], 0, None
        while frame < self.expected:
            label = self.rng.choice([c for c in faces if c != label])
            length = max(1, int(round(self.rng.uniform(*hold) * self.fps)))
            pool = faces[label]
            every = max(1, int(round(self.rng.uniform(0.5, 1.0) * self.fps))) if change else length
            shown = [pool[int(i)] for i in self.rng.integers(len(pool), size=-(-length // every))]
            segments.append(Segment(frame, min(frame + length, self.expected), str(label), shown, every))
            frame += length
        return segments

    def _segment(self, person: int, index: int) -> Segment:
        return next(s for s in self.people[person] if s.start <= index < s.end)

    def _box(self, person: int, index: int) -> tuple[int, int, int, int]:
        """Each person drifts slowly along a figure of eight in their half of the frame."""
        t = index / self.fps
        side = self.sides[person]
        cx = (0.27 if person == 0 else 0.73) * self.width + 0.12 * self.width * np.sin(2 * np.pi * t / 9 + person)
        cy = 0.5 * self.height + 0.18 * self.height * np.sin(4 * np.pi * t / 9 + person)
        return int(cx - side / 2), int(cy - side / 2), side, side

    def truth(self, index: int) -> list[tuple[tuple[int, int, int, int], str]]:
        """(box x, y, w, h, true label) of each person in frame `index`."""
        return [(self._box(p, index), self._segment(p, index).label) for p in range(len(self.people))]

    def changes(self) -> list[tuple[int, int]]:
        """(person, frame) of every change of expression."""
        return [(p, s.start) for p, segments in enumerate(self.people) for s in segments[1:]]

    def frames(self) -> Iterator[Frame]:
        from PIL import Image

        jitter = np.random.default_rng(self.seed + 1)
        background = Image.new("RGB", SIZE, (112, 120, 116))
        for index in range(self.expected):
            frame = background.copy()
            for person in range(len(self.people)):
                x, y, side, _ = self._box(person, index)
                zoom = 1.0 + jitter.uniform(-0.05, 0.05)
                face = self._segment(person, index).face(index).astype(np.float32) * jitter.uniform(0.9, 1.1)
                face = face + jitter.normal(0.0, 6.0, face.shape)
                tile = Image.fromarray(np.clip(face, 0, 255).astype(np.uint8)).convert("RGB")
                size = int(side * zoom)
                tile = tile.resize((size, size), Image.Resampling.BILINEAR)
                frame.paste(tile, (x + int(jitter.integers(-5, 6)), y + int(jitter.integers(-5, 6))))
            yield Frame(index, index / self.fps, np.asarray(frame), "rgb")


def score(faces, clip: LabelledClip, tolerance_s: float = 0.3) -> dict:
    """How an analysis (faces.csv as a pandas DataFrame) matches the clip's truth: per label column (raw `label`,
    smoothed `smooth_label`), accuracy over the people's frames, label changes per minute (and those no true change
    explains: flicker), the share of true changes the label follows to the new truth within `tolerance_s`, and, for
    the changes whose new expression the label shows at all, its delay (median, and the share within tolerance_s)."""
    people: dict[int, int] = {}  # track -> person, by the boxes of the first frames each track is seen in
    for frame, rows in faces.groupby("frame"):
        truth = clip.truth(int(frame))
        for _, row in rows.iterrows():
            box = [int(row[c]) for c in ("x", "y", "w", "h")]
            for person, (true_box, _) in enumerate(truth):
                if int(row["track"]) not in people and matched([box], [list(true_box)]):
                    people[int(row["track"])] = person
    faces = faces[faces["track"].isin(list(people))].copy()
    faces["person"] = faces["track"].map(people)
    faces["truth"] = [clip.truth(int(f))[p][1] for f, p in zip(faces["frame"], faces["person"])]
    minutes = clip.expected / clip.fps / 60
    out = {"frames": clip.expected, "fps": clip.fps, "people": len(clip.people), "tracks": len(people),
           "true_changes": len(clip.changes()), "true_changes_per_min": round(len(clip.changes()) / minutes, 1)}
    window = int(round(tolerance_s * clip.fps))
    for column, name in (("label", "raw"), ("smooth_label", "smoothed")):
        series = {p: dict(zip(g["frame"].astype(int), g[column])) for p, g in faces.groupby("person")}
        flips = sum(sum(a != b for a, b in zip(list(s.values()), list(s.values())[1:])) for s in series.values())
        found = 0
        for person, frame in clip.changes():
            labels = series.get(person, {})
            new = clip.truth(frame)[person][1]
            before = labels.get(frame - window - 1)
            after = [labels.get(f) for f in range(frame - window, frame + window + 1)]
            found += before != new and any(a == new for a in after)
        delays = _delays(series, clip)
        out[name] = {"accuracy": round(float((faces[column] == faces["truth"]).mean()), 4),
                     "changes_per_min": round(flips / minutes, 1),
                     "spurious_changes_per_min": round(_spurious(series, clip, window) / minutes, 1),
                     "changes_found": round(found / max(1, len(clip.changes())), 4),
                     "median_delay_s": round(float(np.median(delays)), 3) if delays else None,
                     "shown_within_tolerance": round(float(np.mean(np.abs(delays) <= tolerance_s + 1e-9)), 4)
                     if delays else None}
    return out


def _delays(series: dict, clip: LabelledClip) -> list[float]:
    """Per true change whose new expression the label shows at all while it is held: seconds from the change to the
    first frame the label shows it (the lag of a smoother; 0 when the change shows where it happened)."""
    delays = []
    for person, frame in clip.changes():
        labels = series.get(person, {})
        segment = next(s for s in clip.people[person] if s.start == frame)
        shown = [f for f in range(segment.start, segment.end) if labels.get(f) == segment.label]
        if shown:
            delays.append((shown[0] - frame) / clip.fps)
    return delays


def _spurious(series: dict, clip: LabelledClip, window: int) -> int:
    """Label changes of the people's tracks that no true change explains (none within `window` frames): flicker."""
    true = {(p, f) for p, f in clip.changes()}
    count = 0
    for person, labels in series.items():
        frames = list(labels)
        for a, b in zip(frames, frames[1:]):
            if labels[a] != labels[b] and not any((person, f) in true for f in range(b - window, b + window + 1)):
                count += 1
    return count
