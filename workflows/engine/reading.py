"""Generic pieces for reading located YAML: typed values, known keys, and where each path is.

A Reader records every problem (it never stops at the first) and the line of every field path it
visits, so later checks can point at ``transitions[3].to`` without the YAML at hand.
"""
from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Any

from workflows.engine.model import ROLES, Amount, Text
from workflows.yamlsource import Located, LocatedList, Problem

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
AMOUNT_REF = re.compile(r"^-?\$[a-z][a-z0-9_]*$")
SHAPES = {SLUG: "must be lower-case letters, digits, '_' and '-'",
          NAME: "must be lower-case letters, digits and '_', starting with a letter"}
NO_TEXT = Text("", "")


def join(path: str, key: str | int) -> str:
    """``states.npp`` + ``due`` -> ``states.npp.due``; ``transitions`` + 3 -> ``transitions[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    """How a wrong value is named in a message."""
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else type(value).__name__


class Reader:
    """Reads values out of located YAML data, recording problems and the line of every path it visits."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}

    def fail(self, line: int, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(line, path, message))

    # -- generic pieces ---------------------------------------------------------------------------
    def mapping(self, value: Any, line: int, path: str,
                keys: tuple[tuple[str, ...], tuple[str, ...]] | None = None) -> Located | None:
        """``value`` as a mapping (None and a problem when it is not one).

        ``keys`` is (required, optional); None lets any key be a name (states, params, values), each
        of which must then be an identifier.
        """
        if not isinstance(value, Located):
            self.fail(line, path, f"must be a mapping (key: value), not {describe(value)}")
            return None
        required, optional = keys or ((), ())
        for key in value:
            self.lines[join(path, key)] = value.line_of(key)
            if keys is None:
                if not NAME.match(key):
                    self.fail(value.line_of(key), join(path, key), f"the name '{key}' {SHAPES[NAME]}")
            elif key not in required and key not in optional:
                hint = get_close_matches(key, required + optional, n=1)
                advice = f"did you mean '{hint[0]}'?" if hint else f"allowed: {', '.join(required + optional)}"
                self.fail(value.line_of(key), join(path, key), f"unknown key '{key}'; {advice}")
        for key in required:
            if key not in value:
                self.fail(value.line, join(path, key), "this key is required")
        return value

    def items(self, node: Located, key: str, path: str) -> list[tuple[int, Any, int, str]]:
        """(index, item, line, path) of the list under ``key``; [] (and a problem) when not a list."""
        value = node.get(key)
        if value is None:
            return []
        here = join(path, key)
        if not isinstance(value, LocatedList):
            self.fail(node.line_of(key), here, f"must be a list, not {describe(value)}")
            return []
        out = []
        for index, item in enumerate(value):
            self.lines[join(here, index)] = value.line_of(index)
            out.append((index, item, value.line_of(index), join(here, index)))
        return out

    def text(self, node: Located, key: str, path: str) -> Text | None:
        """A bilingual {id, en} text; None when absent, a blank placeholder when broken."""
        if key not in node:
            return None
        here = join(path, key)
        value = self.mapping(node[key], node.line_of(key), here, (("id", "en"), ()))
        if value is None:
            return NO_TEXT
        parts = {}
        for language in ("id", "en"):
            part = value.get(language)
            if language in value and (not isinstance(part, str) or not part.strip()):
                self.fail(value.line_of(language), join(here, language), "must be a non-empty text")
            parts[language] = part if isinstance(part, str) else ""
        return Text(parts["id"], parts["en"])

    def string(self, node: Located, key: str, path: str, pattern: re.Pattern[str] | None = None,
               choices: tuple[str, ...] = ()) -> str | None:
        """A text value, optionally matching ``pattern`` or one of ``choices``."""
        if key not in node:
            return None
        value, line, here = node[key], node.line_of(key), join(path, key)
        if not isinstance(value, str):
            self.fail(line, here, f"must be a text, not {describe(value)}")
            return None
        if choices and value not in choices:
            self.fail(line, here, f"'{value}' is not one of: {', '.join(choices)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(line, here, f"'{value}' {SHAPES[pattern]}")
            return None
        return value

    def integer(self, node: Located, key: str, path: str, minimum: int | None = None) -> int | None:
        """A whole number, optionally at least ``minimum``."""
        if key not in node:
            return None
        value, line, here = node[key], node.line_of(key), join(path, key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(line, here, f"must be a whole number, not {describe(value)}")
            return None
        if minimum is not None and value < minimum:
            self.fail(line, here, f"must be at least {minimum}")
            return None
        return value

    def boolean(self, node: Located, key: str, path: str) -> bool:
        """A yes/no value (false when absent or broken)."""
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.fail(node.line_of(key), join(path, key), f"must be true or false, not {describe(value)}")
            return False
        return value

    def amount(self, node: Located, key: str, path: str, whole: bool) -> Amount | None:
        """A number or a "$param" / "-$param" reference (checked against params later)."""
        if key not in node:
            return None
        value, line, here = node[key], node.line_of(key), join(path, key)
        if isinstance(value, str) and AMOUNT_REF.match(value):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and isinstance(value, float)):
            kind = "a whole number" if whole else "a number"
            self.fail(line, here, f"must be {kind} or a '$param' reference, not {describe(value)}")
            return None
        return value

    def roles(self, node: Located, key: str, path: str) -> frozenset[str]:
        """A list of ILS roles."""
        found = set()
        for _index, item, line, here in self.items(node, key, path):
            if item not in ROLES:
                self.fail(line, here, f"unknown role '{item}'; roles are: {', '.join(sorted(ROLES))}")
            else:
                found.add(item)
        return frozenset(found)
