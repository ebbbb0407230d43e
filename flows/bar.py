"""One progress bar for the command line's long work (discovery, fetch, translation): drawn on
the terminal's standard error while it is a terminal, nothing at all otherwise (a pipe, a log
file, cron), so that what a script reads stays the command's own lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from connectors.sanitize import raw_stderr

Advance = Callable[[int, "int | None"], None]  # (done, total; None while unknown)


@contextmanager
def progress_bar(description: str) -> Iterator[Advance]:
    """A transient bar named `description` while the block runs; yields the call that moves
    it. The bar shows only its own words and counts, so it may write to the terminal itself."""
    stream = raw_stderr()
    if not stream.isatty():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=stream), transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
