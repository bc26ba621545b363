"""Benchmarking artifacts (edgefer's and external ones) for accuracy and latency, one subprocess each."""
