"""MARC without the database: the quick form's record (build), extracted columns, validation, and the
readers of catalog.marc on small generated input and on the real-world files in ../shared/data/marc.
"""
from __future__ import annotations

import copy
import io
import json
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from catalog import marc
from catalog.bib import extract, fields, subfields
from catalog.build import QuickEntry, build, entry_from_record
from catalog.validation import MESSAGES, Issue, describe, errors, validate

MARC_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "marc"
TODAY = date(2026, 1, 15)
ORG = "IdBtgDPK"
LASKAR_ISBN10 = "979-3062-79-7"  # Laskar Pelangi (Bentang, 2008), as printed on the book


# --- helpers (independent of the code under test) -----------------------------------------------

def isbn10_is_valid(text: str) -> bool:
    """ISBN-10 check: the weighted sum 10..1 is a multiple of 11 (X = 10)."""
    digits = text.replace("-", "").replace(" ", "")
    values = [10 if c in "Xx" else int(c) for c in digits]
    return len(values) == 10 and sum((10 - i) * v for i, v in enumerate(values)) % 11 == 0


def isbn13_from_isbn10(text: str) -> str:
    """978 + the first nine digits + the EAN-13 check digit (weights 1, 3, 1, 3 ...)."""
    core = "978" + text.replace("-", "").replace(" ", "")[:9]
    total = sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(core))
    return core + str((10 - total % 10) % 10)


def rec(leader: str, *entries: dict[str, Any]) -> dict[str, Any]:
    """A MARC-in-JSON dict."""
    return {"leader": leader, "fields": list(entries)}


