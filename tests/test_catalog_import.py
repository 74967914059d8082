"""Staged MARC import, resume after a killed worker, revert, export, and the real files in ../shared/data/marc."""
from __future__ import annotations

import io
import json
import re
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from sqlalchemy import func, select

from catalog import marc
from catalog.bib import fields, subfields
from catalog.build import QuickEntry, build
from catalog.models import (AcquisitionSource, BatchStatus, DeletedRecord, ImportBatch, ImportRow, Item, ItemType,
                            Record, RecordVersion)
from catalog.services import exports, imports
from catalog.services import items as item_service
from catalog.validation import MESSAGES
from ils.errors import ValidationFailed
from ils.extensions import db
from ils.models import Library
from tests.factories import SYSTEM, make_library

MARC_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "marc"
TODAY = date(2026, 1, 15)
ORG = "IdBtgDPK"


# --- helpers ------------------------------------------------------------------------------------

def isbn13(stem: str) -> str:
    """A valid ISBN-13 from its first twelve digits (EAN-13 check digit, computed here)."""
    total = sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(stem))
    return stem + str((10 - total % 10) % 10)


def item_field(*pairs: tuple[str, str]) -> dict[str, Any]:
    """A Koha 952."""
    return {"952": {"ind1": " ", "ind2": " ", "subfields": [{c: v} for c, v in pairs]}}


def bib(title: str, *, isbn: str = "", author: str = "", year: int | None = 2010, items: tuple = (),
        note: str = "") -> dict[str, Any]:
    """A quick-form record, optionally with 952 items appended."""
    record = build(QuickEntry(title=title, authors=[author] if author else [], isbn=isbn, year=year,
                              publisher="Penerbit Uji", place="Bontang", notes=note),
                   org_code=ORG, today=TODAY)
    record["fields"] += [item_field(*pairs) for pairs in items]
    return record


def iso(records: list[dict[str, Any]]) -> bytes:
    """An ISO 2709 file."""
    return b"".join(marc.iso2709(r) for r in records)


def sample_file() -> list[dict[str, Any]]:
    """Four records; three items without an accession number, one with its own ($i)."""
    return [
        bib("Laskar pelangi", isbn=isbn13("978979306279"), author="Hirata, Andrea", year=2008,
            items=((("p", "BC-0001"), ("o", "899.2213 HIR l"), ("c", "Fiksi")), (("p", "BC-0002"),))),
        bib("Ronggeng Dukuh Paruk", isbn=isbn13("978602030123"), author="Tohari, Ahmad", year=2003,
            items=((("p", "BC-0003"), ("y", "REF")),)),
        bib("Cerita rakyat Kutai", author="Dinas Pariwisata", year=2015),  # no ISBN, no items
        bib("Sejarah Kota Bontang", year=2019, items=((("p", "BC-0004"), ("i", "INV/77"), ("g", "35.000")),)),
    ]


def run(data: bytes, library: Library, *, filename: str = "test.mrc", **options: Any) -> ImportBatch:
    """Store a file and import it the way the CLI does (commit per chunk)."""
    batch = imports.start_import(stream=io.BytesIO(data), filename=filename, library_id=library.id, actor=SYSTEM,
                                 enqueue=False, max_bytes=None, **options)
    db.session.commit()
    imports.run_import(batch.id, actor=SYSTEM, checkpoint=lambda _pct, _msg: db.session.commit(), today=TODAY)
    db.session.commit()
    return db.session.get(ImportBatch, batch.id)


def rows(batch: ImportBatch) -> list[ImportRow]:
    """A batch's report rows in file order."""
    return list(db.session.scalars(imports.batch_rows(batch.id)))


def count(model: Any, *where: Any) -> int:
    """Rows of a table."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def items_of(library: Library) -> list[Item]:
    """A library's items in id order."""
    return list(db.session.scalars(select(Item).where(Item.library_id == library.id).order_by(Item.id)))


def refetch(*libraries: Library) -> list[Library]:
    """Libraries loaded again by id (after something expunged the session)."""
    ids = [db.inspect(library).identity[0] for library in libraries]
    return [db.session.get(Library, library_id) for library_id in ids]


@pytest.fixture
def libs(ctx: Flask) -> tuple[Library, Library]:
    """Two libraries; A numbers its copies with its own accession pattern."""
    a = make_library("LIB-A")
    b = make_library("LIB-B")
    item_service.update_settings(library_id=a.id, actor=SYSTEM, accession_pattern="{code}-{yy}-{seq:04d}",
                                 barcode_prefix="LA", default_collection="Umum", items_public=True)
    db.session.commit()
    return a, b


