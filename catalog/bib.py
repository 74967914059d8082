"""MARC records as MARC-in-JSON dicts: reading fields, extracting columns, matching keys, call numbers.

Pure functions over the dict form ``{"leader": str, "fields": [{"001": "..."}, {"245": {"ind1":
"1", "ind2": "0", "subfields": [{"a": "..."}]}}]}`` that catalog.marc produces from every input
format. Nothing here touches pymarc, the database or Flask, so it is fast and easy to test.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from stdnum import issn as stdnum_issn

MarcDict = dict[str, Any]

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

# Non-filing articles by MARC language code (data, not code: add a language by adding a row).
# Indonesian has no grammatical articles; "si" and "sang" are the kata sandang treated as such.
ARTICLES: dict[str, tuple[str, ...]] = {
    "eng": ("the ", "a ", "an "),
    "ind": ("si ", "sang "),
    "may": ("si ", "sang "),
    "dut": ("de ", "het ", "een ", "'t "),
    "ger": ("der ", "die ", "das ", "ein ", "eine "),
    "fre": ("le ", "la ", "les ", "l'", "un ", "une "),
    "spa": ("el ", "la ", "los ", "las ", "un ", "una "),
    "ita": ("il ", "lo ", "la ", "i ", "gli ", "le ", "l'", "un ", "una "),
    "ara": ("al-", "el-"),
}
LEADING_PUNCTUATION = "\"'([{¿¡«"
SUBJECT_TAGS = ("600", "610", "611", "630", "647", "648", "650", "651", "653", "655")
SUBDIVISION_CODES = "vxyz"
NAME_TAGS_MAIN = ("100", "110", "111")
NAME_TAGS_ADDED = ("700", "710", "711", "720")
ISBD_TRAILING = " /:;,=.+"
ISBN_CANDIDATE = re.compile(r"\s*([0-9][0-9 -]{8,16}[0-9Xx])")
LEADER_SIGNATURE = re.compile(rb"\d{5}[acdnp][a-z][a-z ]{2}[ a]22\d{5}[ 0-9A-Za-z]{3}4500")


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


# --- normalisation ----------------------------------------------------------------------------

_ASCII_FOLD = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def fold(text: str) -> str:
    """Lower case without accents or punctuation, single spaces (for sorting and matching)."""
    if text.isascii():  # most titles: no decomposition needed
        return " ".join(text.lower().translate(_ASCII_FOLD).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(kept.split())


def nonfiling_length(title: str, language: str) -> int:
    """How many leading characters of a title do not file (245 2nd indicator), 0-9."""
    lead = len(title) - len(title.lstrip(LEADING_PUNCTUATION))
    rest = title[lead:].casefold()
    for article in ARTICLES.get(language, ()):
        if rest.startswith(article) and len(rest) > len(article):
            return min(9, lead + len(article))
    return min(9, lead)


def _check13(digits12: str) -> str:
    return str((10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits12)) % 10) % 10)


def _check10(digits9: str) -> str:
    remainder = (11 - sum(int(c) * (10 - i) for i, c in enumerate(digits9)) % 11) % 11
    return "X" if remainder == 10 else str(remainder)


@lru_cache(maxsize=4096)
def normalise_isbn(text: str) -> str | None:
    """ISBN-13 for an ISBN-10 or -13 with a correct check digit (qualifiers ignored), else None.

    The check digits are computed here rather than with python-stdnum: imports check every ISBN of
    every record, and this is twenty times faster (tests compare the two on random numbers).
    """
    match = ISBN_CANDIDATE.match(text or "")
    if not match:
        return None
    compact = match.group(1).replace("-", "").replace(" ", "").upper()
    if len(compact) == 13 and compact.isdigit() and compact[:3] in ("978", "979"):
        return compact if compact[12] == _check13(compact[:12]) else None
    if len(compact) == 10 and compact[:9].isdigit() and compact[9] == _check10(compact[:9]):
        return "978" + compact[:9] + _check13("978" + compact[:9])
    return None


def isbn_forms(isbn13: str) -> list[str]:
    """An ISBN-13 and, for 978 ISBNs, its ISBN-10 (what patrons may type)."""
    if isbn13.startswith("978"):
        return [isbn13, isbn13[3:12] + _check10(isbn13[3:12])]
    return [isbn13]


def normalise_issn(text: str) -> str | None:
    """An ISSN as NNNN-NNNC if its check digit is right, else None."""
    match = re.match(r"\s*(\d{4}-?\d{3}[\dXx])", text or "")
    if not match or not stdnum_issn.is_valid(match.group(1)):
        return None
    return stdnum_issn.format(match.group(1)).upper()


def year_of(text: str) -> int | None:
    """The first plausible year (1000-2099) in a date statement such as "c2019" or "[2020?]"."""
    match = re.search(r"(?<!\d)(1\d{3}|20\d{2})(?!\d)", text or "")
    return int(match.group(1)) if match else None


# --- extraction -------------------------------------------------------------------------------

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


def _name(value: Any) -> str:
    return join_subfields(value, "abcdq").rstrip(",")


def _subject(value: Any) -> str:
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


LANGUAGE_CODE = re.compile(r"[a-z]{3}")


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
            out.main_author = out.title = _subject(heading)
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
        out.main_author = _name(main)
    out.other_names = [n for v in index.values(*NAME_TAGS_ADDED) if (n := _name(v))]
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
    out.subjects = list(dict.fromkeys(s for v in index.values(*SUBJECT_TAGS) if (s := _subject(v))))
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


# --- matching keys ----------------------------------------------------------------------------

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


# --- call numbers -----------------------------------------------------------------------------

def call_number_parts(ex: Extracted) -> tuple[str, str, str]:
    """The three-line Indonesian spine label: DDC class, author mark (3 letters), title letter."""
    heading = ex.main_author or ex.title_sort or ex.title
    letters = re.sub(r"[^A-Za-z]", "", unicodedata.normalize("NFKD", heading))
    author_mark = letters[:3].upper()
    title_letters = re.sub(r"[^a-z]", "", ex.title_sort) if ex.title_sort else ""
    return (ex.ddc, author_mark, title_letters[:1])


# --- MARCMaker-style text (the MARC editor's text form, .mrk files) ----------------------------

MNEMONICS = {"dollar": "$", "lcub": "{", "rcub": "}", "bsol": "\\", "esc": "", "joiner": "\u200d",
             "nonjoin": "\u200c", "copy": "©", "reg": "®", "deg": "°"}
MNEMONIC_LINE = re.compile(r"^=(\w{3})  ?(.*)$")


def _unmnemonic(text: str) -> str:
    return re.sub(r"\{([a-z]+)\}", lambda m: MNEMONICS.get(m.group(1), m.group(0)), text)


def _mnemonic(text: str) -> str:
    return re.sub(r"[{}$]", lambda m: {"{": "{lcub}", "}": "{rcub}", "$": "{dollar}"}[m.group()], text)


def to_mnemonic(record: MarcDict) -> list[str]:
    """A record as lines like "=245  10$aTitle" ("\\" for a blank indicator or fixed-field space)."""
    lines = [f"=LDR  {(record.get('leader') or '').replace(' ', chr(92))}"]
    for tag, value in fields(record):
        if isinstance(value, dict):
            ind = (value.get("ind1") or " ").replace(" ", "\\") + (value.get("ind2") or " ").replace(" ", "\\")
            subs = "".join(f"${c}{_mnemonic(v)}" for s in value.get("subfields", ()) for c, v in s.items())
            lines.append(f"={tag}  {ind}{subs}")
        else:
            lines.append(f"={tag}  {_mnemonic(value).replace(' ', chr(92))}")
    return lines


def from_mnemonic(text: str) -> tuple[MarcDict, list[int]]:
    """Parse MARCMaker-style lines; returns the record and the numbers of lines that are not fields."""
    leader, out, bad = "", [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        match = MNEMONIC_LINE.match(line)
        if not match:
            bad.append(number)
            continue
        tag, body = match.groups()
        if tag == "LDR":
            leader = body.replace("\\", " ")
        elif tag < "010" and tag.isdigit():
            out.append({tag: _unmnemonic(body.replace("\\", " "))})
        else:
            indicators = body[:2].replace("\\", " ").ljust(2)
            subs = [{part[0]: _unmnemonic(part[1:])} for part in body[2:].split("$") if part]
            out.append({tag: {"ind1": indicators[0], "ind2": indicators[1], "subfields": subs}})
    return {"leader": leader.ljust(24)[:24], "fields": out}, bad
