"""One artifact, measured in a process of its own: accuracy pass, batch-1 latency, throughput, memory.

Latency comes back as raw samples: `edgefer.bench.run` times it in rounds (a worker per artifact per round,
the later ones latency-only) and computes the statistics over all of them.

A process per artifact keeps runtimes apart (importing TensorFlow breaks tflite-runtime's
interpreter in the same process) and makes the peak RSS that of this runtime alone.
Invoked by `edgefer.bench.run` as `python -m edgefer.bench.worker JOB.json RESULT.json`.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np

from edgefer.bench.jobs import worker_main
from edgefer.core.backends import open_runner, runtime_version, with_tta_runner
from edgefer.core.compute import count_macs
from edgefer.errors import EdgeferError


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency_stats(samples_ns: list[int]) -> dict:
    ms = np.array(samples_ns, dtype=np.float64) / 1e6
    return {"p50_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()), "min_ms": float(ms.min()),
            "runs": len(ms)}


def time_single(runner, face: np.ndarray, runs: int, warmup: int) -> list[int]:
    for _ in range(warmup):
        runner.predict(face, batch_size=1)
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        runner.predict(face, batch_size=1)
        samples.append(time.perf_counter_ns() - start)
    return samples


def throughput(runner, inputs: np.ndarray, batch_sizes) -> dict:
    best = {"batch": 1, "faces_per_s": 0.0}
    for batch in batch_sizes:
        chunk = inputs[: max(batch * 4, 64)]
        runner.predict(chunk[:batch], batch_size=batch)  # warm-up and resize
        start = time.perf_counter()
        runner.predict(chunk, batch_size=batch)
        rate = len(chunk) / (time.perf_counter() - start)
        if rate > best["faces_per_s"]:
            best = {"batch": batch, "faces_per_s": rate}
    return best


def time_threads(job: dict, inputs: np.ndarray) -> dict[str, list[int]]:
    """Batch-1 latency samples (ns) per thread count, each count on its own interpreter/session."""

    samples = {}
    for n in job["threads"]:
        timed = with_tta_runner(open_runner(Path(job["artifact"]), n), job.get("tta", "none"))
        samples[str(n)] = time_single(timed, inputs[:1], job["runs"], job["warmup"])
    return samples


def macs_per_face(job: dict) -> int | None:
    """The network's multiply-accumulates per face, twice that with flip averaging; None where they cannot be
    counted (the row is still measured)."""
    try:
        return count_macs(Path(job["artifact"])) * (2 if job.get("tta", "none") == "flip" else 1)
    except (EdgeferError, ImportError):
        return None


def run_job(job: dict) -> dict:
    """The whole measurement, or with job["latency_only"] only the latency samples of one more round."""

    baseline = _rss_mb()
    inputs = np.load(job["inputs"], allow_pickle=False)
    if job.get("latency_only"):
        return {"latency_samples": time_threads(job, inputs)}
    threads = job["threads"]
    start = time.perf_counter()
    runner = with_tta_runner(open_runner(Path(job["artifact"]), max(threads)), job.get("tta", "none"))
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probs = runner.predict(inputs, batch_size=job["batch_size"])
    accuracy_seconds = time.perf_counter() - start
    samples = time_threads(job, inputs)
    best = throughput(runner, inputs, job["throughput_batches"])
    runtime = runner.runtime
    return {
        "runtime": runtime,
        "runtime_version": runtime_version("keras" if runtime.startswith("keras") else runtime),
        "load_seconds": load_seconds,
        "accuracy_pass_seconds": accuracy_seconds,
        "predictions": probs.argmax(axis=1).tolist(),
        "outputs": int(probs.shape[1]),
        "latency_samples": samples,
        "throughput": best,
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
        "macs": macs_per_face(job),  # after the RSS: a .keras file is loaded once more to count
    }


if __name__ == "__main__":
    worker_main(run_job)