# --- importing a generated file -----------------------------------------------------------------

def test_import_creates_records_items_and_report(libs: tuple[Library, Library]) -> None:
    """New records, the file's barcodes, accession numbers from the library's pattern, "new" rows."""
    a, _b = libs
    batch = run(iso(sample_file()), a)
    assert batch.status == BatchStatus.DONE and batch.format == "iso2709"
    assert batch.counts == {"new": 4, "items": 4}
    report = rows(batch)
    assert [(r.position, r.outcome) for r in report] == [(1, "new"), (2, "new"), (3, "new"), (4, "new")]
    assert [r.items_added for r in report] == [2, 1, 0, 1]
    assert [r.title for r in report] == ["Laskar pelangi", "Ronggeng Dukuh Paruk", "Cerita rakyat Kutai",
                                         "Sejarah Kota Bontang"]
    assert count(Record) == 4 and len({r.record_id for r in report}) == 4
    for row in report:
        record = db.session.get(Record, row.record_id)
        assert record.title == row.title and record.version == 1
        assert not list(fields(json.loads(record.marc), "952")), "holdings become items, not MARC"
        assert count(RecordVersion, RecordVersion.record_id == record.id, RecordVersion.import_batch_id == batch.id) == 1

    items = items_of(a)
    assert sorted(i.barcode for i in items) == ["BC-0001", "BC-0002", "BC-0003", "BC-0004"]
    by_barcode = {i.barcode: i for i in items}
    assert by_barcode["BC-0004"].accession_number == "INV/77" and by_barcode["BC-0004"].price == 35000
    generated = sorted(i.accession_number for i in items if i.barcode != "BC-0004")
    assert generated == ["LIB-A-26-0001", "LIB-A-26-0002", "LIB-A-26-0003"]
    laskar = by_barcode["BC-0001"]
    assert (laskar.call_class, laskar.call_author, laskar.call_title) == ("899.2213", "HIR", "l")
    assert laskar.collection == "Fiksi" and by_barcode["BC-0002"].collection == "Umum"
    assert by_barcode["BC-0003"].item_type == ItemType.REFERENSI
    assert {i.record_id for i in items} == {report[0].record_id, report[1].record_id, report[3].record_id}
    assert all(i.import_batch_id == batch.id and i.acquired_on == TODAY for i in items)


def test_reimport_matches_and_adds_nothing(libs: tuple[Library, Library]) -> None:
    """The same file again: 0 new, all matched to the first records, no item twice."""
    a, _b = libs
    data = iso(sample_file())
    first = rows(run(data, a))
    again = run(data, a)
    assert again.counts == {"matched": 4, "items": 0}
    report = rows(again)
    assert [r.outcome for r in report] == ["matched"] * 4
    assert [r.record_id for r in report] == [r.record_id for r in first]
    assert all(r.matched_by and r.items_added == 0 for r in report)
    assert count(Record) == 4 and count(Item) == 4


def test_second_library_gets_its_own_items(libs: tuple[Library, Library]) -> None:
    """Library B importing A's file matches A's records and gets its own copies."""
    a, b = libs
    data = iso(sample_file())
    first = rows(run(data, a))
    batch = run(data, b)
    assert batch.counts == {"matched": 4, "items": 4}
    assert [r.record_id for r in rows(batch)] == [r.record_id for r in first]
    assert count(Record) == 4
    mine, theirs = items_of(b), items_of(a)
    assert len(mine) == len(theirs) == 4
    assert Counter(i.record_id for i in mine) == Counter(i.record_id for i in theirs)
    # The barcodes are city-wide unique, so B's copies are numbered anew and the note says why.
    assert not {i.barcode for i in mine} & {i.barcode for i in theirs}
    assert all(i.barcode.startswith("LIBB") and "BC-000" in i.notes for i in mine)
    # Accession numbers are per library: B keeps the file's INV/77 and numbers the rest its own way.
    accessions = sorted(i.accession_number for i in mine)
    assert "INV/77" in accessions
    assert all(re.fullmatch(r"\d{5}/LIB-B/2026", n) for n in accessions if n != "INV/77")
    assert len(set(accessions)) == 4


