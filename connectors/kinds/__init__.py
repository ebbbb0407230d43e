"""Source kinds: one class per kind, its typed settings and how it discovers links.

A kind is a pydantic model (the settings a source of that kind takes in sources.yaml, unknown
keys refused) with a `discover` method, registered by name with `@register_kind`, the way
dlt registers paginators. Adding a kind is one class in one module of this package: every
module here is imported the first time a kind is looked up.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from abc import abstractmethod
from functools import cache
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from connectors.records import PublishedSource

if TYPE_CHECKING:
    from collections.abc import Callable

    from connectors.config import PageJson
    from connectors.discovery import Walk
    from connectors.records import Link

_REGISTRY: dict[str, type[SourceKind]] = {}


class SourceKind(BaseModel):
    """Base of every kind: immutable settings that reject unknown keys, and discovery."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    name: ClassVar[str] = ""
    # Where the kind's article pages keep their text as JSON, for kinds whose pages are JSON
    # answers or JavaScript shells; a source's own `page_json:` takes precedence.
    article_json: ClassVar[PageJson | None] = None
    # What the dates of the kind's links are, for articles whose pages give none of their own.
    dates_from: ClassVar[PublishedSource] = PublishedSource.LISTING

    @abstractmethod
    async def discover(self, walk: Walk) -> list[Link]:
        """The article links the source lists now; listing requests go through walk."""


def register_kind(name: str) -> Callable[[type[SourceKind]], type[SourceKind]]:
    """Class decorator: make a SourceKind subclass available as `kind: <name>` in sources.yaml."""

    def register(cls: type[SourceKind]) -> type[SourceKind]:
        if not (isinstance(cls, type) and issubclass(cls, SourceKind)):
            raise TypeError(f"{cls!r} is not a SourceKind")
        if inspect.isabstract(cls):
            raise TypeError(f"kind {name!r}: {cls.__name__} has no discover method")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"kind {name!r} is already registered by {_REGISTRY[name]!r}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return register


def kinds() -> dict[str, type[SourceKind]]:
    """Every registered kind by name, the built-in ones (this package's modules) included."""
    _import_built_in_kinds()
    return dict(sorted(_REGISTRY.items()))


@cache
def _import_built_in_kinds() -> None:
    """Import each module of this package once: importing a kind's module registers it."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def kind_class(name: str) -> type[SourceKind]:
    """The class of a kind; KeyError naming the known kinds when there is none."""
    known = kinds()
    if name not in known:
        raise KeyError(f"unknown kind {name!r}; known: {', '.join(known)}")
    return known[name]
