"""The columns derived from a record on every save (Extracted, extract) and its spine-label call number.

The leader gives the kind of record and our material type; the data fields give title, names,
identifiers, publication, language, subjects, classification, extent and series. The MARC stays the
source of truth: these columns are recomputed from it, never edited.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from catalog.bib.access import MarcDict, join_subfields, strip_isbd, subfields
from catalog.bib.normalise import fold, isbn_forms, normalise_isbn, normalise_issn, year_of

# Leader/06 (type of record) and /07 (bibliographic level) -> our material types.
AUTHORITY_TYPES = {"z"}
HOLDINGS_TYPES = {"u", "v", "x", "y"}
MATERIAL_BY_TYPE = {
    "a": "book", "t": "manuscript", "c": "score", "d": "score", "e": "map", "f": "map",
    "g": "video", "i": "sound", "j": "music", "k": "image", "m": "electronic", "o": "kit",
    "p": "mixed", "r": "object",
}
SERIAL_LEVELS = {"b", "i", "s"}
MATERIAL_TYPES = ("book", "serial", "manuscript", "score", "map", "video", "sound", "music", "image",
                  "electronic", "kit", "mixed", "object", "unknown")

SUBJECT_TAGS = ("600", "610", "611", "630", "647", "648", "650", "651", "653", "655")
SUBDIVISION_CODES = "vxyz"
NAME_TAGS_MAIN = ("100", "110", "111")
NAME_TAGS_ADDED = ("700", "710", "711", "720")
LANGUAGE_CODE = re.compile(r"[a-z]{3}")


@dataclass
class Extracted:
    """The columns derived from a record on every save (the MARC stays the source of truth)."""

    kind: str = "bibliographic"
    material_type: str = "unknown"
    title: str = ""
    title_sort: str = ""
    responsibility: str = ""
    main_author: str = ""
    other_names: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)  # every valid ISBN, as ISBN-13 and ISBN-10
    isbn13: list[str] = field(default_factory=list)  # the match keys
    issns: list[str] = field(default_factory=list)
    publisher: str = ""
    place: str = ""
    year: int | None = None
    edition: str = ""
    language: str = ""
    subjects: list[str] = field(default_factory=list)
    ddc: str = ""
    physical: str = ""
    series: str = ""
    control_number: str = ""
    control_source: str = ""
    system_numbers: list[str] = field(default_factory=list)


def record_kind(leader: str) -> str:
    """bibliographic, authority or holdings, from leader/06."""
    kind = leader[6:7] if len(leader) > 6 else ""
    if kind in AUTHORITY_TYPES:
        return "authority"
    if kind in HOLDINGS_TYPES:
        return "holdings"
    return "bibliographic"


def material_type(leader: str) -> str:
    """Our material type from leader/06-07 (book, serial, map, score, sound, video, ...)."""
    rtype, level = leader[6:7], leader[7:8]
    if rtype in ("a", "t") and level in SERIAL_LEVELS:
        return "serial"
    return MATERIAL_BY_TYPE.get(rtype, "unknown")


def name_heading(value: Any) -> str:
    """A name field (1XX/7XX) as one heading: name, numeration, titles, dates, fuller form."""
    return join_subfields(value, "abcdq").rstrip(",")


def subject_heading(value: Any) -> str:
    """A subject or authority heading field in the catalog's form: "Topic -- subdivision -- place"."""
    parts: list[str] = []
    for sub in value.get("subfields", ()) if isinstance(value, dict) else ():
        for code, text in sub.items():
            text = strip_isbd(text)
            if not text:
                continue
            if code in SUBDIVISION_CODES and parts:
                parts.append(" -- " + text)
            elif code in "abcdgpqt" or not parts:
                parts.append((" " if parts else "") + text)
    return "".join(parts).strip()


class _Index:
    """A record's fields by tag, built once so extraction does not rescan the record per tag."""

    def __init__(self, record: MarcDict) -> None:
        self.by_tag: dict[str, list[tuple[int, Any]]] = {}
        for pos, entry in enumerate(record.get("fields", ())):
            for tag, value in entry.items():
                self.by_tag.setdefault(tag, []).append((pos, value))

    def values(self, *tags: str) -> list[Any]:
        """Values of these tags in record order."""
        if len(tags) == 1:
            return [v for _p, v in self.by_tag.get(tags[0], ())]
        found = [pair for tag in tags for pair in self.by_tag.get(tag, ())]
        found.sort(key=lambda pair: pair[0])
        return [v for _p, v in found]

    def tagged(self, *tags: str) -> list[tuple[str, Any]]:
        """(tag, value) of these tags in record order."""
        found = [(pos, tag, value) for tag in tags for pos, value in self.by_tag.get(tag, ())]
        found.sort(key=lambda triple: triple[0])
        return [(tag, value) for _p, tag, value in found]

    def first_value(self, *tags: str) -> Any:
        """The first value of these tags (None if none)."""
        found = self.values(*tags)
        return found[0] if found else None

    def control(self, tag: str) -> str:
        """The first control field ``tag`` ("" if absent)."""
        return next((v for v in self.values(tag) if isinstance(v, str)), "")

    def first(self, tag: str, code: str) -> str:
        """The first $code of the first ``tag`` that has it."""
        for value in self.values(tag):
            found = subfields(value, code)
            if found:
                return found[0]
        return ""