def test_record_without_isbn_matches_by_title_key(libs: tuple[Library, Library]) -> None:
    """No ISBN and different content: same title, author and year match; another year does not."""
    a, _b = libs
    run(iso(sample_file()), a)
    variant = bib("Cerita rakyat Kutai", author="Dinas Pariwisata", year=2015, note="Cetakan ulang")
    other_year = bib("Cerita rakyat Kutai", author="Dinas Pariwisata", year=2016)
    batch = run(iso([variant, other_year]), a)
    first, second = rows(batch)
    assert first.outcome == "matched" and first.matched_by.startswith("tak:")
    original = db.session.scalar(select(Record).where(Record.title == "Cerita rakyat Kutai", Record.year == 2015))
    assert first.record_id == original.id
    assert second.outcome == "new" and second.record_id != original.id


def test_replace_then_revert(libs: tuple[Library, Library]) -> None:
    """on_match=replace makes a new version; revert restores it and removes what the batch created."""
    a, _b = libs
    first = rows(run(iso(sample_file()), a))
    laskar_id = first[0].record_id
    before = db.session.get(Record, laskar_id).marc
    changed = bib("Laskar pelangi", isbn=isbn13("978979306279"), author="Hirata, Andrea", year=2008,
                  note="Edisi film", items=((("p", "BC-0100"),),))
    brand_new = bib("Sang pemimpi", isbn=isbn13("978979306280"), author="Hirata, Andrea", year=2006,
                    items=((("p", "BC-0101"),),))
    batch = run(iso([changed, brand_new]), a, on_match="replace")
    report = rows(batch)
    assert [r.outcome for r in report] == ["updated", "new"]
    assert report[0].record_id == laskar_id and report[0].previous_version == 1
    laskar = db.session.get(Record, laskar_id)
    assert laskar.version == 2 and "Edisi film" in laskar.marc and laskar.marc != before
    assert count(RecordVersion, RecordVersion.record_id == laskar_id) == 2
    assert count(Item) == 6
    new_id = report[1].record_id

    result = imports.revert_batch(batch_id=batch.id, actor=SYSTEM)
    db.session.commit()
    assert result == {"items": 2, "records": 1, "restored": 1}
    laskar = db.session.get(Record, laskar_id)
    assert laskar.version == 3 and json.loads(laskar.marc) == json.loads(before)
    assert db.session.get(Record, new_id) is None and db.session.get(DeletedRecord, new_id) is not None
    assert sorted(i.barcode for i in items_of(a)) == ["BC-0001", "BC-0002", "BC-0003", "BC-0004"]
    assert db.session.get(ImportBatch, batch.id).status == BatchStatus.REVERTED


def test_replace_with_an_invalid_record_does_not_abort_the_batch(libs: tuple[Library, Library]) -> None:
    """A matched record with a blocking error is reported, the other records of the file still import."""
    a, _b = libs
    run(iso(sample_file()), a)
    bad = bib("Laskar pelangi", isbn=isbn13("978979306279"), author="Hirata, Andrea", year=2008, note="Rusak")
    for entry in bad["fields"]:
        if "245" in entry:
            entry["245"]["ind1"] = "9"  # not a MARC21 value: an error for validate()
    good = bib("Sang pemimpi", isbn=isbn13("978979306280"), year=2006)
    batch = run(iso([bad, good]), a, on_match="replace")
    report = rows(batch)
    assert batch.status == BatchStatus.DONE and len(report) == 2
    assert report[0].issues and report[0].issues[0]["code"] == "indicator"
    assert report[1].outcome == "new"


def test_dry_run_stores_nothing(libs: tuple[Library, Library]) -> None:
    """A dry run reports the outcomes without creating records or items."""
    a, _b = libs
    batch = run(iso(sample_file()), a, dry_run=True)
    assert [r.outcome for r in rows(batch)] == ["new"] * 4
    assert batch.counts.get("dry_run") is True
    assert count(Record) == 0 and count(Item) == 0


# --- a worker killed in the middle of a file ------------------------------------------------------

class Killed(Exception):
    """Stands for the worker process dying."""


def killed_file() -> tuple[bytes, dict[str, int]]:
    """Ten records, one item each; the last repeats the second (a later chunk matches an earlier one)."""
    records = [bib(f"Buku {n} untuk uji", isbn=isbn13(f"978602{n:06d}"), year=2000 + n,
                   items=((("p", f"KW-{n:03d}"),),)) for n in range(1, 10)]
    repeat = bib("Buku 2 untuk uji", isbn=isbn13(f"978602{2:06d}"), year=2002, items=((("p", "KW-010"),),))
    return iso(records + [repeat]), {"new": 9, "matched": 1, "items": 10}


