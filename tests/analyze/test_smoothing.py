"""Smoothing by what the source is: the two-sided smoother keeps changes where they happen (no lag) and removes
flicker, with a time constant that means the same at any frame rate; on a labelled clip of real faces it beats the
raw labels, where the causal moving average (what a camera needs) lags and loses accuracy."""

import io

import numpy as np
import pytest

from edgefer.analyze.smoothing import causal_labels, resolve_mode, smooth_track, two_sided

K = 7


def _stream(labels, fps, rng, confidence=0.7, flicker=0.0):
    """Probabilities of a model that gives `labels` (one per frame) with `confidence`, and with probability
    `flicker` a random other label instead."""
    probs = np.full((len(labels), K), (1 - confidence) / (K - 1))
    for i, label in enumerate(labels):
        shown = label if rng.random() >= flicker else int(rng.choice([c for c in range(K) if c != label]))
        probs[i, shown] = confidence
    return np.arange(len(labels)) / fps, probs


@pytest.mark.parametrize("fps", [10, 30])
def test_a_held_change_shows_where_it_happened_and_flicker_goes(fps):
    rng = np.random.default_rng(0)
    truth = [6] * (3 * fps) + [3] * (3 * fps)  # Neutral for 3 s, then Happy
    times, probs = _stream(truth, fps, rng, flicker=0.2)
    raw = probs.argmax(1)
    smooth = two_sided(times, probs, 0.5).argmax(1)
    causal = causal_labels(times, probs, 0.5)
    assert (smooth == truth).mean() >= (raw == truth).mean() and (smooth == truth).mean() > 0.95
    assert np.count_nonzero(np.diff(smooth)) <= 3 < np.count_nonzero(np.diff(raw)) / 5
    first = np.flatnonzero(smooth == 3)[0] / fps
    assert abs(first - 3.0) <= 0.2  # no lag
    assert np.flatnonzero(causal[3 * fps:] == 3)[0] / fps > 0.1  # the causal average lags a little
    posterior = two_sided(times, probs, 0.5)
    assert np.allclose(posterior.sum(1), 1) and (posterior >= 0).all()


def test_the_time_constant_means_seconds_whatever_the_frame_rate():
    rng = np.random.default_rng(1)
    blips = {}
    for fps in (10, 40):
        truth = [6] * (4 * fps)
        truth[2 * fps: 2 * fps + fps // 10 + 1] = [3] * (fps // 10 + 1)  # a 0.1 s blip of another expression
        times, probs = _stream(truth, fps, rng, confidence=0.8)
        blips[fps] = int((two_sided(times, probs, 0.5).argmax(1) == 3).sum())
    assert blips == {10: 0, 40: 0}  # 0.1 s is flicker at tau 0.5 s at both rates
    fps = 25
    truth = [6] * (2 * fps) + [3] * (2 * fps) + [6] * (2 * fps)  # a 2 s expression is kept
    times, probs = _stream(truth, fps, rng)
    assert (two_sided(times, probs, 0.5).argmax(1) == truth).mean() > 0.97


def test_modes_and_zero_tau():
    times, probs = _stream([1, 2, 3], 10, np.random.default_rng(2))
    assert np.allclose(smooth_track("none", times, probs, 0.5), probs)
    assert np.allclose(smooth_track("two-sided", times, probs, 0.0), probs)
    assert resolve_mode("auto", live=True) == "causal" and resolve_mode("auto", live=False) == "two-sided"
    with pytest.raises(ValueError):
        resolve_mode("sideways", live=False)


@pytest.mark.slow
def test_on_a_labelled_clip_of_real_faces_two_sided_beats_raw_and_causal():
    """The clip of edgefer.analyze.clipset (London Set portraits and FER2013 sample faces, expressions held 0.5-3 s,
    25 frames/s), analysed once; each smoothing applied to the same raw rows."""
    pd = pytest.importorskip("pandas")
    from edgefer.analyze.clipset import LabelledClip, score
    from edgefer.analyze.run import AnalyzeConfig, _smoothed_table, analyze_tables
    from edgefer.analyze.smoothing import default_tau
    from edgefer.predictor import EmotionPredictor

    clip = LabelledClip(seconds=60, seed=0)
    tables = analyze_tables(AnalyzeConfig("clip", smoothing="none"), source=clip, predictor=EmotionPredictor())
    raw_rows = pd.read_csv(io.StringIO(tables.faces_csv))
    rows = [[str(v) for v in r[:10 + K]] for r in raw_rows.itertuples(index=False)]
    scores = {}
    for mode in ("two-sided", "causal"):  # each at its default time constant
        text, _, _ = _smoothed_table(rows, tables.classes, mode, default_tau(mode))
        scores[mode] = score(pd.read_csv(io.StringIO(text)), clip)
    two, causal = scores["two-sided"]["smoothed"], scores["causal"]["smoothed"]
    raw = scores["two-sided"]["raw"]
    assert two["accuracy"] >= raw["accuracy"] > causal["accuracy"] + 0.05
    assert two["spurious_changes_per_min"] * 3 <= raw["spurious_changes_per_min"]  # flicker: no true change near
    assert two["changes_per_min"] * 2 <= raw["changes_per_min"]  # the clip itself changes about 64 times a minute
    assert two["median_delay_s"] == 0.0 < causal["median_delay_s"]
    assert two["shown_within_tolerance"] >= raw["shown_within_tolerance"] - 0.05
    assert two["shown_within_tolerance"] > causal["shown_within_tolerance"] + 0.2
