"""The MARC to Dublin Core crosswalk (catalog.dc), on hand-made records and real-world files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog import marc
from catalog.dc import ELEMENTS, dublin_core

MARC_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "marc"


def df(tag: str, ind1: str, ind2: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    """A data field."""
    return {tag: {"ind1": ind1, "ind2": ind2, "subfields": [{c: v} for c, v in pairs]}}


def laskar() -> dict[str, Any]:
    """An RDA record for Laskar Pelangi with one field for nearly every element."""
    return {"leader": "00000nam a2200000 i 4500", "fields": [
        {"001": "btg-1"}, {"008": "260115s2008    io a          000 1 ind d"},
        df("020", " ", " ", ("a", "979-3062-79-7 (pbk.)")),
        df("020", " ", " ", ("a", "9793062797")),  # the same ISBN again, as ISBN-10: one identifier
        df("022", " ", " ", ("a", "0317-8471")),
        df("041", "1", " ", ("a", "indeng"), ("h", "ind")),
        df("082", "0", "4", ("a", "899.2213")),
        df("100", "1", " ", ("a", "Hirata, Andrea,"), ("e", "pengarang.")),
        df("245", "1", "0", ("a", "Laskar pelangi :"), ("b", "sebuah novel /"), ("c", "Andrea Hirata.")),
        df("246", "3", " ", ("a", "Rainbow troops")),
        df("264", " ", "1", ("a", "Yogyakarta :"), ("b", "Bentang,"), ("c", "2008.")),
        df("264", " ", "4", ("c", "©2005")),  # copyright date: not the publication
        df("300", " ", " ", ("a", "xiv, 529 halaman ;"), ("c", "20 cm")),
        df("490", "1", " ", ("a", "Tetralogi Laskar Pelangi ;"), ("v", "1")),
        df("500", " ", " ", ("a", "Novel pertama dari tetralogi.")),
        df("506", " ", " ", ("a", "Terbuka untuk umum.")),
        df("520", " ", " ", ("a", "Kisah sepuluh anak\x1d Belitung.")),
        df("546", " ", " ", ("a", "Teks dalam bahasa Indonesia.")),
        df("650", " ", "4", ("a", "Fiksi Indonesia"), ("z", "Belitung.")),
        df("651", " ", "4", ("a", "Belitung (Indonesia)"), ("v", "Fiksi.")),
        df("655", " ", "4", ("a", "Novel.")),
        df("700", "1", " ", ("a", "Santoso, Budi,"), ("e", "editor.")),
        df("710", "2", " ", ("a", "Dinas Perpustakaan Kota Bontang.")),
        df("830", " ", "0", ("a", "Tetralogi Laskar Pelangi ;"), ("v", "1.")),
        df("856", "4", "0", ("u", "https://opac.example.id/1"), ("q", "text/html")),
    ]}


def values(pairs: list[tuple[str, str]], element: str) -> list[str]:
    """The values of one element, in order."""
    return [v for e, v in pairs if e == element]


def test_crosswalk_maps_each_marc_field_to_its_element() -> None:
    """Each field of the record lands in the element the crosswalk names, without ISBD punctuation."""
    dc = dublin_core(laskar())
    assert values(dc, "title") == ["Laskar pelangi : sebuah novel", "Rainbow troops"]
    assert values(dc, "creator") == ["Hirata, Andrea", "Santoso, Budi", "Dinas Perpustakaan Kota Bontang"]
    assert values(dc, "subject") == ["Fiksi Indonesia -- Belitung", "899.2213"]
    assert values(dc, "description") == ["Novel pertama dari tetralogi", "Kisah sepuluh anak Belitung"]
    assert values(dc, "publisher") == ["Bentang"]
    assert values(dc, "date") == ["2008"]
    assert values(dc, "type") == ["Text", "Novel"]
    assert values(dc, "format") == ["xiv, 529 halaman ; 20 cm", "text/html"]
    assert values(dc, "identifier") == ["URN:ISBN:9789793062792", "URN:ISSN:0317-8471", "https://opac.example.id/1"]
    assert values(dc, "language") == ["ind", "eng", "Teks dalam bahasa Indonesia"]
    assert values(dc, "relation") == ["Tetralogi Laskar Pelangi ; 1"]  # 490 and 830 say the same
    assert values(dc, "coverage") == ["Belitung (Indonesia) -- Fiksi"]
    assert values(dc, "rights") == ["Terbuka untuk umum"]
    assert values(dc, "contributor") == [] and values(dc, "source") == []


def test_output_follows_dcmes_order_without_duplicates() -> None:
    """Elements come in DCMES order and no (element, value) pair repeats."""
    dc = dublin_core(laskar())
    order = [ELEMENTS.index(e) for e, _v in dc]
    assert order == sorted(order)
    assert len(dc) == len(set(dc))


def test_fallbacks_for_sparse_records() -> None:
    """Without 260/264 the date comes from 008/07-10; odd leaders give no type; 260 still counts."""
    sparse = {"leader": "00000npm a2200000 a 4500", "fields": [
        {"008": "991231s1998    xx            000 0 und d"}, df("245", "0", "0", ("a", "Arsip"))]}
    assert dublin_core(sparse) == [("title", "Arsip"), ("date", "1998")]
    old = {"leader": "00000ncm a2200000 a 4500", "fields": [
        df("260", " ", " ", ("a", "Jakarta :"), ("b", "Balai Pustaka,"), ("c", "[1985?]"))]}
    assert dublin_core(old) == [("publisher", "Balai Pustaka"), ("date", "1985?"), ("type", "Text")]
    assert dublin_core({"fields": []}) == []


def test_placeholders_are_left_out() -> None:
    """"[s.n.]" or "[Penerbit tidak diketahui]" name no publisher; a date without a year gives way to 008."""
    record = {"leader": "00000nam a22", "fields": [
        {"008": "260105s2019    io            000 0 ind d"},
        df("264", " ", "1", ("a", "[Tempat terbit tidak diketahui] :"), ("b", "[Penerbit tidak diketahui],"),
           ("c", "[Tahun terbit tidak diketahui]")),
        df("260", " ", " ", ("b", "[s.n.]")),
        df("264", " ", "1", ("b", "[Bentang]"))]}  # supplied by the cataloguer, but a name
    dc = dublin_core(record)
    assert values(dc, "publisher") == ["[Bentang]"] and values(dc, "date") == ["2019"]


@pytest.mark.parametrize(("leader", "expected"), [
    ("00000nam a22", ["Text"]), ("00000ngm a22", ["MovingImage"]), ("00000njm a22", ["Sound"]),
    ("00000nkm a22", ["StillImage"]), ("00000nem a22", ["Image"]), ("00000nrm a22", ["PhysicalObject"]),
    ("00000npc a22", ["Collection"]), ("00000nmm a22", []), ("", [])])
def test_type_from_leader(leader: str, expected: list[str]) -> None:
    """Leader/06 (and /07 for collections) maps to the DCMI Type Vocabulary."""
    assert values(dublin_core({"leader": leader, "fields": []}), "type") == expected


def test_invalid_identifiers_kept_as_written() -> None:
    """An ISBN with a wrong check digit is still how the book is known: kept, not as a URN."""
    record = {"leader": "00000nam a22", "fields": [df("020", " ", " ", ("a", "979-3062-79-8"))]}
    assert values(dublin_core(record), "identifier") == ["979-3062-79-8"]


@pytest.mark.parametrize("name", ["evergreen/concerto_bibs_fre.xml", "koha/koha_misc4dev_biblio_invalid_xml_chars.xml"])
def test_real_records_give_clean_text(name: str) -> None:
    """Every record of real files yields a title and values free of control characters."""
    path = MARC_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout's shared data")
    with path.open("rb") as fh:
        records = [r.record for r in marc.read(fh, fmt="marcxml") if r.record]
    assert records
    for record in records:
        dc = dublin_core(record)
        assert all(v == " ".join(v.split()) and v.isprintable() for _e, v in dc)
        assert values(dc, "title") or not any(tag == "245" for f in record["fields"] for tag in f)