def extract(record: MarcDict) -> Extracted:
    """Every derived column of a record."""
    leader = record.get("leader", "") or ""
    out = Extracted(kind=record_kind(leader), material_type=material_type(leader))
    index = _Index(record)
    out.control_number = index.control("001").strip()
    out.control_source = index.control("003").strip()
    if out.kind == "authority":
        heading = index.first_value("100", "110", "111", "130", "150", "151", "155")
        if heading is not None:
            out.main_author = out.title = subject_heading(heading)
            out.title_sort = fold(out.title)[:200]
        return out
    fixed = index.control("008")
    lang = fixed[35:38].strip().lower() if len(fixed) >= 38 else ""
    if not LANGUAGE_CODE.fullmatch(lang) or lang in ("und", "zxx", "mul"):
        lang = strip_isbd(index.first("041", "a"))[:3].lower() or lang
    out.language = lang if LANGUAGE_CODE.fullmatch(lang or "") else ""
    title = index.first_value("245")
    if title is not None:
        out.title = join_subfields(title, "abfgknps")
        title_a = " ".join(subfields(title, "a")).strip()
        skip = int(title.get("ind2", "0")) if str(title.get("ind2", "")).isdigit() else 0
        out.title_sort = fold(title_a[skip:] + " " + " ".join(subfields(title, "bnp")))[:200]
        out.responsibility = join_subfields(title, "c")
    main = index.first_value(*NAME_TAGS_MAIN)
    if main is not None:
        out.main_author = name_heading(main)
    out.other_names = [n for v in index.values(*NAME_TAGS_ADDED) if (n := name_heading(v))]
    for value in index.values("020"):
        for raw in subfields(value, "a"):
            normal = normalise_isbn(raw)
            if normal and normal not in out.isbn13:
                out.isbn13.append(normal)
                out.isbns.extend(f for f in isbn_forms(normal) if f not in out.isbns)
    for value in index.values("022"):
        for raw in subfields(value, "a"):
            normal = normalise_issn(raw)
            if normal and normal not in out.issns:
                out.issns.append(normal)
    out.system_numbers = [" ".join(v.split()) for f in index.values("035") for v in subfields(f, "a") if v.strip()]
    _publication(index, out, fixed)
    out.edition = join_subfields(index.first_value("250"), "ab")
    out.subjects = list(dict.fromkeys(s for v in index.values(*SUBJECT_TAGS) if (s := subject_heading(v))))
    out.ddc = strip_isbd(index.first("082", "a")).replace("/", "").replace(" ", "")[:40]
    out.physical = join_subfields(index.first_value("300"), "abce")
    out.series = join_subfields(index.first_value("490", "440", "830"), "av")
    return out


def _publication(index: _Index, out: Extracted, fixed: str) -> None:
    """Publisher, place and year from 264 (2nd indicator 1, RDA) or 260, else 008/07-10."""
    chosen = None
    for tag, value in index.tagged("264", "260"):
        if tag == "264" and isinstance(value, dict) and value.get("ind2") not in ("1", " "):
            continue  # 264 with 2nd indicator 0, 2, 3, 4: production, distribution, manufacture, copyright
        chosen = value
        break
    if chosen is not None:
        out.place = strip_isbd(" ".join(subfields(chosen, "a")[:1])).strip("[]")
        out.publisher = strip_isbd(" ".join(subfields(chosen, "b")[:1]))
        out.year = year_of(" ".join(subfields(chosen, "c")))
    if out.year is None and len(fixed) >= 11:
        out.year = year_of(fixed[7:11])


# --- call numbers -----------------------------------------------------------------------------

def call_number_parts(ex: Extracted) -> tuple[str, str, str]:
    """The three-line Indonesian spine label: DDC class, author mark (3 letters), title letter."""
    heading = ex.main_author or ex.title_sort or ex.title
    letters = re.sub(r"[^A-Za-z]", "", unicodedata.normalize("NFKD", heading))
    author_mark = letters[:3].upper()
    title_letters = re.sub(r"[^a-z]", "", ex.title_sort) if ex.title_sort else ""
    return (ex.ddc, author_mark, title_letters[:1])
