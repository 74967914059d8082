"""MARC 21 to simple (unqualified) Dublin Core, after the Library of Congress crosswalk.

A pure function over MARC-in-JSON dicts (catalog.bib): no database, no XML. OAI-PMH (oai_dc) and
SRU (the dc record schema) both serialise its output, so its signature stays stable.

Where we depart from the LoC table, and why:
* names (1XX, 7XX) go to ``creator`` rather than ``contributor``: harvesters such as Indonesia
  OneSearch and most repository software read the author from dc:creator;
* 300 (physical description) goes to ``format`` as the qualified crosswalk's Format/Extent does,
  since our holdings are mostly print and 340/856$q are rare;
* series (440, 490, 8XX) go to ``relation`` (the qualified crosswalk's Relation/IsPartOf);
* ISBNs with a valid check digit are given as ISBN-13 URNs, so one book has one identifier.
"""
from __future__ import annotations

import re
from typing import Any

from catalog.bib import MarcDict, control, fields, fold, normalise_isbn, normalise_issn, strip_isbd, subfields
from catalog.bib import subject_heading as heading  # the catalog's own subject-heading form (a -- x -- z)

# The fifteen elements in the order of the DCMES, which is also our output order.
ELEMENTS = ("title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
            "format", "identifier", "source", "language", "relation", "coverage", "rights")

NAME_CODES = {"100": "abcdq", "700": "abcdq", "110": "abcdn", "710": "abcdn", "111": "acdenq",
              "711": "acdenq", "720": "a"}
SUBJECT_TAGS = ("600", "610", "611", "630", "647", "648", "650", "653", "654", "656", "657")
CLASSIFICATION_TAGS = ("050", "060", "080", "082")
COVERAGE_TAGS = ("651", "662", "751", "752")
SERIES_TAGS = ("440", "490", "800", "810", "811", "830")
LINKING_TAGS = tuple(str(tag) for tag in range(760, 788) if tag != 786)  # 786 is the data source
# 5XX notes that the crosswalk sends elsewhere: 506/540 rights, 530 relation, 546 language, 534 source.
NOT_DESCRIPTION = {"506", "530", "534", "540", "546"}
# Leader/06 -> DCMI Type Vocabulary (LoC crosswalk appendix); m, o and p have no single type.
TYPE_BY_LEADER = {"a": "Text", "c": "Text", "d": "Text", "t": "Text", "e": "Image", "f": "Image",
                  "g": "MovingImage", "k": "StillImage", "i": "Sound", "j": "Sound", "r": "PhysicalObject"}
COLLECTION_LEVELS = {"c", "s"}  # leader/07 with leader/06 p: a collection
LANGUAGE_CODES = "abdefghj"
NO_LANGUAGE = {"", "und", "zxx", "mul", "|||", "   "}
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f\ufffe\uffff]")
# What cataloguers write when there is nothing to say: "[s.n.]", RDA's "[publisher not identified]",
# our quick form's "[Penerbit tidak diketahui]". Not worth a Dublin Core element.
UNKNOWN = re.compile(r"\[?\s*(s\.\s?[nl]\.?|[^\]]*(not identified|tidak diketahui)[^\]]*)\s*\]?", re.IGNORECASE)


def _values(record: MarcDict, *tags: str) -> list[Any]:
    return [value for _tag, value in fields(record, *tags)]


def _clean(text: str) -> str:
    """Single-spaced text without control characters (they are illegal in XML and never meant)."""
    return " ".join(CONTROL_CHARS.sub(" ", text).split())


def _joined(value: Any, codes: str) -> str:
    return strip_isbd(" ".join(_clean(s) for s in subfields(value, codes)))


def _titles(record: MarcDict) -> list[str]:
    out = [_joined(v, "abfgknps") for v in _values(record, "245")]
    return out + [_joined(v, "abnp") for v in _values(record, "246")]


def _names(record: MarcDict) -> list[str]:
    return [_joined(v, NAME_CODES[tag]).rstrip(",") for tag, v in fields(record, *NAME_CODES)]


def _headings(record: MarcDict, tags: tuple[str, ...]) -> list[str]:
    return [_clean(heading(v)) for v in _values(record, *tags)]


def _descriptions(record: MarcDict) -> list[str]:
    return [_joined(v, "abcdefghijklmnopqrstuvwxyz") for tag, v in fields(record)
            if tag[:1] == "5" and tag not in NOT_DESCRIPTION]


