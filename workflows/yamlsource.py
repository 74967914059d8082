"""YAML data files that remember where each value came from, so errors point at the line and field.

Workflow definitions, accreditation instruments and standards are YAML written by people (a DPK
admin, not a programmer). When one is wrong the message must say which file, which line and which
field, e.g. ``akreditasi.yaml:42: transitions[3].to: unknown state 'visitasi'``. PyYAML's composer
knows every node's position; this module keeps it next to the plain Python values.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml


class Located(dict):
    """A mapping from a YAML file that knows the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Line of ``key`` in the file, or the mapping's own line when the key is absent."""
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    """A sequence from a YAML file that knows the line of itself and of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        """Line of item ``index`` (the list's own line when out of range)."""
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data file: where (line, dotted field path) and what."""

    line: int
    field: str
    message: str

    def render(self, source: str) -> str:
        """``source:line: field: message``."""
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class DataFileError(ValueError):
    """A YAML data file failed to parse or validate; ``problems`` lists every fault found."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(p.render(source) for p in self.problems) or source)


def _plain(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """Turn a composed node into Located/LocatedList/scalars, keeping line numbers."""
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = Located()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise DataFileError("?", [Problem(key_node.start_mark.line + 1, "", "a key must be a plain value")])
            key = str(key)
            if key in out:
                raise _Duplicate(key_node.start_mark.line + 1, key)
            out[key] = _plain(value_node, loader)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        items = LocatedList(_plain(child, loader) for child in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items
    return loader.construct_object(node, deep=True)


class _Duplicate(Exception):
    def __init__(self, line: int, key: str) -> None:
        self.line, self.key = line, key


def load(text: str | bytes, source: str) -> Any:
    """Parse one YAML document with line numbers; DataFileError on syntax errors or duplicate keys."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFileError(source, [Problem(0, "", f"the file is not UTF-8 text ({exc.reason})")]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DataFileError(source, [Problem(1, "", "the file is empty")])
        return _plain(node, loader)
    except _Duplicate as dup:
        raise DataFileError(source, [Problem(dup.line, dup.key, "this key appears twice")]) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise DataFileError(source, [Problem(line, "", f"YAML syntax: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise DataFileError(source, [Problem(0, "", f"YAML syntax: {exc}")]) from None
    finally:
        loader.dispose()


def line_of(container: Any, key: str | int) -> int:
    """Line of a key or index in a Located container (0 when not known)."""
    if isinstance(container, Located) and isinstance(key, str):
        return container.line_of(key)
    if isinstance(container, LocatedList) and isinstance(key, int):
        return container.line_of(key)
    return getattr(container, "line", 0)


def dump(data: Any) -> str:
    """Write plain data back as readable YAML (UTF-8, keys in the given order)."""
    return yaml.safe_dump(_unlocated(data), allow_unicode=True, sort_keys=False, width=100)


def _unlocated(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _unlocated(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_unlocated(v) for v in data]
    return data
