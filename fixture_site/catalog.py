"""What the fixture site holds, read from its data files so tests compare against one truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, TypedDict

SITE_DIR = Path(__file__).parent / "site"
UPDATES_DIR = Path(__file__).parent / "updates"  # edited versions of some pages

Behaviour = Literal[
    "empty", "pdf", "server_error", "timeout", "redirect_loop", "huge", "disallowed"
]


class ManifestEntry(TypedDict):
    """A good article: where it lives under its source base and what a reader sees."""

    source_id: str
    path: str  # under the source base, e.g. "/articles/415901/"
    language: str  # ru, en, zh or az
    title: str
    published: str  # YYYY-MM-DD, the local date of publication


class BadPath(TypedDict):
    """A URL the sources link to that must end as a recorded failure, not a crash."""

    source_id: str
    path: str
    behaviour: Behaviour
    title: str  # as the feed lists it
    published: str


def _load(name: str) -> list:
    """One JSON data file from the site tree."""
    return json.loads((SITE_DIR / name).read_text(encoding="utf-8"))


def manifest() -> list[ManifestEntry]:
    """Every good article the site serves, as listed in site/manifest.json."""
    return _load("manifest.json")


def bad_paths() -> list[BadPath]:
    """The linked endpoints that misbehave on purpose, as listed in site/bad_paths.json."""
    return _load("bad_paths.json")


def source_ids() -> list[str]:
    """The sources the site impersonates: one top-level folder each."""
    return sorted(p.name for p in SITE_DIR.iterdir() if p.is_dir())


def legacy_encodings() -> dict[str, str]:
    """Files (relative to site/) served in a legacy encoding with no charset in the header.

    They are kept as UTF-8 in the tree, so they stay readable and diffable; only their
    <meta> tag names the encoding they are served in (site/legacy_encodings.json).
    """
    return json.loads((SITE_DIR / "legacy_encodings.json").read_text(encoding="utf-8"))
