"""The MarcDict form of a record: its stored text, and reading its fields and subfields.

A record is ``{"leader": str, "fields": [{"001": "..."}, {"245": {"ind1": "1", "ind2": "0",
"subfields": [{"a": "..."}]}}]}``, the dict catalog.marc produces from every input format. Field
access here returns the text as catalogued; strip_isbd and join_subfields drop the ISBD punctuation
that ends a subfield.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

MarcDict = dict[str, Any]

ISBD_TRAILING = " /:;,=.+"
LEADER_SIGNATURE = re.compile(rb"\d{5}[acdnp][a-z][a-z ]{2}[ a]22\d{5}[ 0-9A-Za-z]{3}4500")


# --- stored text ------------------------------------------------------------------------------

def dumps(record: MarcDict) -> str:
    """A record as the compact MARC-in-JSON text the catalog stores (orjson: 4x faster than json)."""
    try:
        return orjson.dumps(record).decode("utf-8")
    except orjson.JSONEncodeError:  # e.g. a lone surrogate from a "\ud800" escape in a JSON input file
        return json.dumps(record)  # ASCII with escapes: valid JSON that any database stores


def loads(text: str | bytes) -> MarcDict:
    """A stored MARC-in-JSON text as a dict."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # escapes orjson refuses (lone surrogates) are still JSON
        return json.loads(text)


# --- field access -----------------------------------------------------------------------------

def fields(record: MarcDict, *tags: str) -> Iterator[tuple[str, Any]]:
    """(tag, value) for each field whose tag is in ``tags`` (all fields when none given)."""
    for entry in record.get("fields", ()):
        for tag, value in entry.items():
            if not tags or tag in tags:
                yield tag, value


def control(record: MarcDict, tag: str) -> str:
    """The first control field ``tag`` ("" if absent or not a control field)."""
    for _tag, value in fields(record, tag):
        if isinstance(value, str):
            return value
    return ""


def subfields(value: Any, codes: str | None = None) -> list[str]:
    """Subfield values of a data field, in order, optionally only those with codes in ``codes``."""
    if not isinstance(value, dict):
        return []
    out = []
    for sub in value.get("subfields", ()):
        for code, text in sub.items():
            if codes is None or code in codes:
                out.append(text)
    return out


def first(record: MarcDict, tag: str, code: str) -> str:
    """The first $code of the first ``tag`` that has it ("" if none)."""
    for _tag, value in fields(record, tag):
        found = subfields(value, code)
        if found:
            return found[0]
    return ""


def strip_isbd(text: str) -> str:
    """A subfield without the ISBD punctuation that separates it from the next one."""
    text = " ".join(text.split())
    while text and text[-1] in ISBD_TRAILING and not text.endswith("..."):
        if text[-1] == "." and re.search(r"\b[^\W\d_]\.$", text):
            break  # keep an initial or abbreviation ("Jr.", "A.")
        text = text[:-1].rstrip()
    return text


def join_subfields(value: Any, codes: str) -> str:
    """Selected subfields joined with spaces, ISBD punctuation removed at the end."""
    return strip_isbd(" ".join(s.strip() for s in subfields(value, codes)))
