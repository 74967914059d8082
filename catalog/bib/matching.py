"""Match keys: how an import recognises a record the catalog already holds.

Trusted in order: control number with its source (001/003), system numbers (035), ISBN, ISSN, then
title + main author + year; a record with none of these matches by a hash of its content.
"""
from __future__ import annotations

import hashlib
import json

from catalog.bib.access import MarcDict
from catalog.bib.extraction import Extracted
from catalog.bib.normalise import fold


def title_key(ex: Extracted) -> str | None:
    """Title + main author + year, normalised: the match of last resort for records without ids."""
    title = ex.title_sort[:80].strip()
    if not title:
        return None
    author = fold(ex.main_author).split(" ")[0] if ex.main_author else ""
    return f"{title}|{author}|{ex.year or ''}"


def content_hash(record: MarcDict) -> str:
    """A hash of the record's content without 001/003/005 (the same record read twice matches)."""
    kept = [f for f in record.get("fields", ()) if next(iter(f)) not in ("001", "003", "005")]
    # Field dicts are built in one key order by every reader, so no sort_keys is needed.
    raw = json.dumps([(record.get("leader") or "")[5:10], kept], ensure_ascii=False, check_circular=False)
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def match_keys(record: MarcDict, ex: Extracted) -> list[tuple[str, str]]:
    """(kind, key) pairs in the order they are trusted: control number, 035, ISBN/ISSN, title; else content."""
    keys: list[tuple[str, str]] = []
    if ex.control_number and ex.control_source:
        keys.append(("control", f"ctl:{ex.control_source.casefold()}|{ex.control_number}"))
    keys += [("035", f"035:{num.casefold()}") for num in ex.system_numbers]
    keys += [("isbn", f"isbn:{num}") for num in ex.isbn13]
    keys += [("issn", f"issn:{num}") for num in ex.issns]
    if ex.kind == "bibliographic" and (key := title_key(ex)):
        keys.append(("title", f"tak:{key}"[:250]))
    if not keys:  # nothing else to go by (no 245, no identifiers): the same record read again still matches
        keys.append(("content", f"sha:{content_hash(record)}"))
    return keys
