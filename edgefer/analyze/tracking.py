"""Who is who across frames, and what they feel without the frame-to-frame flicker.

`Tracker` links each frame's face boxes to the people seen before: by IoU with where each track is expected now
(its last box moved by its recent velocity, so faces that pass each other keep their ids), and, for a face that moved
too far for any overlap, by centre distance relative to its size (the motion-tolerant fallback). A track survives
`max_missed` analysed frames without a face (a blink of the detector, a head turned); after that it ends, and a
person who comes back later gets a new id: identities are not recognised, only followed.

Smoothing each person's emotions over time is `edgefer.analyze.smoothing`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def iou(a, b) -> float:
    """Intersection over union of two boxes (x, y, w, h)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: tuple[float, float, float, float]
    last_frame: int
    velocity: tuple[float, float] = (0.0, 0.0)  # centre motion per frame, smoothed
    missed: int = 0

    def expected(self, frame: int) -> tuple[float, float, float, float]:
        """Where the face should be at `frame`, moving as it did."""
        steps = frame - self.last_frame
        x, y, w, h = self.box
        return x + self.velocity[0] * steps, y + self.velocity[1] * steps, w, h


@dataclass
class Tracker:
    """Greedy matching of detections to tracks, best pairs first; see the module docstring."""

    min_iou: float = 0.2
    max_distance: float = 1.0  # fallback: centre distance under this many face widths
    max_missed: int = 5  # analysed frames a track survives without its face
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 1

    def update(self, frame: int, boxes: list) -> list[int]:
        """The track id of each box of this frame (new ids for new faces); tracks with no box age by one miss."""
        pairs = []
        for t, track in enumerate(self.tracks):
            expected = track.expected(frame)
            ex, ey, ew, eh = expected
            for d, box in enumerate(boxes):
                overlap = iou(expected, box)
                if overlap >= self.min_iou:
                    pairs.append((1.0 + overlap, t, d))  # any overlap ranks above any distance match
                    continue
                x, y, w, h = box
                distance = math.hypot(x + w / 2 - ex - ew / 2, y + h / 2 - ey - eh / 2) / max(ew, w, 1.0)
                if distance < self.max_distance:
                    pairs.append((1.0 - distance / self.max_distance, t, d))
        ids: list[int | None] = [None] * len(boxes)
        used = set()
        for _, t, d in sorted(pairs, reverse=True):
            if t in used or ids[d] is not None:
                continue
            used.add(t)
            ids[d] = self._move(self.tracks[t], frame, boxes[d])
        for t, track in enumerate(self.tracks):
            if t not in used:
                track.missed += 1
        self.tracks = [track for track in self.tracks if track.missed <= self.max_missed]
        for d, box in enumerate(boxes):
            if ids[d] is None:
                self.tracks.append(Track(self.next_id, tuple(float(v) for v in box), frame))
                ids[d] = self.next_id
                self.next_id += 1
        return [int(i) for i in ids]

    @staticmethod
    def _move(track: Track, frame: int, box) -> int:
        steps = max(1, frame - track.last_frame)
        x, y, w, h = (float(v) for v in box)
        ox, oy, ow, oh = track.box
        motion = ((x + w / 2 - ox - ow / 2) / steps, (y + h / 2 - oy - oh / 2) / steps)
        if track.velocity != (0.0, 0.0):  # average with the motion seen before: one noisy box moves it less
            motion = (0.5 * motion[0] + 0.5 * track.velocity[0], 0.5 * motion[1] + 0.5 * track.velocity[1])
        track.velocity, track.box, track.last_frame, track.missed = motion, (x, y, w, h), frame, 0
        return track.id
