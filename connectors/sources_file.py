"""Reading sources.yaml as YAML, light to import (no pydantic, no source kinds).

connectors.config checks what is read here against the schema; the command line also asks
`source_ids` for the ids alone, so that a typo in `--source` is answered before the schema and
every source kind's modules are imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.settings import current as current_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_BYTES = 1_000_000  # sources.yaml is a hand-written file, never this big
MAX_YAML_NODES = 100_000  # nodes after expanding aliases: a "billion laughs" stops here
MAX_ERROR_LINE = 300  # characters of one problem; the whole message stays a few KB


class ConfigError(ValueError):
    """sources.yaml is missing, malformed or names something unknown."""


def default_sources_path(configured: Path | None = None) -> Path:
    """The configured file (core.settings), else ./sources.yaml, else the one shipped."""
    if configured is not None:
        return configured
    local = Path.cwd() / "sources.yaml"
    return local if local.exists() else PROJECT_ROOT / "sources.yaml"


def source_ids() -> list[str] | None:
    """The ids the settings' sources file lists, read without its schema check; None when the
    file has no readable list of ids (loading the sources then says what is wrong)."""
    try:
        document = read_yaml(default_sources_path(current_settings().sources_file))
    except ConfigError:
        return None
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    ids = [entry.get("id") for entry in entries if isinstance(entry, dict)]
    return ids if ids and all(isinstance(i, str) for i in ids) else None


class _BoundedLoader(yaml.SafeLoader):
    """A safe YAML loader that counts nodes as aliases expand them: a bomb fails fast."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        node = super().compose_node(parent, index)
        if id(node) not in self._sizes:  # an alias is its anchor's node, already counted
            children = node.value if isinstance(node, yaml.SequenceNode) else []
            if isinstance(node, yaml.MappingNode):
                children = [child for pair in node.value for child in pair]
            size = 1 + sum(self._sizes.get(id(child), 1) for child in children)
            if size > MAX_YAML_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"over {MAX_YAML_NODES} nodes once aliases expand", node.start_mark
                )
            self._sizes[id(node)] = size
        return node


def read_yaml(path: Path) -> Any:
    """A YAML file's data, refusing files over MAX_FILE_BYTES and alias bombs."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES} bytes, not a sources file")
    try:
        loader = _BoundedLoader(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text: {exc}") from exc
    loader.name = path.name  # marks in YAML errors name the file
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(capped(f"{path.name}: not valid YAML: {exc}")) from exc
    finally:
        loader.dispose()


def capped(message: str) -> str:
    """One problem, short enough to read (a value can be megabytes long)."""
    return message if len(message) <= MAX_ERROR_LINE else message[: MAX_ERROR_LINE - 3] + "..."