def _publication(record: MarcDict) -> list[Any]:
    """260s and the 264s that record publication (2nd indicator 1, or blank as catalog.bib reads it)."""
    return [v for tag, v in fields(record, "260", "264")
            if tag == "260" or (isinstance(v, dict) and v.get("ind2") in ("1", " "))]


def _known(values: list[str]) -> list[str]:
    return [v for v in values if not UNKNOWN.fullmatch(v)]


def _dates(record: MarcDict, published: list[Any]) -> list[str]:
    dates = [d.replace("[", "").replace("]", "") for v in published if (d := _joined(v, "cg"))]
    dates = [d for d in dates if any(c.isdigit() for c in d)]  # "[Tahun terbit tidak diketahui]" says nothing
    if dates:
        return dates
    fixed = control(record, "008")
    return [fixed[7:11]] if re.fullmatch(r"\d{4}", fixed[7:11]) else []


def _types(leader: str, record: MarcDict) -> list[str]:
    rtype, level = leader[6:7], leader[7:8]
    out = [TYPE_BY_LEADER.get(rtype, "")]
    if rtype == "p" and level in COLLECTION_LEVELS:
        out.append("Collection")
    return out + [_joined(v, "a") for v in _values(record, "655")]


def _identifiers(record: MarcDict) -> list[str]:
    out = []
    for value in _values(record, "020"):
        for raw in subfields(value, "a"):
            isbn = normalise_isbn(raw)
            out.append(f"URN:ISBN:{isbn}" if isbn else _clean(raw))
    for value in _values(record, "022"):
        for raw in subfields(value, "a"):
            issn = normalise_issn(raw)
            out.append(f"URN:ISSN:{issn}" if issn else _clean(raw))
    out += [_clean(s) for v in _values(record, "024") for s in subfields(v, "a")]
    return out + [_clean(s) for v in _values(record, "856") for s in subfields(v, "u")]


def _languages(record: MarcDict) -> list[str]:
    fixed = control(record, "008")
    codes = [fixed[35:38].lower()] if len(fixed) >= 38 else []
    for value in _values(record, "041"):
        for raw in subfields(value, LANGUAGE_CODES):
            # Old records pack several codes into one subfield ("engind").
            codes += [raw[i:i + 3].lower() for i in range(0, len(raw.strip()) - 2, 3)]
    out = [c for c in codes if re.fullmatch(r"[a-z]{3}", c) and c not in NO_LANGUAGE]
    return out + [_joined(v, "a") for v in _values(record, "546")]


def _relations(record: MarcDict) -> list[str]:
    series = [_joined(v, "atvnp") for v in _values(record, *SERIES_TAGS)]
    notes = [_joined(v, "a") for v in _values(record, "530")]
    return series + notes + [_joined(v, "to") for v in _values(record, *LINKING_TAGS)]


def dublin_core(record: MarcDict) -> list[tuple[str, str]]:
    """(element, value) pairs of simple Dublin Core for a MARC record, in DCMES order, no duplicates."""
    leader = record.get("leader", "") or ""
    published = _publication(record)
    found: dict[str, list[str]] = {
        "title": _titles(record),
        "creator": _names(record),
        "subject": _headings(record, SUBJECT_TAGS) + [_joined(v, "a") for v in _values(record, *CLASSIFICATION_TAGS)],
        "description": _descriptions(record),
        "publisher": _known([_joined(v, "b") for v in published]),
        "date": _dates(record, published),
        "type": _types(leader, record),
        "format": [_joined(v, "abce") for v in _values(record, "300")] + [_joined(v, "a") for v in _values(record, "340")]
        + [_clean(s) for v in _values(record, "856") for s in subfields(v, "q")],
        "identifier": _identifiers(record),
        "source": [_joined(v, "t") for v in _values(record, "534")] + [_joined(v, "to") for v in _values(record, "786")],
        "language": _languages(record),
        "relation": _relations(record),
        "coverage": _headings(record, COVERAGE_TAGS),
        "rights": [_joined(v, "a") for v in _values(record, "506", "540")],
    }
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for element in ELEMENTS:
        for value in found.get(element, ()):
            key = (element, fold(value))
            if value and key not in seen:
                seen.add(key)
                out.append((element, value))
    return out
