"""Video analysis: faces followed across frames, each person's emotions smoothed over time, as tables and a picture.

    from edgefer.analyze import AnalyzeConfig, analyze
    result = analyze(AnalyzeConfig("clip.mp4", out="out", every=2))   # out/faces.csv, tracks.csv, ...

`Tracker` and `EmotionSmoother` work on their own too (boxes and probabilities in, ids and smoothed labels out).
"""

from edgefer.analyze.run import AnalyzeConfig, AnalyzeResult, analyze
from edgefer.analyze.smoothing import EmotionSmoother, two_sided
from edgefer.analyze.sources import SampleClip, open_source
from edgefer.analyze.tracking import Tracker

__all__ = ["AnalyzeConfig", "AnalyzeResult", "analyze", "EmotionSmoother", "two_sided", "Tracker", "SampleClip", "open_source"]
