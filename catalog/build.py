"""The quick cataloguing form as data, and the valid MARC21 record it produces.

A teacher running a school library fills in title, authors, publisher, year...; this module writes
the leader, 008, 020, 040, 041, 082, 1XX/7XX, 245 (with the non-filing indicator), 250, 264, 300,
336-338, 490, 500 and 650 so that nobody has to see MARC. Pure: no database, no pymarc, no Flask.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from catalog.bib import MarcDict, fields, first, nonfiling_length, normalise_isbn, strip_isbd, subfields

# Place of publication -> MARC country code (008/15-17). Unknown places get "xx ".
COUNTRY_BY_PLACE = {
    **{city: "io " for city in (
        "jakarta", "bandung", "yogyakarta", "surabaya", "semarang", "malang", "solo", "surakarta", "medan",
        "makassar", "denpasar", "bogor", "depok", "tangerang", "bekasi", "padang", "palembang", "samarinda",
        "balikpapan", "bontang", "banjarmasin", "pontianak", "manado", "kupang", "ambon", "jayapura",
        "pekanbaru", "banda aceh", "mataram", "tenggarong", "sangatta", "tarakan", "klaten", "sleman",
        "salatiga", "kudus", "bantul", "cirebon", "serang", "jember", "sidoarjo", "gresik", "indonesia")},
    "london": "enk", "oxford": "enk", "cambridge": "enk", "new york": "nyu", "boston": "mau",
    "chicago": "ilu", "san francisco": "cau", "los angeles": "cau", "singapore": "si ", "singapura": "si ",
    "kuala lumpur": "my ", "leiden": "ne ", "amsterdam": "ne ", "den haag": "ne ", "sydney": "at ",
    "melbourne": "at ", "tokyo": "ja ", "paris": "fr ", "berlin": "gw ", "cairo": "ua ", "kairo": "ua ",
}
AUDIENCE_CODES = {"anak": "j", "remaja": "d", "umum": "e", "": " "}
LANGUAGES = ("ind", "eng", "jav", "sun", "mad", "bug", "ban", "min", "ara", "dut", "chi", "jpn", "may")


@dataclass
class QuickEntry:
    """What the quick form asks for; authors as "Surname, Forename" (or one name), main author first."""

    title: str
    subtitle: str = ""
    authors: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    corporate_author: str = ""
    responsibility: str = ""  # as on the title page; generated from the names when blank
    publisher: str = ""
    place: str = ""
    year: int | None = None
    edition: str = ""
    isbn: str = ""
    pages: int | None = None
    illustrations: bool = False
    height_cm: int | None = None
    language: str = "ind"
    subjects: list[str] = field(default_factory=list)
    ddc: str = ""
    series: str = ""
    series_number: str = ""
    notes: str = ""
    serial: bool = False
    audience: str = ""
    fiction: bool = False


def direct_order(name: str) -> str:
    """ "Hirata, Andrea" -> "Andrea Hirata" (statement of responsibility order)."""
    if "," in name:
        surname, _, forename = name.partition(",")
        return f"{forename.strip()} {surname.strip()}".strip()
    return name.strip()


def _name_field(tag_base: str, name: str, relator: str = "") -> dict[str, Any]:
    """A 100/700 field: first indicator 1 for "Surname, Forename", 0 for a single (forename) name."""
    name = " ".join(name.split())
    subs: list[dict[str, str]] = [{"a": name + ("," if relator else ("" if name.endswith(".") else "."))}]
    if relator:
        subs.append({"e": relator + "."})
    return {tag_base: {"ind1": "1" if "," in name else "0", "ind2": " ", "subfields": subs}}


def _field(tag: str, ind1: str, ind2: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    return {tag: {"ind1": ind1, "ind2": ind2, "subfields": [{c: v} for c, v in pairs if v]}}


def _fixed_008(entry: QuickEntry, today: date) -> str:
    """40 characters: 00-17 common, 18-34 for books or continuing resources, 35-39 language etc."""
    year = f"{entry.year:04d}" if entry.year else "uuuu"
    place = COUNTRY_BY_PLACE.get(entry.place.strip().casefold(), "xx ")
    if entry.serial:
        head = f"{today:%y%m%d}c{year}9999{place}"
        middle = "   p" + "   " + "   " + " 0" + "   " + " 0"  # 18-34: periodical, no conference
    else:
        head = f"{today:%y%m%d}s{year}    {place}"
        illus = "a   " if entry.illustrations else "    "
        audience = AUDIENCE_CODES.get(entry.audience, " ")
        middle = f"{illus}{audience} " + "    " + " 000 " + ("1" if entry.fiction else "0") + " "
    language = (entry.language or "und")[:3].ljust(3)
    fixed = head + middle + language + " d"
    assert len(fixed) == 40, fixed
    return fixed


def build(entry: QuickEntry, *, org_code: str, today: date, control_number: str = "") -> MarcDict:
    """A complete MARC21 bibliographic record (MARC-in-JSON) from the quick form."""
    level = "s" if entry.serial else "m"
    record: MarcDict = {"leader": f"00000na{level} a2200000 i 4500", "fields": []}
    out = record["fields"]
    if control_number:
        out += [{"001": control_number}, {"003": org_code}]
    out.append({"008": _fixed_008(entry, today)})
    isbn13 = normalise_isbn(entry.isbn) if entry.isbn else None
    if isbn13:
        out.append(_field("020", " ", " ", ("a", isbn13)))
    elif entry.isbn.strip():
        out.append(_field("020", " ", " ", ("z", entry.isbn.strip())))
    out.append(_field("040", " ", " ", ("a", org_code), ("b", "ind"), ("c", org_code), ("e", "rda")))
    out.append(_field("041", "0", " ", ("a", entry.language or "und")))
    if entry.ddc.strip():
        out.append(_field("082", "0", "4", ("a", entry.ddc.strip()), ("2", "23")))
    main = entry.authors[0] if entry.authors else ""
    if main:
        out.append(_name_field("100", main))
    elif entry.corporate_author.strip():
        out.append(_field("110", "2", " ", ("a", entry.corporate_author.strip() + ".")))
    out.append(_title_field(entry, has_main=bool(main or entry.corporate_author.strip())))
    if entry.edition.strip():
        out.append(_field("250", " ", " ", ("a", strip_isbd(entry.edition) + ".")))
    out.append(_publication_field(entry))
    out.append(_physical_field(entry))
    out += [_field("336", " ", " ", ("a", "teks"), ("b", "txt"), ("2", "rdacontent")),
            _field("337", " ", " ", ("a", "tanpa perantara"), ("b", "n"), ("2", "rdamedia")),
            _field("338", " ", " ", ("a", "volume"), ("b", "nc"), ("2", "rdacarrier"))]
    if entry.series.strip():
        series = strip_isbd(entry.series)
        number = entry.series_number.strip()
        out.append(_field("490", "0", " ", ("a", series + (" ;" if number else "")), ("v", number)))
    if entry.notes.strip():
        out.append(_field("500", " ", " ", ("a", strip_isbd(entry.notes) + ".")))
    for subject in entry.subjects:
        parts = [p.strip() for p in subject.split("--") if p.strip()]
        if parts:
            out.append(_field("650", " ", "4", ("a", parts[0]), *[("x", p) for p in parts[1:]]))
    for name in entry.authors[1:]:
        out.append(_name_field("700", name))
    for name in entry.editors:
        out.append(_name_field("700", name, "editor"))
    if main and entry.corporate_author.strip():
        out.append(_field("710", "2", " ", ("a", entry.corporate_author.strip() + ".")))
    return record


def _title_field(entry: QuickEntry, *, has_main: bool) -> dict[str, Any]:
    title = " ".join(entry.title.split())
    subtitle = " ".join(entry.subtitle.split())
    names = [direct_order(n) for n in entry.authors] or ([entry.corporate_author.strip()]
                                                         if entry.corporate_author.strip() else [])
    responsibility = entry.responsibility.strip() or ", ".join(names)
    if entry.editors and not entry.responsibility.strip():
        eds = ", ".join(direct_order(n) for n in entry.editors)
        responsibility = "; ".join(p for p in (responsibility, f"editor, {eds}") if p)
    a = title + (" :" if subtitle else (" /" if responsibility else "."))
    b = (subtitle + (" /" if responsibility else ".")) if subtitle else ""
    c = (responsibility.rstrip(".") + ".") if responsibility else ""
    skip = nonfiling_length(title, entry.language)
    return _field("245", "1" if has_main else "0", str(skip), ("a", a), ("b", b), ("c", c))


def _publication_field(entry: QuickEntry) -> dict[str, Any]:
    place = entry.place.strip() or "[Tempat terbit tidak diketahui]"
    publisher = entry.publisher.strip() or "[Penerbit tidak diketahui]"
    year = str(entry.year) if entry.year else "[Tahun terbit tidak diketahui]"
    return _field("264", " ", "1", ("a", place + " :"), ("b", publisher + ","), ("c", year + "."))


def _physical_field(entry: QuickEntry) -> dict[str, Any]:
    extent = f"{entry.pages} halaman" if entry.pages else "1 jilid"
    pairs = [("a", extent + (" :" if entry.illustrations else (" ;" if entry.height_cm else "")))]
    if entry.illustrations:
        pairs.append(("b", "ilustrasi" + (" ;" if entry.height_cm else "")))
    if entry.height_cm:
        pairs.append(("c", f"{entry.height_cm} cm"))
    return _field("300", " ", " ", *pairs)


def entry_from_record(record: MarcDict) -> QuickEntry:
    """The quick-form values of an existing record (for copy cataloguing and light edits)."""
    title_a = strip_isbd(first(record, "245", "a"))
    entry = QuickEntry(title=title_a, subtitle=strip_isbd(first(record, "245", "b")),
                       responsibility=strip_isbd(first(record, "245", "c")))
    entry.authors = [strip_isbd(v) for t, f in fields(record, "100", "700")
                     for v in subfields(f, "a")[:1] if "editor" not in " ".join(subfields(f, "e"))]
    entry.editors = [strip_isbd(v) for t, f in fields(record, "700")
                     for v in subfields(f, "a")[:1] if "editor" in " ".join(subfields(f, "e"))]
    entry.corporate_author = strip_isbd(first(record, "110", "a"))
    for tag in ("264", "260"):
        if first(record, tag, "a") or first(record, tag, "b"):
            place, publisher = strip_isbd(first(record, tag, "a")), strip_isbd(first(record, tag, "b"))
            # build() writes "[... tidak diketahui]" for blanks; they stay blank in the form.
            entry.place = "" if place.startswith("[") and place.endswith("]") else place
            entry.publisher = "" if publisher.startswith("[") and publisher.endswith("]") else publisher
            match = re.search(r"\d{4}", first(record, tag, "c"))
            entry.year = int(match.group()) if match else None
            break
    entry.edition = strip_isbd(first(record, "250", "a"))
    entry.isbn = first(record, "020", "a").split(" ")[0]
    pages = re.search(r"(\d+)\s*(halaman|hlm|pages|p\.)", first(record, "300", "a"))
    entry.pages = int(pages.group(1)) if pages else None
    entry.illustrations = bool(first(record, "300", "b"))
    height = re.search(r"(\d+)\s*cm", first(record, "300", "c"))
    entry.height_cm = int(height.group(1)) if height else None
    fixed = next((v for _t, v in fields(record, "008") if isinstance(v, str)), "")
    entry.language = fixed[35:38] if len(fixed) >= 38 and fixed[35:38].strip() else strip_isbd(
        first(record, "041", "a"))[:3] or "ind"
    entry.subjects = [" -- ".join(strip_isbd(s) for s in subfields(f, "axyz")) for _t, f in fields(record, "650")]
    entry.ddc = strip_isbd(first(record, "082", "a"))
    entry.series = strip_isbd(first(record, "490", "a"))
    entry.series_number = strip_isbd(first(record, "490", "v"))
    entry.notes = strip_isbd(first(record, "500", "a"))
    entry.serial = (record.get("leader") or "")[7:8] == "s"
    if len(fixed) == 40 and not entry.serial:
        entry.audience = {code: name for name, code in AUDIENCE_CODES.items()}.get(fixed[22], "")
        entry.fiction = fixed[33] == "1"
    return entry
