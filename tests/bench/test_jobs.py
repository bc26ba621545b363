"""The bench's worker protocol: a result comes back, a failure is a one-line error, a dead worker is reported."""

from __future__ import annotations

import textwrap

import pytest

from edgefer.bench.jobs import run_in_worker

WORKER = textwrap.dedent("""
    import sys

    from edgefer.bench.jobs import worker_main


    def run(job):
        if job["mode"] == "die":
            print("out of memory, say", file=sys.stderr)
            sys.exit(3)
        if job["mode"] == "raise":
            raise ValueError("bad artifact\\nsecond line of detail")
        return {"double": job["x"] * 2}


    if __name__ == "__main__":
        worker_main(run)
""")


@pytest.fixture
def worker(tmp_path, monkeypatch):
    (tmp_path / "toy_bench_worker.py").write_text(WORKER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    workdir = tmp_path / "work"
    workdir.mkdir()
    return workdir


def test_the_workers_result_comes_back(worker):
    assert run_in_worker("toy_bench_worker", {"mode": "ok", "x": 21, "timeout_s": 60}, worker) == {"double": 42}


def test_an_exception_becomes_a_one_line_error_row(worker):
    result = run_in_worker("toy_bench_worker", {"mode": "raise", "timeout_s": 60}, worker, stem="a_")
    assert result == {"error": "ValueError: bad artifact"}
    assert (worker / "a_job.json").exists() and (worker / "a_result.json").exists()


def test_a_dead_worker_is_reported_with_its_status_and_last_words(worker):
    (worker / "result.json").write_text('{"double": 0}')  # a stale result from an earlier job must not be read
    result = run_in_worker("toy_bench_worker", {"mode": "die", "timeout_s": 60}, worker)
    assert result["error"].startswith("worker exited 3") and "out of memory, say" in result["error"]
