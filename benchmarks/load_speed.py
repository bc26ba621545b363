"""Time and peak memory of loading the full FER2013 CSV: first parse vs. a load served by the cache.

Each load runs in a fresh subprocess (`edgefer data info`, the user's command), so the peak RSS
is that process's alone. Usage:

    python benchmarks/load_speed.py --data PATH/fer2013.csv.gz
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_load(data: Path, cache_dir: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one `edgefer data info` process."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "edgefer.cli", "data", "info", str(data), "--cache-dir", cache_dir, "--json"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children so far
    return wall, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="fer2013.csv[.gz] (or any form edgefer reads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir:
        cold, cold_rss = timed_load(args.data, cache_dir)
        warm, _ = timed_load(args.data, cache_dir)
    print(f"data: {args.data}")
    print(f"first load (parse + write cache): {cold:6.2f} s   peak RSS {cold_rss:7.0f} MB")
    print(f"second load (from cache):         {warm:6.2f} s   (whole command, Python start-up included)")
    print(f"targets: second load < 3 s -> {'met' if warm < 3 else 'MISSED'}; "
          f"peak RSS < 1500 MB -> {'met' if cold_rss < 1500 else 'MISSED'}")


if __name__ == "__main__":
    main()