def df(tag: str, ind1: str, ind2: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    """A data field."""
    return {tag: {"ind1": ind1, "ind2": ind2, "subfields": [{c: v} for c, v in pairs]}}


def only(record: dict[str, Any], tag: str) -> dict[str, Any]:
    """The single field ``tag`` of a record (fails if there is not exactly one)."""
    found = [value for _t, value in fields(record, tag)]
    assert len(found) == 1, (tag, found)
    return found[0]


def sub(record: dict[str, Any], tag: str, code: str) -> list[str]:
    """Every $code of the single field ``tag``."""
    return subfields(only(record, tag), code)


def full_entry(**overrides: Any) -> QuickEntry:
    """A realistic quick-form entry using every field."""
    values: dict[str, Any] = dict(
        title="Laskar pelangi", subtitle="sebuah novel", authors=["Hirata, Andrea"], editors=["Santoso, Budi"],
        publisher="Bentang", place="Yogyakarta", year=2008, edition="Edisi revisi", isbn=LASKAR_ISBN10,
        pages=529, illustrations=True, height_cm=20, language="ind", subjects=["Fiksi Indonesia -- Belitung"],
        ddc="899.2213", series="Tetralogi Laskar Pelangi", series_number="1", notes="Novel pertama dari tetralogi")
    values.update(overrides)
    return QuickEntry(**values)


BIB_LEADER = "00000nam a2200000 i 4500"


# --- build() ------------------------------------------------------------------------------------

def test_build_leader_and_008() -> None:
    """Leader 24 characters, a book (a/m); 008 has 40 characters, the year at 07-10 and the language at 35-37."""
    record = build(full_entry(), org_code=ORG, today=TODAY)
    leader = record["leader"]
    assert len(leader) == 24 and leader[6] == "a" and leader[7] == "m"
    fixed = only(record, "008")
    assert isinstance(fixed, str) and len(fixed) == 40
    assert fixed[0:6] == "260115"  # date entered on file: the ``today`` given
    assert fixed[7:11] == "2008" and fixed[35:38] == "ind"
    assert fixed[15:18] == "io "  # Yogyakarta is in Indonesia

    serial = build(full_entry(serial=True, language="eng", year=None), org_code=ORG, today=TODAY)
    assert serial["leader"][7] == "s"
    fixed = only(serial, "008")
    assert len(fixed) == 40 and fixed[7:11] == "uuuu" and fixed[35:38] == "eng"


def test_build_isbn_is_normalised_to_isbn13() -> None:
    """A hyphenated ISBN-10 is stored as the ISBN-13 in 020 $a; a wrong one goes to 020 $z."""
    assert isbn10_is_valid(LASKAR_ISBN10)
    record = build(full_entry(), org_code=ORG, today=TODAY)
    assert sub(record, "020", "a") == [isbn13_from_isbn10(LASKAR_ISBN10)]

    wrong = "979-3062-79-8"
    assert not isbn10_is_valid(wrong)
    record = build(full_entry(isbn=wrong), org_code=ORG, today=TODAY)
    assert sub(record, "020", "a") == [] and sub(record, "020", "z") == [wrong]


def test_build_writes_the_expected_fields() -> None:
    """040/041/082/100/245/250/264/300/336-338/490/500/650/700 hold the form's values."""
    record = build(full_entry(), org_code=ORG, today=TODAY)
    tags = [next(iter(f)) for f in record["fields"]]
    for tag in ("008", "020", "040", "041", "082", "100", "245", "250", "264", "300", "336", "337", "338", "490",
                "500", "650", "700"):
        assert tag in tags, tag
    assert tags == sorted(tags), "fields are in tag order"
    assert sub(record, "040", "a") == [ORG] and sub(record, "040", "b") == ["ind"] and sub(record, "040", "e") == ["rda"]
    assert sub(record, "041", "a") == ["ind"]
    assert sub(record, "082", "a") == ["899.2213"]
    assert sub(record, "100", "a")[0].startswith("Hirata, Andrea") and only(record, "100")["ind1"] == "1"
    f245 = only(record, "245")
    assert f245["subfields"][0]["a"].startswith("Laskar pelangi")
    assert subfields(f245, "b")[0].startswith("sebuah novel")
    assert "Andrea Hirata" in subfields(f245, "c")[0]
    assert sub(record, "250", "a")[0].startswith("Edisi revisi")
    f264 = only(record, "264")
    assert f264["ind2"] == "1"
    assert subfields(f264, "a")[0].startswith("Yogyakarta") and subfields(f264, "b")[0].startswith("Bentang")
    assert "2008" in subfields(f264, "c")[0]
    assert sub(record, "300", "a")[0].startswith("529") and sub(record, "300", "b") and sub(record, "300", "c") == ["20 cm"]
    assert sub(record, "336", "2") == ["rdacontent"] and sub(record, "336", "b") == ["txt"]
    assert sub(record, "337", "2") == ["rdamedia"] and sub(record, "337", "b") == ["n"]
    assert sub(record, "338", "2") == ["rdacarrier"] and sub(record, "338", "b") == ["nc"]
    assert sub(record, "490", "a")[0].startswith("Tetralogi Laskar Pelangi") and sub(record, "490", "v") == ["1"]
    assert sub(record, "500", "a")[0].startswith("Novel pertama")
    f650 = only(record, "650")
    assert subfields(f650, "a") == ["Fiksi Indonesia"] and subfields(f650, "x") == ["Belitung"]
    f700 = only(record, "700")
    assert subfields(f700, "a")[0].startswith("Santoso, Budi") and "editor" in subfields(f700, "e")[0]


def test_build_minimal_entry() -> None:
    """A title alone gives a valid record without empty optional fields."""
    record = build(QuickEntry(title="Buku tanpa keterangan"), org_code=ORG, today=TODAY)
    tags = {next(iter(f)) for f in record["fields"]}
    assert not tags & {"020", "082", "100", "110", "250", "490", "500", "650", "700"}
    assert only(record, "245")["ind1"] == "0"
    assert errors(record) == []


def test_build_245_first_indicator() -> None:
    """245 ind1 is 1 when there is a main entry (person or organisation), 0 without."""
    with_author = build(QuickEntry(title="Ronggeng Dukuh Paruk", authors=["Tohari, Ahmad"]), org_code=ORG, today=TODAY)
    corporate = build(QuickEntry(title="Laporan tahunan", corporate_author="Dinas Perpustakaan Kota Bontang"),
                      org_code=ORG, today=TODAY)
    without = build(QuickEntry(title="Cerita rakyat Kalimantan Timur"), org_code=ORG, today=TODAY)
    assert only(with_author, "245")["ind1"] == "1"
    assert only(corporate, "245")["ind1"] == "1" and sub(corporate, "110", "a")
    assert only(without, "245")["ind1"] == "0"


@pytest.mark.parametrize("title, language, skip", [
    ("The Old Man and the Sea", "eng", "4"),
    ("Si Kancil dan buaya", "ind", "3"),
    ("Laskar pelangi", "ind", "0"),
    ("The Old Man and the Sea", "ind", "0"),  # articles are per language
])
def test_build_245_nonfiling_indicator(title: str, language: str, skip: str) -> None:
    """245 ind2 counts the article's characters for the record's language."""
    record = build(QuickEntry(title=title, language=language), org_code=ORG, today=TODAY)
    assert only(record, "245")["ind2"] == skip
    assert extract(record).title_sort.startswith(title[int(skip):].casefold())


def test_build_gives_a_record_without_issues() -> None:
    """validate() finds nothing in the quick form's records (not even warnings)."""
    for entry in (full_entry(), full_entry(serial=True), QuickEntry(title="Si Kancil", language="ind"),
                  QuickEntry(title="Laporan", corporate_author="DPK Bontang", authors=["Sukarno"])):
        assert validate(build(entry, org_code=ORG, today=TODAY)) == [], entry


def test_entry_from_record_round_trips_the_main_fields() -> None:
    """The quick form re-opened on its own record shows what was entered."""
    entry = full_entry()
    back = entry_from_record(build(entry, org_code=ORG, today=TODAY))
    for name in ("title", "subtitle", "authors", "editors", "publisher", "place", "year", "edition", "pages",
                 "illustrations", "language", "subjects", "ddc", "series", "series_number", "notes", "serial"):
        assert getattr(back, name) == getattr(entry, name), name
    assert back.isbn == isbn13_from_isbn10(entry.isbn)
    serial = entry_from_record(build(full_entry(serial=True, language="eng"), org_code=ORG, today=TODAY))
    assert serial.serial is True and serial.language == "eng"


def test_entry_from_record_keeps_the_height() -> None:
    """The height (300 $c "20 cm") comes back into the form."""
    back = entry_from_record(build(full_entry(height_cm=20), org_code=ORG, today=TODAY))
    assert back.height_cm == 20


@pytest.mark.parametrize("edition", ["Cetakan ke-5", "Edisi 2"])
def test_edition_ending_in_a_number_round_trips(edition: str) -> None:
    """250 $a "Cetakan ke-5." reads back as "Cetakan ke-5" (the period is ISBD punctuation)."""
    record = build(full_entry(edition=edition), org_code=ORG, today=TODAY)
    assert entry_from_record(record).edition == edition
    assert extract(record).edition == edition


def test_title_ending_in_a_number_has_no_trailing_period() -> None:
    """A title without responsibility ("Matematika kelas 5.") is extracted without the ISBD period."""
    record = build(QuickEntry(title="Matematika kelas 5"), org_code=ORG, today=TODAY)
    assert extract(record).title == "Matematika kelas 5"


def test_entry_from_record_blank_publication_stays_blank() -> None:
    """Unknown place and publisher are written as bracketed placeholders and come back blank."""
    back = entry_from_record(build(QuickEntry(title="Tanpa penerbit"), org_code=ORG, today=TODAY))
    assert (back.place, back.publisher, back.year) == ("", "", None)


# --- extract() ----------------------------------------------------------------------------------

F008_ENG = "850101s1952    nyu           000 1 eng d"


def hemingway(**kw: Any) -> dict[str, Any]:
    """A typical LC-style record."""
    return rec(kw.get("leader", "00000cam a2200000 a 4500"),
               {"001": "52012345"}, {"008": kw.get("f008", F008_ENG)},
               df("020", " ", " ", ("a", "0-684-80122-1 (pbk.)")),
               df("100", "1", " ", ("a", "Hemingway, Ernest,"), ("d", "1899-1961.")),
               df("245", "1", "4", ("a", "The old man and the sea /"), ("c", "Ernest Hemingway.")),
               df("260", " ", " ", ("a", "New York :"), ("b", "Scribner,"), ("c", "c1952.")),
               df("650", " ", "0", ("a", "Fishers"), ("z", "Cuba"), ("v", "Fiction.")),
               df("700", "1", " ", ("a", "Baker, Carlos.")))


def test_extract_title_author_and_sort() -> None:
    """Title without ISBD punctuation, title_sort without the non-filing article, the main author."""
    ex = extract(hemingway())
    assert ex.kind == "bibliographic" and ex.material_type == "book"
    assert ex.title == "The old man and the sea"
    assert ex.title_sort.startswith("old man and the sea") and "the old" not in ex.title_sort
    assert ex.responsibility == "Ernest Hemingway"
    assert ex.main_author == "Hemingway, Ernest, 1899-1961"
    assert ex.other_names == ["Baker, Carlos"]
    assert ex.subjects == ["Fishers -- Cuba -- Fiction"]
    assert (ex.place, ex.publisher, ex.year) == ("New York", "Scribner", 1952)
    assert ex.language == "eng" and ex.control_number == "52012345"


def test_extract_isbns_in_both_forms() -> None:
    """Every valid ISBN as ISBN-13 and ISBN-10; 979 ISBNs have no ISBN-10; bad ones are left out."""
    record = hemingway()
    record["fields"].append(df("020", " ", " ", ("a", "9791234567896")))  # 979 prefix, valid check digit
    record["fields"].append(df("020", " ", " ", ("a", "0-684-80122-2")))  # wrong check digit
    record["fields"].append(df("020", " ", " ", ("z", "0684801221")))  # cancelled: not a key
    ex = extract(record)
    isbn13 = isbn13_from_isbn10("0-684-80122-1")
    assert ex.isbn13 == [isbn13, "9791234567896"]
    assert set(ex.isbns) == {isbn13, "0684801221", "9791234567896"}


@pytest.mark.parametrize("raw, expected", [
    ("0317-8471", "0317-8471"), ("03178471", "0317-8471"), ("2434-561x", "2434-561X"),
    ("0317-8471 (Print)", "0317-8471"), ("0317-8472", None),
])
def test_extract_issn_normalised(raw: str, expected: str | None) -> None:
    """ISSNs come out as NNNN-NNNC with an upper-case X; a wrong check digit is dropped."""
    record = rec("00000cas a2200000 a 4500", df("022", " ", " ", ("a", raw)),
                 df("245", "0", "0", ("a", "Majalah")))
    assert extract(record).issns == ([expected] if expected else [])


def test_extract_year_from_264_260_and_008() -> None:
    """264 _1 (not the copyright 264 _4), else 260, else 008/07-10."""
    f008 = "200101s2017    io            000 0 ind d"
    base = [{"008": f008}, df("245", "0", "0", ("a", "Judul"))]
    rda = rec(BIB_LEADER, *base, df("264", " ", "4", ("c", "©2018")), df("264", " ", "1", ("a", "Bontang :"),
                                                                        ("b", "DPK,"), ("c", "[2019?]")))
    assert extract(rda).year == 2019 and extract(rda).place == "Bontang"
    aacr = rec(BIB_LEADER, *base, df("260", " ", " ", ("c", "c1999.")))
    assert extract(aacr).year == 1999
    neither = rec(BIB_LEADER, *base, df("260", " ", " ", ("b", "Tanpa tahun")))
    assert extract(neither).year == 2017
    unknown = rec(BIB_LEADER, {"008": f008[:7] + "19uu" + f008[11:]}, df("245", "0", "0", ("a", "Judul")))
    assert extract(unknown).year is None


def test_extract_language_from_008_or_041() -> None:
    """008/35-37, or 041 $a when 008 is too short (collapsed whitespace) or says und."""
    assert extract(hemingway()).language == "eng"
    short = hemingway(f008="850101s1952 nyu 000 1 eng d")  # collapsed, as in Evergreen demo data
    assert extract(short).language == ""
    short["fields"].append(df("041", "0", " ", ("a", "fre")))
    assert extract(short).language == "fre"
    und = hemingway(f008=F008_ENG[:35] + "und" + F008_ENG[38:])
    und["fields"].append(df("041", "1", " ", ("a", "ger"), ("h", "eng")))
    assert extract(und).language == "ger"


@pytest.mark.parametrize("type_level, material", [
    ("am", "book"), ("as", "serial"), ("ai", "serial"), ("em", "map"), ("cm", "score"), ("jm", "music"),
    ("gm", "video"), ("mm", "electronic"), ("im", "sound"), ("km", "image"), ("  ", "unknown"),
])
def test_extract_material_type(type_level: str, material: str) -> None:
    """Leader/06-07 decide the material type."""
    leader = f"00000n{type_level} a2200000 a 4500"
    ex = extract(rec(leader, df("245", "0", "0", ("a", "X"))))
    assert ex.material_type == material and ex.kind == "bibliographic"


@pytest.mark.parametrize("rtype, kind", [("z", "authority"), ("x", "holdings"), ("y", "holdings"),
                                         ("u", "holdings"), ("a", "bibliographic")])
def test_extract_kind(rtype: str, kind: str) -> None:
    """Leader/06 z is an authority record, u/v/x/y holdings, the rest bibliographic."""
    record = rec(f"00000n{rtype}  a2200000n  4500", df("100", "1", " ", ("a", "Hirata, Andrea")))
    ex = extract(record)
    assert ex.kind == kind
    if kind == "authority":
        assert ex.title == "Hirata, Andrea" and ex.title_sort == "hirata andrea"


# --- validation -----------------------------------------------------------------------------------

def valid_record() -> dict[str, Any]:
    """A valid record from the quick form (no issues at all)."""
    record = build(full_entry(), org_code=ORG, today=TODAY)
    assert validate(record) == []
    return record


def _set_245(record: dict[str, Any], **changes: Any) -> None:
    for entry in record["fields"]:
        if "245" in entry:
            entry["245"].update(changes)


def _drop(record: dict[str, Any], tag: str) -> None:
    record["fields"] = [f for f in record["fields"] if tag not in f]


def _add(record: dict[str, Any], entry: dict[str, Any]) -> None:
    record["fields"].append(entry)


MUTATIONS = {
    "missing_245": (lambda r: _drop(r, "245"), ("missing_245", "error", "245")),
    "indicator": (lambda r: _set_245(r, ind1="9"), ("indicator", "error", "245")),
    "isbn_check": (lambda r: _add(r, df("020", " ", " ", ("a", "979-3062-79-8"))), ("isbn_check", "warning", "020")),
    "issn_check": (lambda r: _add(r, df("022", " ", " ", ("a", "0317-8472"))), ("issn_check", "warning", "022")),
    "non_repeatable": (lambda r: _add(r, df("245", "0", "0", ("a", "Judul kedua"))),
                       ("non_repeatable", "error", "245")),
    "leader_length": (lambda r: r.update(leader=r["leader"][:23]), ("leader_length", "error", "LDR")),
    "control_has_subfields": (lambda r: _add(r, df("005", " ", " ", ("a", "20260101"))),
                              ("control_has_subfields", "error", "005")),
    "bad_subfield_code": (lambda r: _add(r, df("500", " ", " ", ("A", "Catatan."))),
                          ("bad_subfield_code", "error", "500")),
    "bad_tag": (lambda r: _add(r, df("5x!", " ", " ", ("a", "x"))), ("bad_tag", "error", "5x!")),
    "nonfiling": (lambda r: _set_245(r, ind2="9", subfields=[{"a": "Ab"}]), ("nonfiling", "error", "245")),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_validation_codes(name: str) -> None:
    """One defect gives exactly its code, severity and tag (and only warnings leave it saveable)."""
    record = valid_record()
    mutate, expected = MUTATIONS[name]
    mutate(record)
    found = [(i.code, i.severity, i.tag) for i in validate(record)]
    assert found == [expected]
    assert bool(errors(record)) == (expected[1] == "error")


def test_validation_params_and_order() -> None:
    """Issues carry what the message needs; errors come before warnings."""
    record = valid_record()
    _set_245(record, ind1="9")
    _add(record, df("245", "1", "0", ("a", "Lagi")))
    _add(record, df("020", " ", " ", ("a", "123")))
    issues = validate(record)
    assert [i.severity for i in issues] == sorted((i.severity for i in issues), key=lambda s: s != "error")
    by_code = {i.code: i for i in issues}
    assert by_code["indicator"].params == {"pos": 1, "value": "9", "allowed": "0, 1"}
    assert by_code["non_repeatable"].params == {"n": 2}
    assert by_code["isbn_check"].params == {"value": "123"} and by_code["isbn_check"].severity == "warning"


def test_describe_renders_a_stored_issue(app: Flask) -> None:
    """describe() turns the JSON stored in an import report back into the English message."""
    stored = json.loads(json.dumps(Issue("indicator", "error", "245", {"pos": 1, "value": "9",
                                                                        "allowed": "0, 1"}).as_dict()))
    with app.app_context(), force_locale("en"):
        assert describe(stored) == 'Field 245: indicator 1 "9" is not allowed here (allowed: 0, 1).'
        assert describe({"code": "missing_245"}) == "The title (field 245) is missing."
        assert describe({"code": "read_leader"}) == "The record's leader cannot be read."
        assert describe({"code": "no_such_code", "text": "raw detail"}) == "raw detail"


def test_describe_in_indonesian(app: Flask) -> None:
    """Under the id locale every validation message is Indonesian, not the English source."""
    samples = {"missing_245": {}, "indicator": {"pos": 1, "value": "9", "allowed": "0, 1"},
               "isbn_check": {"value": "123"}, "read_truncated": {}, "encoding_sniffed": {}}
    with app.app_context():
        for code, params in samples.items():
            stored = {"code": code, "severity": "error", "tag": "245", "params": params}
            with force_locale("en"):
                english = describe(stored)
            with force_locale("id"):
                indonesian = describe(stored)
            assert indonesian and indonesian != english, code
    # Every message, not just the samples, has its own Indonesian text.
    with app.app_context():
        with force_locale("en"):
            english = {code: str(message) for code, message in MESSAGES.items()}
        with force_locale("id"):
            untranslated = [code for code, message in MESSAGES.items() if str(message) == english[code]]
    assert not untranslated


# --- catalog.marc on generated input ------------------------------------------------------------

def sample_records() -> list[dict[str, Any]]:
    """Records with control fields, blank indicators, repeated subfields and non-Latin text."""
    quick = build(full_entry(), org_code=ORG, today=TODAY, control_number="IDB-1")
    arabic = build(QuickEntry(title="Tafsir al-Qur'an", subtitle="جزء عمّ", authors=["Hamka"], language="ara",
                              place="Jakarta", publisher="Pustaka Panjimas", year=1982), org_code=ORG, today=TODAY)
    handmade = rec("00000cam a2200000 a 4500", {"001": "52012345"}, {"003": "DLC"}, {"005": "20260101120000.0"},
                   {"008": F008_ENG},
                   df("245", "1", "0", ("a", "Ĉu vi parolas? :"), ("b", "中文 / Ελληνικά /"), ("c", "Zoë Ø.")),
                   df("650", " ", "0", ("a", "Esperanto"), ("x", "Grammar"), ("x", "Textbooks.")),
                   df("952", " ", " ", ("a", "LIB-A"), ("p", "B0001"), ("o", "499.992 ZOE c")))
    return [quick, arabic, handmade]


def _masked(leader: str) -> str:
    """A leader without the record length (00-04) and base address (12-16)."""
    return leader[5:12] + leader[17:]


def test_iso2709_round_trip() -> None:
    """Records written with iso2709() read back equal (leader length and base address aside)."""
    originals = sample_records()
    stream = io.BytesIO(b"".join(marc.iso2709(r) for r in originals))
    results = list(marc.read(stream, fmt="iso2709"))
    assert [r.position for r in results] == [1, 2, 3]
    for original, result in zip(originals, results, strict=True):
        assert result.error == "" and result.warnings == [] and result.encoding == "utf-8"
        assert _masked(result.record["leader"]) == _masked(original["leader"])
        assert result.record["fields"] == original["fields"]
    assert results[0].offset == 0 and results[1].offset == len(marc.iso2709(originals[0]))


def test_utf8_record_with_blank_leader_09_is_sniffed() -> None:
    """UTF-8 bytes whose leader/09 says MARC-8 are read as UTF-8, with an encoding_sniffed warning."""
    original = sample_records()[2]
    data = bytearray(marc.iso2709(original))
    assert data[9:10] == b"a"
    data[9:10] = b" "
    (result,) = marc.read(io.BytesIO(bytes(data)), fmt="iso2709")
    assert result.record is not None and result.encoding == "utf-8"
    assert [w["code"] for w in result.warnings] == ["encoding_sniffed"]
    assert result.record["fields"] == original["fields"]


def test_truncated_record_with_its_end_marker_is_reported_and_reading_goes_on() -> None:
    """A record cut short (its terminator right after the cut) is an error; the next one is read."""
    records = sample_records()
    parts = [marc.iso2709(r) for r in records]
    cut = parts[1][: len(parts[1]) // 2] + b"\x1d"
    results = list(marc.read(io.BytesIO(parts[0] + cut + parts[2]), fmt="iso2709"))
    assert [r.position for r in results] == [1, 2, 3]
    assert results[0].record["fields"] == records[0]["fields"]
    assert results[1].record is None and results[1].error == "read_truncated" and results[1].error in MESSAGES
    assert results[2].record is not None and results[2].record["fields"] == records[2]["fields"]


def test_truncated_record_at_the_end_of_the_stream() -> None:
    """The last record cut short (no terminator at all) is an error after the good ones."""
    parts = [marc.iso2709(r) for r in sample_records()]
    results = list(marc.read(io.BytesIO(parts[0] + parts[1][:100]), fmt="iso2709"))
    assert len(results) == 2 and results[0].record is not None
    assert results[1].record is None and results[1].error in MESSAGES


def test_truncated_record_in_the_middle_of_a_stream() -> None:
    """Bytes missing from the middle of a record: that record is an error, the following one is still read."""
    records = sample_records()
    parts = [marc.iso2709(r) for r in records]
    results = list(marc.read(io.BytesIO(parts[0] + parts[1][: len(parts[1]) // 2] + parts[2]), fmt="iso2709"))
    assert results[0].record is not None
    assert results[1].record is None and results[1].error in MESSAGES
    assert results[-1].record is not None and results[-1].record["fields"] == records[2]["fields"]


MARCXML_RECORD = ('<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>'
                  '<controlfield tag="001">{id}</controlfield><datafield tag="245" ind1="0" ind2="0">'
                  '<subfield code="a">{title}</subfield></datafield></record>')


def test_marcxml_without_collection_root() -> None:
    """Records at the top level (no <collection>), with or without an XML declaration, are read."""
    body = (MARCXML_RECORD.format(id="X1", title="Si Kancil") + "\n" + MARCXML_RECORD.format(id="X2", title="Ārya"))
    for text in (body, '<?xml version="1.0" encoding="UTF-8"?>\n' + body):
        results = list(marc.read(io.BytesIO(text.encode("utf-8")), fmt="marcxml"))
        assert [(r.position, r.error) for r in results] == [(1, ""), (2, "")]
        assert [extract(r.record).title for r in results] == ["Si Kancil", "Ārya"]
        assert [extract(r.record).control_number for r in results] == ["X1", "X2"]
    (single,) = marc.read(io.BytesIO(MARCXML_RECORD.format(id="X3", title="Satu").encode()), fmt="marcxml")
    assert single.record is not None and extract(single.record).title == "Satu"


DOCTYPE = '<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY boom "EXPANDED-ENTITY">]>\n'


def _doctype_results(root: str) -> list[marc.ReadResult]:
    record = MARCXML_RECORD.format(id="X1", title="&boom;")
    body = (f'<collection xmlns="http://www.loc.gov/MARC21/slim">{record}</collection>' if root == "collection"
            else record)
    return list(marc.read(io.BytesIO((DOCTYPE.format(root=root) + body).encode()), fmt="marcxml"))


def test_marcxml_with_doctype_is_refused() -> None:
    """A DTD with an entity is refused as such, and the entity is never expanded."""
    results = _doctype_results("collection")
    assert [r.error for r in results] == ["read_xml_forbidden"]
    assert all(r.record is None for r in results)
    assert "EXPANDED" not in repr(results)


def test_marcxml_record_root_with_doctype_is_refused() -> None:
    """A <record>-rooted file (wrapped in <collection> by the reader) with a DTD is refused the same way."""
    results = _doctype_results("record")
    assert [r.error for r in results] == ["read_xml_forbidden"]
    assert all(r.record is None for r in results)
    assert "EXPANDED" not in repr(results)


def test_marc_in_json_list_and_json_lines() -> None:
    """A JSON array and JSON lines of MARC-in-JSON give the same records."""
    records = sample_records()
    as_list = json.dumps(records, ensure_ascii=False).encode("utf-8")
    as_lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8") + b"\n"
    for data in (as_list, as_lines):
        assert marc.detect_format("x.json", data[:100]) == "json"
        results = list(marc.read(io.BytesIO(data), fmt="json"))
        assert [r.position for r in results] == [1, 2, 3] and all(r.error == "" for r in results)
        assert [r.record["fields"] for r in results] == [r["fields"] for r in records]
    broken = as_lines.replace(b"\n", b"\n{not json}\n", 1)
    results = list(marc.read(io.BytesIO(broken), fmt="json"))
    assert [r.error for r in results] == ["", "read_json", "", ""]


def test_detect_format() -> None:
    """The first bytes decide the format."""
    assert marc.detect_format("a.dat", marc.iso2709(sample_records()[0])[:50]) == "iso2709"
    assert marc.detect_format("a.mrc", b"\xef\xbb\xbf  <?xml version='1.0'?><collection/>") == "marcxml"
    assert marc.detect_format("a", b'[{"leader": ""}]') == "json"
    assert marc.detect_format("a.txt", b"=LDR  00000nam\\\\2200000\\a\\4500") == "mrk"


# --- the real files in ../shared/data/marc --------------------------------------------------------

def _real_files() -> list[Path]:
    if not MARC_DATA.is_dir():
        return []
    return sorted(p for p in MARC_DATA.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".txt"))


REAL_FILES = _real_files()
NO_DATA = pytest.mark.skip(reason=f"real MARC data not found at {MARC_DATA}")


@pytest.fixture(scope="module")
def marc_dir() -> Path:
    """The shared real-data folder (the test is skipped without it)."""
    if not REAL_FILES:
        pytest.skip(f"real MARC data not found at {MARC_DATA}")
    return MARC_DATA


def read_file(path: Path, encoding: str = "auto") -> list[marc.ReadResult]:
    """Every result of a file, its format detected as the importer does."""
    with path.open("rb") as handle:
        fmt = marc.detect_format(path.name, handle.read(4096))
        handle.seek(0)
        return list(marc.read(handle, fmt=fmt, encoding=encoding))


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(MARC_DATA))) for p in REAL_FILES]
                         or [pytest.param(None, marks=NO_DATA)])
def test_every_real_file_reads_without_raising(path: Path) -> None:
    """Each result has a record or a known error code; positions run 1..n."""
    results = read_file(path)
    assert results, path
    assert [r.position for r in results] == list(range(1, len(results) + 1))
    for result in results:
        if result.record is None:
            assert result.error in MESSAGES, (result.position, result.error, result.detail)
        else:
            assert result.error == ""
            assert len(result.record["leader"]) == 24 and isinstance(result.record["fields"], list)
        for warning in result.warnings:
            assert warning["code"] in MESSAGES


def test_real_data_folder_is_complete(marc_dir: Path) -> None:
    """All four sources are there (a half-copied folder would make the other tests meaningless)."""
    assert {p.relative_to(marc_dir).parts[0] for p in REAL_FILES} >= {"evergreen", "koha", "marc4j", "pymarc"}
    assert len(REAL_FILES) >= 120


@pytest.mark.parametrize("name, total", [
    ("evergreen/jazz_1k.mrc", 1000), ("evergreen/lul_fre_500.mrc", 500), ("koha/koha_misc4dev_biblios.xml", 435),
    ("marc4j/pride-and-prejudice-fixed.mrc", 383), ("evergreen/auth-1066.mrc", 1066),
    ("koha/koha_misc4dev_authorities.xml", 1706),
])
def test_real_clean_files_read_completely(marc_dir: Path, name: str, total: int) -> None:
    """The clean sets named in the data's README are read in full."""
    results = read_file(marc_dir / name)
    assert len(results) == total
    assert all(r.record is not None for r in results), [(r.position, r.error) for r in results if r.error][:5]


def test_real_file_with_many_errors(marc_dir: Path) -> None:
    """The error-injected twin: at least 367 of 383 are read, each of the rest has an error code."""
    results = read_file(marc_dir / "marc4j" / "pride-and-prejudice-with-many-errors.mrc")
    assert len(results) == 383
    readable = [r for r in results if r.record is not None]
    assert len(readable) >= 367
    assert all(r.error in MESSAGES and r.error.startswith("read_") for r in results if r.record is None)


def test_real_bad_records_are_reported_one_by_one(marc_dir: Path) -> None:
    """pymarc's bad_records.mrc: 8 records, 2 good, every other one with its own error code."""
    results = read_file(marc_dir / "pymarc" / "bad_records.mrc")
    assert len(results) == 8
    assert sum(r.record is not None for r in results) == 2
    assert all(r.error in MESSAGES for r in results if r.record is None)


def _nfc_245(results: list[marc.ReadResult]) -> list[str]:
    return [unicodedata.normalize("NFC", json.dumps(value, ensure_ascii=False, sort_keys=True))
            for r in results for _t, value in fields(r.record, "245")]


def test_real_marc8_and_utf8_twins_give_identical_titles(marc_dir: Path) -> None:
    """lul_fre_100.mrc (MARC-8) and concerto_bibs_fre.xml (UTF-8) hold the same 100 records."""
    marc8 = read_file(marc_dir / "evergreen" / "lul_fre_100.mrc")
    utf8 = read_file(marc_dir / "evergreen" / "concerto_bibs_fre.xml")
    assert len(marc8) == len(utf8) == 100
    left, right = _nfc_245(marc8), _nfc_245(utf8)
    assert len(left) == 100
    assert sum(any(ord(c) > 127 for c in title) for title in left) > 20  # the comparison covers diacritics
    assert left == right


def test_real_cp1251_file_read_with_its_encoding(marc_dir: Path) -> None:
    """pymarc/1251.dat with encoding cp1251 gives Cyrillic titles and no replacement characters."""
    results = read_file(marc_dir / "pymarc" / "1251.dat", encoding="cp1251")
    assert results and all(r.record is not None for r in results)
    titles = [extract(r.record).title for r in results]
    assert all(re.search("[\u0400-\u04ff]{3}", t) for t in titles), titles
    assert not any("\ufffd" in json.dumps(r.record, ensure_ascii=False) for r in results)


def test_real_utf8_with_blank_leader_09(marc_dir: Path) -> None:
    """evergreen/FSL.marc (UTF-8 labelled MARC-8): no U+FFFD, real Cyrillic and Armenian text."""
    results = read_file(marc_dir / "evergreen" / "FSL.marc")
    assert len(results) == 52 and all(r.record is not None for r in results)
    text = [json.dumps(r.record, ensure_ascii=False) for r in results]
    assert not any("\ufffd" in t for t in text)
    assert all(any(w["code"] == "encoding_sniffed" for w in r.warnings) for r in results)
    titles = [extract(r.record).title for r in results]
    assert sum(bool(re.search("[\u0400-\u04ff]{3}", t)) for t in titles) >= 30
    assert any(re.search("[\u0530-\u058f]{3}", t) for t in text)


def test_real_records_survive_iso2709_round_trip(marc_dir: Path) -> None:
    """Every readable record of the clean UTF-8 and MARC-8 sets writes and reads back unchanged."""
    for name in ("evergreen/jazz_1k.mrc", "koha/koha_misc4dev_biblios.xml", "marc4j/pride-and-prejudice-fixed.mrc",
                 "evergreen/FSL.marc"):
        records = [r.record for r in read_file(marc_dir / name)]
        back = list(marc.read(io.BytesIO(b"".join(marc.iso2709(copy.deepcopy(r)) for r in records)), fmt="iso2709"))
        assert len(back) == len(records), name
        for original, result in zip(records, back, strict=True):
            assert result.record is not None and result.record["fields"] == original["fields"], name


def test_isbn_check_digits_agree_with_python_stdnum() -> None:
    """Our fast ISBN check (used on every imported record) gives stdnum's answer on random input."""
    import random

    from stdnum import isbn as stdnum_isbn

    from catalog import bib

    rng = random.Random(2026)
    for _ in range(5000):
        body = "".join(rng.choice("0123456789") for _ in range(12))
        candidates = [body[:9] + rng.choice("0123456789X"), rng.choice(["978", "979", "977"]) + body[:10],
                      f"978-{body[:3]}-{body[3:6]}-{body[6:9]}-{body[9]}"]
        for text in candidates:
            want = stdnum_isbn.to_isbn13(stdnum_isbn.compact(text)) if stdnum_isbn.is_valid(text) else None
            assert bib.normalise_isbn(text) == want, text
            if want and want.startswith("978"):
                assert bib.isbn_forms(want)[1] == stdnum_isbn.to_isbn10(want)
