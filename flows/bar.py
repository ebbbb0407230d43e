"""One progress bar for the command line's long work (discovery, fetch, translation): drawn on
the terminal's standard error while it is a terminal, nothing at all otherwise (a pipe, a log
file, cron), so that what a script reads stays the command's own lines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connectors.sanitize import raw_stderr


class Bar:
    """Moves the bar: bar(done, total) with total None while unknown, and a new description."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress, self._task = progress, task

    def __call__(self, done: int, total: int | None, description: str | None = None) -> None:
        if self._progress is not None:
            words = {} if description is None else {"description": description}
            self._progress.update(self._task, completed=done, total=total, **words)


@contextmanager
def progress_bar(description: str) -> Iterator[Bar]:
    """A transient bar named `description` while the block runs. It shows only its own words
    and counts, so it may write to the terminal itself; stdout is left where it goes (not
    redirected above the bar), so a pipe gets every line."""
    stream = raw_stderr()
    if not stream.isatty():
        yield Bar()
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(
        console=Console(file=stream),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        yield Bar(progress, progress.add_task(description, total=None))
