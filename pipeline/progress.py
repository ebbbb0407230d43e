"""Progress as it happens, for whoever watches in this process (the command line's bars): an
ingest's steps, a source's listings read (new URLs found) and each chunk fetched (URLs); the
translation backlog's articles done (flows/translate.py). Nothing is kept when no one watches;
a flow run in this process tells the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, ParamSpec


class Stage(StrEnum):
    LISTED = "listed"  # a source's listings were read: `urls` new links in the frontier
    FETCHED = "fetched"  # a chunk of `urls` URLs was fetched


@dataclass(frozen=True)
class Step:
    """One step of one source's ingest."""

    source_id: str
    stage: Stage
    urls: int


P = ParamSpec("P")


class Watchers(Generic[P]):
    """Calls told of progress in this process while they watch (none: nothing is kept)."""

    def __init__(self) -> None:
        self._watchers: list[Callable[P, None]] = []

    @contextmanager
    def watching(self, watcher: Callable[P, None]) -> Iterator[None]:
        """Call watcher with every progress told while the block runs."""
        self._watchers.append(watcher)
        try:
            yield
        finally:
            self._watchers.remove(watcher)

    def tell(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for watcher in self._watchers:
            watcher(*args, **kwargs)


ingest_steps: Watchers[[Step]] = Watchers()  # told by pipeline/ingest.py