@pytest.mark.parametrize("commit_before_dying", [True, False])
def test_killed_worker_resumes_without_duplicates(libs: tuple[Library, Library], monkeypatch: pytest.MonkeyPatch,
                                                  commit_before_dying: bool) -> None:
    """Chunks of 3: the worker dies after the 2nd (or during the 3rd); the rerun ends as a clean import would."""
    a, _b = libs
    monkeypatch.setitem(current_app.config, "CATALOG_IMPORT_CHUNK", 3)  # the chunk size the job reads
    data, expected = killed_file()
    batch = imports.start_import(stream=io.BytesIO(data), filename="killed.mrc", library_id=a.id, actor=SYSTEM,
                                 enqueue=False, max_bytes=None)
    db.session.commit()
    batch_id = batch.id
    calls = []

    def dying(_pct: float, _msg: str) -> None:
        calls.append(_pct)
        if len(calls) == 3 and commit_before_dying:  # start, chunk 1, chunk 2
            db.session.commit()
            raise Killed()
        if len(calls) == 4:  # chunk 3 processed but never committed
            raise Killed()
        db.session.commit()

    with pytest.raises(Killed):
        imports.run_import(batch_id, actor=SYSTEM, checkpoint=dying, today=TODAY)
    db.session.rollback()
    imports.fail_batch(batch_id, "worker lost")  # what the job wrapper does
    db.session.commit()
    done = 6  # two chunks of three were committed
    assert db.session.get(ImportBatch, batch_id).position == done
    assert count(ImportRow, ImportRow.batch_id == batch_id) == done

    counts = imports.run_import(batch_id, actor=SYSTEM, checkpoint=lambda _p, _m: db.session.commit(), today=TODAY)
    db.session.commit()
    assert counts == expected
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.status == BatchStatus.DONE and batch.position == 10
    assert count(Record) == 9 and count(Item) == 10
    assert count(ImportRow, ImportRow.batch_id == batch_id) == 10
    assert [r.position for r in rows(batch)] == list(range(1, 11))
    assert sorted(i.barcode for i in items_of(a)) == [f"KW-{n:03d}" for n in range(1, 11)]
    assert len({i.accession_number for i in items_of(a)}) == 10
    assert count(Record, Record.title == "Buku 2 untuk uji") == 1


# --- export -------------------------------------------------------------------------------------

def _stored(record_id: int) -> dict[str, Any]:
    return json.loads(db.session.get(Record, record_id).marc)


def test_export_iso2709_reads_back_the_same_records(libs: tuple[Library, Library]) -> None:
    """The union export read back gives every record's fields unchanged, in id order."""
    a, _b = libs
    run(iso(sample_file()), a)
    ids = list(db.session.scalars(select(Record.id).order_by(Record.id)))
    stats: dict[str, int] = {}
    data = b"".join(exports.export(fmt="iso2709", stats=stats))
    assert stats == {"records": 4, "skipped": 0}
    back = list(marc.read(io.BytesIO(data), fmt="iso2709"))
    assert [json.dumps(r.record["fields"], sort_keys=True) for r in back] == \
        [json.dumps(_stored(i)["fields"], sort_keys=True) for i in ids]
    xml = b"".join(exports.export(fmt="marcxml", stats={}))
    assert [r.record["fields"] for r in marc.read(io.BytesIO(xml), fmt="marcxml")] == [_stored(i)["fields"] for i in ids]


def test_library_export_carries_items_and_recreates_them(libs: tuple[Library, Library]) -> None:
    """A library's export has its items as 952; imported elsewhere the copies come back."""
    a, b = libs
    run(iso(sample_file()), a)
    stats: dict[str, int] = {}
    data = b"".join(exports.export(fmt="iso2709", stats=stats, library_id=a.id))
    a, b = refetch(a, b)  # the export expunges the session page by page
    assert stats["records"] == 3  # the record without items is not in A's holdings
    exported = [r.record for r in marc.read(io.BytesIO(data), fmt="iso2709")]
    barcodes = sorted(v for r in exported for _t, f in fields(r, "952") for v in subfields(f, "p"))
    assert barcodes == sorted(i.barcode for i in items_of(a))

    batch = run(data, b, filename="lib-a.mrc")
    assert batch.counts == {"matched": 3, "items": 4}
    theirs = {(i.record_id, i.accession_number): i for i in items_of(a)}
    mine = {(i.record_id, i.accession_number): i for i in items_of(b)}
    assert mine.keys() == theirs.keys()
    for key, copy in mine.items():
        original = theirs[key]
        for name in ("call_number", "collection", "item_type", "price", "acquired_on", "source", "status",
                     "lendable_network"):
            assert getattr(copy, name) == getattr(original, name), name


