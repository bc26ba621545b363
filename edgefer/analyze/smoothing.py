"""Each person's emotions over time without the frame-to-frame flicker, by what the source is.

A live camera can only look back: `EmotionSmoother` is an exponential moving average of one track's class
probabilities with a time constant tau in seconds (weight 1 - exp(-dt / tau) for a frame dt seconds after the last),
whose label is the average's top class, except that an emotion the raw model has held for tau seconds is the label
at once. It lags every change by up to tau.

A file is known in full, so its smoother may look both ways and need not lag at all. `two_sided` treats a track's
true emotion as a hidden state that stays from one frame to the next with probability exp(-dt / tau) (dt: seconds
between the two frames) and otherwise moves to any class alike, and the model's probabilities as the evidence of
each frame, counted in proportion to the time the frame covers (EVIDENCE_SECONDS), so that tau means the same at any
frame rate; the forward-backward algorithm then gives each frame's
posterior over the classes, which uses the frames after it as much as those before. A change of expression stays
where the model saw it (no lag), and a frame or two of flicker inside a held expression is outvoted by its
neighbours. `smooth_track` applies the mode a source asks for (SMOOTHING_MODES) to one track's frames.
"""

from __future__ import annotations

import math

import numpy as np

SMOOTHING_MODES = ("auto", "two-sided", "causal", "none")
EVIDENCE_FLOOR = 1e-4  # a class the model gives no probability at all can still be the state (one bad frame)
# Frames closer together than this are not independent evidence (a face barely changes in 1/30 s): each frame's
# evidence counts in proportion to the time it covers, up to this much, so that a second of video weighs the same
# at 10, 25 or 60 frames per second and tau alone says what is flicker.
EVIDENCE_SECONDS = 0.1


# Default time constants, s. Two-sided: on the labelled clip (edgefer.analyze.clipset), 1 s removed more flicker than
# 0.5 s at the same accuracy and change timing; causal: every second of tau is a second of lag on a camera.
DEFAULT_TAU = {"two-sided": 1.0, "causal": 0.5, "none": 0.0}


def default_tau(mode: str) -> float:
    return DEFAULT_TAU[mode]


def resolve_mode(mode: str, live: bool) -> str:
    """The smoothing `auto` means for a source: causal for a live camera, two-sided for anything known in full."""
    if mode not in SMOOTHING_MODES:
        raise ValueError(f"smoothing {mode!r}; expected one of {', '.join(SMOOTHING_MODES)}")
    return ("causal" if live else "two-sided") if mode == "auto" else mode


class EmotionSmoother:
    """One track's probabilities smoothed as they arrive (causal); see the module docstring. tau = 0: off."""

    def __init__(self, tau: float):
        if tau < 0:
            raise ValueError(f"smoothing time constant {tau}; expected seconds >= 0")
        self.tau = tau
        self.state: np.ndarray | None = None
        self.time = 0.0
        self.raw_label = -1
        self.raw_since = 0.0

    def update(self, time_s: float, probabilities) -> tuple[np.ndarray, int]:
        """(smoothed probabilities, smoothed label index) after this frame's raw probabilities at time_s."""
        raw = np.asarray(probabilities, dtype=np.float64)
        if self.state is None or self.tau == 0:
            self.state = raw.copy()
        else:
            weight = 1.0 - math.exp(-max(0.0, time_s - self.time) / self.tau)
            self.state = self.state + weight * (raw - self.state)
        self.time = time_s
        label = int(np.argmax(raw))
        if label != self.raw_label:
            self.raw_label, self.raw_since = label, time_s
        held = time_s - self.raw_since >= self.tau - 1e-9
        return self.state.copy(), label if held else int(np.argmax(self.state))


def two_sided(times, probabilities, tau: float) -> np.ndarray:
    """Posterior class probabilities (N, K) of one track's frames (times ascending, seconds; probabilities (N, K)),
    by forward-backward over the hidden emotion (see the module docstring); tau = 0 gives the probabilities back."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if tau < 0:
        raise ValueError(f"smoothing time constant {tau}; expected seconds >= 0")
    n, k = probs.shape
    if tau == 0 or n < 2:
        return probs.copy()
    gaps = np.diff(np.asarray(times, dtype=np.float64))
    covered = np.concatenate([[np.median(gaps)], gaps])  # the time each frame stands for (the first: a typical gap)
    weight = np.clip(covered / EVIDENCE_SECONDS, 0.0, 1.0)[:, None]
    evidence = np.maximum(probs / probs.sum(axis=1, keepdims=True), EVIDENCE_FLOOR) ** weight
    stay = np.exp(-np.maximum(gaps, 0.0) / tau)  # P(same emotion at the next frame)
    forward = np.empty((n, k))
    forward[0] = evidence[0] / evidence[0].sum()
    for i in range(1, n):
        # stay with p, else move to any class alike (the 1/k share includes staying)
        predicted = stay[i - 1] * forward[i - 1] + (1.0 - stay[i - 1]) / k
        belief = predicted * evidence[i]
        forward[i] = belief / belief.sum()
    posterior = np.empty((n, k))
    posterior[-1] = forward[-1]
    backward = np.ones(k)
    for i in range(n - 2, -1, -1):
        message = backward * evidence[i + 1]
        backward = stay[i] * message + (1.0 - stay[i]) * message.sum() / k
        backward /= backward.sum()
        belief = forward[i] * backward
        posterior[i] = belief / belief.sum()
    return posterior


def smooth_track(mode: str, times, probabilities, tau: float) -> np.ndarray:
    """One track's smoothed probabilities (N, K) by `mode` (two-sided, causal or none; `resolve_mode` first); the
    label of each frame is their argmax, except in causal mode (EmotionSmoother's held-emotion rule: `causal_labels`)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if mode == "none" or tau == 0:
        return probs.copy()
    if mode == "two-sided":
        return two_sided(times, probs, tau)
    if mode == "causal":
        smoother = EmotionSmoother(tau)
        return np.array([smoother.update(t, p)[0] for t, p in zip(times, probs)]).reshape(probs.shape)
    raise ValueError(f"smoothing {mode!r}; expected two-sided, causal or none")


def causal_labels(times, probabilities, tau: float) -> np.ndarray:
    """The labels EmotionSmoother gives one track's frames as they arrive."""
    smoother = EmotionSmoother(tau)
    return np.array([smoother.update(t, p)[1] for t, p in zip(times, probabilities)], dtype=np.int64)
