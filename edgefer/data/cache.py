"""Cache of parsed datasets, so the 271 MB CSV is parsed once and later loads take about a second.

The key covers the source's size, mtime and a hash of its first and last MiB (for folders: every
file's relative path, size and mtime), the reader version and the --skip-bad flag, so any change to
the source gives a new key. Entries are `.npz` files in `EDGEFER_CACHE_DIR`, else
`$XDG_CACHE_HOME/edgefer`, else `~/.cache/edgefer`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_FORMAT_VERSION = "1"
HASHED_BYTES = 1 << 20


def default_cache_dir() -> Path:
    if os.environ.get("EDGEFER_CACHE_DIR"):
        return Path(os.environ["EDGEFER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edgefer"


def _file_fingerprint(path: Path, digest) -> None:
    stat = path.stat()
    digest.update(f"{stat.st_size}|{stat.st_mtime_ns}|".encode())
    with open(path, "rb") as f:
        digest.update(f.read(HASHED_BYTES))
        if stat.st_size > 2 * HASHED_BYTES:
            f.seek(-HASHED_BYTES, os.SEEK_END)
            digest.update(f.read())


def _folder_fingerprint(root: Path, digest) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())


def cache_key(source: Path, *, reader: str, skip_bad: bool) -> str:
    digest = hashlib.sha256(f"{CACHE_FORMAT_VERSION}|{reader}|{int(skip_bad)}|".encode())
    (_folder_fingerprint if source.is_dir() else _file_fingerprint)(source, digest)
    return digest.hexdigest()[:20]


def cache_path(source: Path, cache_dir: Path, *, reader: str, skip_bad: bool) -> Path:
    stem = source.name.replace(".", "_")
    return Path(cache_dir) / f"{stem}-{cache_key(source, reader=reader, skip_bad=skip_bad)}.npz"


def content_hash(source: Path) -> str:
    """Short content identity of a data source (recorded in run metadata)."""
    return cache_key(Path(source), reader="identity", skip_bad=False)