def test_library_export_keeps_item_type_and_source(libs: tuple[Library, Library]) -> None:
    """Every item type and acquisition source written by the export is read back by the import."""
    a, b = libs
    first = rows(run(iso(sample_file()), a))
    for n, (item_type, source) in enumerate(zip(ItemType, list(AcquisitionSource) * 2, strict=False)):
        item_service.add_item(record_id=first[2].record_id, library_id=a.id, actor=SYSTEM, today=TODAY,
                              data=item_service.ItemInput(barcode=f"TYPE-{n}", item_type=item_type, source=source))
    db.session.commit()
    data = b"".join(exports.export(fmt="iso2709", stats={}, library_id=a.id))
    a, b = refetch(a, b)
    run(data, b)
    theirs = {i.accession_number: (i.item_type, i.source) for i in items_of(a)}
    mine = {i.accession_number: (i.item_type, i.source) for i in items_of(b)}
    assert mine == theirs


# --- upload size --------------------------------------------------------------------------------

def _uploads(app: Flask) -> set[str]:
    folder = Path(app.instance_path) / "imports"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_upload_over_the_limit_leaves_nothing(ctx: Flask, libs: tuple[Library, Library]) -> None:
    """A stream over max_bytes (checked while copying, block by block) leaves no file and no batch."""
    a, _b = libs
    app = ctx
    before = _uploads(app)
    limit = 1_500_000  # more than one 1 MiB block is read before the limit is passed
    with pytest.raises(ValidationFailed) as info:
        imports.start_import(stream=io.BytesIO(b"0" * (limit + 1)), filename="big.mrc", library_id=a.id,
                             actor=SYSTEM, enqueue=False, max_bytes=limit)
    db.session.rollback()
    assert info.value.field == "file"
    assert _uploads(app) == before
    assert count(ImportBatch) == 0
    exact = imports.start_import(stream=io.BytesIO(iso(sample_file()[:1]).ljust(limit, b"\x1d")), filename="ok.mrc",
                                 library_id=a.id, actor=SYSTEM, enqueue=False, max_bytes=limit)
    db.session.commit()
    assert exact.size == limit and Path(exact.stored_path).is_file()


# --- the real files -------------------------------------------------------------------------------

def _real_files() -> list[Path]:
    if not MARC_DATA.is_dir():
        return []
    return sorted(p for p in MARC_DATA.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".txt"))


@pytest.fixture
def real_files() -> list[Path]:
    """Every real MARC file (skipped when ../shared/data/marc is absent)."""
    files = _real_files()
    if not files:
        pytest.skip(f"real MARC data not found at {MARC_DATA}")
    return files


def _read_count(path: Path) -> int:
    with path.open("rb") as handle:
        fmt = marc.detect_format(path.name, handle.read(4096))
        handle.seek(0)
        return sum(1 for _ in marc.read(handle, fmt=fmt))


def test_import_every_real_file_twice(libs: tuple[Library, Library], real_files: list[Path]) -> None:
    """Every file imports without an exception, one report row per record read; a second pass adds nothing."""
    a, _b = libs
    started = time.monotonic()
    totals: Counter[str] = Counter()
    for path in real_files:
        batch = run(path.read_bytes(), a, filename=path.name)
        report = rows(batch)
        assert batch.status == BatchStatus.DONE, path
        assert len(report) == _read_count(path), path
        assert [r.position for r in report] == list(range(1, len(report) + 1)), path
        for row in report:
            totals[row.outcome] += 1
            if row.outcome == "rejected":
                assert row.issues and row.issues[0]["code"] in MESSAGES, (path, row.position, row.issues)
            else:
                assert row.record_id is not None and db.session.get(Record, row.record_id) is not None
    assert totals["new"] > 2000 and totals["authority"] > 2000 and totals["rejected"] > 0
    records_after_first = count(Record)
    items_after_first = count(Item)
    assert items_after_first > 900  # the Koha 952s, nepali.marc, pride-and-prejudice...

    second: Counter[str] = Counter()
    for path in real_files:
        batch = run(path.read_bytes(), a, filename=path.name)
        second.update(r.outcome for r in rows(batch))
    assert second["new"] == 0
    assert second["rejected"] == totals["rejected"]
    assert sum(second.values()) == sum(totals.values())
    assert count(Record) == records_after_first and count(Item) == items_after_first
    print(f"real-data import: {sum(totals.values())} rows x2 in {time.monotonic() - started:.1f}s")
