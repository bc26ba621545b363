"""How edgefer talks while it works: progress bars for long work (shown only on a terminal) and one-line
notes (`note`), both on stderr; results (tables, JSON) go to stdout."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

console = Console(stderr=True)  # progress, notes and errors
# Results go to stdout; off a terminal, give tables room instead of rich's 80-column default.
stdout_console = Console(width=None if sys.stdout.isatty() else 120)


@contextmanager
def progress_bar(description: str, total: float | None) -> Iterator[callable]:
    """Yield `advance(completed)` that sets the absolute progress; no output when not a TTY."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    with progress:
        task = progress.add_task(description, total=total)

        def update(completed: float) -> None:
            progress.update(task, completed=completed)

        yield update


def note(message: str) -> None:
    """A progress note or warning for the user, on stderr, as written (no markup, no wrapping)."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)
