"""Reading people-written data (instruments, SNP standards, IPLM settings) into typed values.

A Checker walks plain data (from YAML or a workbook), converts each value and collects every fault
at once, each placed by a ``locate`` function: a YAML line and dotted field, or a spreadsheet cell.
The SNP and IPLM modules use it too, so all three report problems the same way.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from workflows.yamlsource import DataFileError, Located, LocatedList, Problem

FieldPath = tuple[str | int, ...]
Locator = Callable[[FieldPath], Problem]


@dataclass(frozen=True)
class Bilingual:
    """A text in Indonesian and English; English may be empty (an imported official instrument)."""

    id: str
    en: str = ""

    def get(self, locale: str | None) -> str:
        """The text for ``locale``: English for ``en...`` when there is one, else Indonesian."""
        return self.en if locale and locale.lower().startswith("en") and self.en else self.id

    def plain(self) -> dict[str, str]:
        """As written in a data file (``en`` left out when empty)."""
        return {"id": self.id, "en": self.en} if self.en else {"id": self.id}


def field_name(path: FieldPath) -> str:
    """``("components", 2, "weight")`` -> ``components[2].weight``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def yaml_locator(root: Any) -> Locator:
    """Places a path inside data loaded by ``yamlsource.load``: the line of its deepest known part."""
    def locate(path: FieldPath) -> Problem:
        node, line = root, getattr(root, "line", 0)
        for part in path:
            if isinstance(node, Located) and isinstance(part, str):
                line = node.line_of(part)
                node = node.get(part)
            elif isinstance(node, LocatedList) and isinstance(part, int):
                line = node.line_of(part)
                node = node[part] if 0 <= part < len(node) else None
            else:
                break
        return Problem(line, field_name(path), "")
    return locate


class Checker:
    """Converts plain data field by field, collecting every problem instead of stopping at the first."""

    def __init__(self, source: str, locate: Locator) -> None:
        self.source = source
        self.locate = locate
        self.problems: list[Problem] = []

    def add(self, path: FieldPath, message: str) -> None:
        """Record one problem at ``path``."""
        where = self.locate(path)
        self.problems.append(Problem(where.line, where.field, message))

    def add_at(self, field: str, message: str, line: int = 0) -> None:
        """Record a problem at a place that has no path (a sheet, row or cell of a workbook)."""
        self.problems.append(Problem(line, field, message))

    def raise_if_any(self) -> None:
        """Raise DataFileError listing every problem found so far (sorted by line)."""
        if self.problems:
            raise DataFileError(self.source, sorted(self.problems, key=lambda p: p.line))

    def mapping(self, value: Any, path: FieldPath, required: Iterable[str],
                optional: Iterable[str] = ()) -> Mapping[str, Any] | None:
        """``value`` as a mapping with the required keys and no unknown ones (None if not a mapping)."""
        if value is None:  # a missing field was reported by the mapping it belongs to
            return None
        if not isinstance(value, Mapping):
            self.add(path, _("expected a group of fields"))
            return None
        required = tuple(required)
        for key in required:
            if value.get(key) in (None, ""):
                self.add((*path, key), _("this field is required"))
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                self.add((*path, key), _("unknown field (expected one of: %(names)s)",
                                         names=", ".join(sorted(allowed))))
        return value

    def sequence(self, value: Any, path: FieldPath) -> list[Any]:
        """``value`` as a non-empty list (empty on error)."""
        if not isinstance(value, list) or not value:
            if value is not None:  # a missing field was reported by mapping()
                self.add(path, _("expected a list with at least one entry"))
            return []
        for i, item in enumerate(value):
            if item is None:  # "- " with nothing after it; mapping() would pass it over silently
                self.add((*path, i), _("this entry is empty"))
        return value

    def code(self, value: Any, path: FieldPath) -> str | None:
        """A code: a plain value without spaces (a number such as 1.2 is read as the text "1.2")."""
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
            self.add(path, _("expected a code"))
            return None
        text = str(value).strip()
        if any(ch.isspace() for ch in text):
            self.add(path, _("a code may not contain spaces"))
            return None
        return text

    def text(self, value: Any, path: FieldPath) -> str | None:
        """A non-empty text (numbers are accepted as their text)."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
            self.add(path, _("expected a text"))
            return None
        return str(value).strip()

    def number(self, value: Any, path: FieldPath, *, minimum: float | None = None,
               maximum: float | None = None, above: float | None = None) -> float | None:
        """A number within the given bounds (ints stay ints so files round-trip unchanged)."""
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            self.add(path, _("expected a number"))
            return None
        if minimum is not None and value < minimum:
            self.add(path, _("must be at least %(low)s", low=minimum))
            return None
        if maximum is not None and value > maximum:
            self.add(path, _("must be at most %(high)s", high=maximum))
            return None
        if above is not None and value <= above:
            self.add(path, _("must be more than %(low)s", low=above))
            return None
        return int(value) if isinstance(value, float) and value.is_integer() else value

    def bilingual(self, value: Any, path: FieldPath) -> Bilingual | None:
        """``{id: ..., en: ...}``; Indonesian required, English optional."""
        if value is None:
            return None
        fields = self.mapping(value, path, ("id",), ("en",))
        if fields is None:
            return None
        text_id = self.text(fields.get("id"), (*path, "id"))
        text_en = self.text(fields.get("en"), (*path, "en")) if fields.get("en") not in (None, "") else ""
        return Bilingual(text_id, text_en or "") if text_id else None

    def choice(self, value: Any, path: FieldPath, allowed: Iterable[str]) -> str | None:
        """One of ``allowed``."""
        text = self.code(value, path)
        allowed = tuple(allowed)
        if text is not None and text not in allowed:
            self.add(path, _("unknown value %(value)s (expected one of: %(names)s)",
                             value=text, names=", ".join(allowed)))
            return None
        return text

    def unique(self, code: str | None, path: FieldPath, seen: dict[str, FieldPath]) -> None:
        """Report ``code`` when an earlier entry already used it."""
        if code is None:
            return
        if code in seen:
            self.add(path, _("the code %(code)s is used twice (first at %(first)s)",
                             code=code, first=self.locate(seen[code]).field))
        else:
            seen[code] = path
