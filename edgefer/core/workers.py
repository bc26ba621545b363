"""Many independent jobs (videos of an archive, chunks of a photo folder) on one process, every core, or a Ray cluster.

`run_jobs(function, jobs, ...)` calls `function(job, progress)` for every job and hands each result to `on_result`
in the driver as it completes, whatever ran it:

- engine "local", 1 worker: in this process, one job after the other;
- engine "local", N workers: a pool of N processes (spawned: no interpreter state is shared), each job in one of
  them; a worker process that dies (out of memory, a native crash) fails its job, not the batch;
- engine "ray": Ray tasks, on a local Ray started for the run (`address=None`, as many CPUs as `workers`) or on an
  existing cluster (`address`, e.g. "ray://head:10001" or "auto"). Only the jobs and the results travel: the
  driver writes every output, so no shared file system is needed for outputs (the inputs must be readable where the
  task runs).

Jobs must be plain data (paths, options) and `function` a module-level function importable on the workers.
`progress(frames)` lets a job report how far it got (on the local engines: a live frame count in the driver).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable

from edgefer.core.extras import install_hint
from edgefer.errors import ConfigError, first_line

ENGINES = ("local", "ray")


@dataclass
class JobFailure:
    """What a job returns, or the runner makes, when the job could not finish: its error in one line."""

    error: str


def default_workers() -> int:
    """The machine's cores (those this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int) -> int:
    """Interpreter threads for each of `workers` parallel jobs, so that together they do not oversubscribe the CPU."""
    return max(1, default_workers() // max(1, workers))


def ray_module():
    """ray, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--engine ray needs Ray: {install_hint('scale')}") from None
    return ray


def run_jobs(function: Callable, jobs: list, on_result: Callable, engine: str = "local", workers: int = 1,
             address: str | None = None, on_progress: Callable | None = None) -> None:
    """Run `function(job, progress)` for each job; `on_result(index, result)` in this process as each completes (a
    JobFailure where the job raised or its worker died); `on_progress(index, frames)` as jobs report."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if workers < 1:
        raise ConfigError(f"--workers {workers}; expected 1 or more")
    if not jobs:
        return
    if engine == "ray":
        _run_ray(function, jobs, on_result, workers, address)
    elif workers == 1 or len(jobs) == 1:
        for index, job in enumerate(jobs):
            report = (lambda frames, i=index: on_progress(i, frames)) if on_progress else _ignore
            on_result(index, _guarded(function, job, report))
    else:
        _run_pool(function, jobs, on_result, workers, on_progress)


def _ignore(frames: int) -> None:
    pass


def _guarded(function: Callable, job, progress: Callable):
    try:
        return function(job, progress)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - a job's failure is its result; the batch goes on
        return JobFailure(first_line(error, 400))


class _QueueProgress:
    """A job's progress callback in a pool worker: (index, frames) into a queue the driver drains, at most every
    0.2 s (picklable: the queue is a manager's proxy)."""

    def __init__(self, messages, index: int):
        self.messages, self.index, self.last = messages, index, 0.0

    def __call__(self, frames: int) -> None:
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            self.messages.put((self.index, frames))


def _pool_job(function: Callable, job, progress):
    return _guarded(function, job, progress)


def _run_pool(function: Callable, jobs: list, on_result: Callable, workers: int, on_progress: Callable | None) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        messages = manager.Queue()
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set():
                try:
                    index, frames = messages.get(timeout=0.2)
                except (queue.Empty, EOFError, OSError):
                    continue
                if on_progress is not None:
                    on_progress(index, frames)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
                pending = {pool.submit(_pool_job, function, job, _QueueProgress(messages, i)): i
                           for i, job in enumerate(jobs)}
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        index = pending.pop(future)
                        try:
                            result = future.result()
                        except Exception as error:  # noqa: BLE001 - the worker process died with this job
                            result = JobFailure(f"its worker process ended ({first_line(error, 300)})")
                        on_result(index, result)
        finally:
            stop.set()
            reader.join(timeout=2)


def _ray_job(function: Callable, job):
    return _guarded(function, job, _ignore)


def _run_ray(function: Callable, jobs: list, on_result: Callable, workers: int, address: str | None) -> None:
    ray = ray_module()
    started_here = not ray.is_initialized()
    if started_here:
        options = {"address": address} if address else {"num_cpus": workers}
        ray.init(**options, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_job)
        pending = {remote.remote(function, job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as error:  # noqa: BLE001 - the task's worker died or Ray lost it
                    result = JobFailure(f"its Ray task failed ({first_line(error, 300)})")
                on_result(index, result)
    finally:
        if started_here:
            ray.shutdown()
