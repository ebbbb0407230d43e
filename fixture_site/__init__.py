"""The bundled fixture site: a local HTTP server that stands in for every source in sources.yaml."""

from fixture_site.catalog import (
    BadPath,
    ManifestEntry,
    bad_paths,
    legacy_encodings,
    manifest,
    source_ids,
)
from fixture_site.server import FixtureSite, RequestRecord

__all__ = [
    "BadPath",
    "FixtureSite",
    "ManifestEntry",
    "RequestRecord",
    "bad_paths",
    "legacy_encodings",
    "manifest",
    "source_ids",
]
