"""The one protocol between a bench and the fresh Python processes it measures in.

Each artifact (or frame pipeline) is timed in a process of its own, so that its imports, thread pools and peak
memory are its own. The parent writes the job as JSON, the worker writes its result as JSON; a worker that fails
answers ``{"error": ...}`` (a failed row, not a failed bench), and one that dies is reported by its exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edgefer.errors import first_line


def run_in_worker(module: str, job: dict, workdir: Path, stem: str = "") -> dict:
    """Run ``python -m module JOB RESULT`` on ``job`` (its ``timeout_s`` bounds it) and return the worker's result."""
    job_file, result_file = workdir / f"{stem}job.json", workdir / f"{stem}result.json"
    job_file.write_text(json.dumps(job))
    result_file.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", module, str(job_file), str(result_file)],
                          capture_output=True, text=True, timeout=job["timeout_s"])
    if not result_file.exists():
        return {"error": f"worker exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] or ''}"}
    return json.loads(result_file.read_text())


def worker_main(run_job: Callable[[dict], dict]) -> None:
    """A worker's entry point: read the job named by argv[1], write ``run_job``'s result (or its error) to argv[2]."""
    job = json.loads(Path(sys.argv[1]).read_text())
    try:
        result = run_job(job)
    except Exception as error:  # reported as a failed row by the parent
        result = {"error": f"{type(error).__name__}: {first_line(error, 300)}"}
    Path(sys.argv[2]).write_text(json.dumps(result))
