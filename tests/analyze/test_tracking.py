"""Tracks keep their ids (through misses, frame skipping and crossings) and smoothing holds labels without delaying
a held emotion by more than its time constant."""

import numpy as np
import pytest

from edgefer.analyze.smoothing import EmotionSmoother
from edgefer.analyze.tracking import Tracker, iou


def _walk(start, velocity, frames, size=80, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return [(start[0] + velocity[0] * i + rng.normal(0, jitter), start[1] + velocity[1] * i + rng.normal(0, jitter),
             size, size) for i in range(frames)]


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 0, 10, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)


@pytest.mark.parametrize("every", [1, 3])
def test_two_people_keep_their_ids_through_misses_and_skipped_frames(every):
    a = _walk((50, 100), (4, 1), 90, jitter=2.0, seed=1)
    b = _walk((500, 120), (-3, 0.5), 90, jitter=2.0, seed=2)
    tracker = Tracker(max_missed=3)
    seen = {"a": set(), "b": set()}
    for frame in range(0, 90, every):
        boxes, who = [], []
        if not 30 <= frame < 33:  # a looks away for a few frames
            boxes.append(a[frame])
            who.append("a")
        boxes.append(b[frame])
        who.append("b")
        for person, track in zip(who, tracker.update(frame, boxes)):
            seen[person].add(track)
    assert len(seen["a"]) == 1 and len(seen["b"]) == 1 and seen["a"] != seen["b"]


def test_faces_that_cross_keep_their_ids_because_they_move_apart():
    """Same size, same height, passing through each other: their motion tells them apart at the crossing."""
    a = _walk((0, 200), (10, 0), 60)
    b = _walk((590, 200), (-10, 0), 60)
    tracker = Tracker()
    ids = [tracker.update(i, [a[i], b[i]]) for i in range(60)]
    assert all(pair == ids[0] for pair in ids) and ids[0][0] != ids[0][1]
    # Listed in the other order at every frame: the same people, the same ids.
    tracker = Tracker()
    flipped = [tracker.update(i, [b[i], a[i]] if i % 2 else [a[i], b[i]]) for i in range(60)]
    assert all((pair if i % 2 == 0 else pair[::-1]) == flipped[0] for i, pair in enumerate(flipped))


def test_faces_that_cannot_be_told_apart_may_swap():
    """Two people standing still on the same spot: nothing tells them apart, and the tracker says so by not
    pretending (two ids, assigned to boxes that are the same)."""
    tracker = Tracker()
    ids = [tracker.update(i, [(100, 100, 80, 80), (100, 100, 80, 80)]) for i in range(5)]
    assert all(sorted(pair) == sorted(ids[0]) for pair in ids) and len(set(ids[0])) == 2


def test_a_fast_face_is_followed_by_the_distance_fallback_and_a_returning_one_gets_a_new_id():
    tracker = Tracker(max_missed=2)
    first = tracker.update(0, [(0, 0, 50, 50)])[0]
    assert tracker.update(1, [(40, 0, 50, 50)])[0] == first  # no overlap to speak of (IoU 0.11): centres are close
    for frame in range(2, 6):
        tracker.update(frame, [])
    assert tracker.update(6, [(40, 0, 50, 50)])[0] != first


def _label_after_switch(before, held, tau, fps=30.0, seconds=3.0):
    smoother, t, labels = EmotionSmoother(tau), 0.0, []
    for i in range(int(seconds * fps)):
        t = i / fps
        labels.append((t, smoother.update(t, before if t < 1.0 else held)[1]))
    return labels


@pytest.mark.parametrize("tau", [0.2, 0.5, 1.0])
def test_smoothing_never_delays_a_held_emotion_by_more_than_its_time_constant(tau):
    rng = np.random.default_rng(0)
    for _ in range(200):
        before, held = rng.dirichlet(np.full(7, 0.5)), rng.dirichlet(np.full(7, 0.5))
        target = int(np.argmax(held))
        labels = _label_after_switch(before, held, tau)
        assert all(label == target for t, label in labels if t >= 1.0 + tau + 1e-9)


def test_smoothing_holds_a_label_through_flicker_and_zero_turns_it_off():
    happy, neutral = np.array([0.0, 0, 0, 0.6, 0, 0, 0.4]), np.array([0.0, 0, 0, 0.45, 0, 0, 0.55])
    smoother = EmotionSmoother(0.5)
    labels = [smoother.update(i / 30, happy if i % 3 else neutral)[1] for i in range(90)]
    assert set(labels[15:]) == {3}  # raw flips to Neutral every third frame; after tau the smoothed label stays Happy
    off = EmotionSmoother(0.0)
    assert [off.update(i / 30, happy if i % 3 else neutral)[1] for i in range(9)] == [6, 3, 3] * 3
    probabilities, _ = off.update(1.0, happy)
    assert np.array_equal(probabilities, happy)
    with pytest.raises(ValueError):
        EmotionSmoother(-1)
