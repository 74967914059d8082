"""Search: Indonesian-aware matching, facets, visibility, sorting, suggestions, scan, rebuild and verify."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from catalog import bib
from catalog import query as q
from catalog import search
from catalog.models import Item, ItemStatus
from catalog.services import discovery, indexing
from catalog.services import records as record_services
from catalog.services import items as item_service
from ils import jobs
from ils.authz import Actor
from ils.extensions import db
from ils.models import Library, Role
from tests.factories import SYSTEM, make_library, make_record

TODAY = date(2026, 3, 1)
PUSTAKA_ISBN = "978602031234" + str((10 - sum((1, 3)[i % 2] * int(c) for i, c in enumerate("978602031234")) % 10) % 10)


def _copy(record: Any, library: Library, *, public: bool = True, status: ItemStatus = ItemStatus.AVAILABLE,
          collection: str = "Umum") -> Item:
    return item_service.add_item(record_id=record.id, library_id=library.id, actor=SYSTEM, today=TODAY,
                                 data=item_service.ItemInput(public=public, status=status, collection=collection))


@pytest.fixture
def catalog(ctx: Flask) -> dict[str, Any]:
    """A small catalog over three libraries, indexed."""
    city, school, company = make_library("PUKB"), make_library("SDN-1"), make_library("KH-PT")
    rec: dict[str, Any] = {"libs": (city, school, company)}
    rec["baca"], _ = make_record("Membaca bacaan anak", authors=["Sari, Dewi"], year=2019,
                                 subjects=["Membaca -- Pengajaran", "Literasi"], publisher="Balai Pustaka")
    rec["pustaka"], _ = make_record("Pengelolaan perpustakaan sekolah", authors=["Hadi, Budi"], year=2012,
                                    subjects=["Perpustakaan sekolah"], isbn=PUSTAKA_ISBN)
    rec["sejarah"], _ = make_record("Sejarah Kota Bontang", authors=["Rahman, Abdul"], year=2001,
                                    subjects=["Bontang -- Sejarah"], language="ind")
    rec["library"], _ = make_record("Managing school libraries", authors=["Smith, John"], year=2020,
                                    subjects=["School libraries -- Management"], language="eng")
    rec["notes"], _ = make_record("Kumpulan puisi", authors=["Tohari, Ahmad"], year=1995,
                                  notes="Berisi puisi tentang sejarah nelayan.", subjects=["Puisi Indonesia"])
    rec["private"], _ = make_record("Laporan teknis pabrik amonia", authors=["Tim, Teknik"], year=2021)
    for key in ("baca", "pustaka", "sejarah", "notes"):
        _copy(rec[key], city)
    _copy(rec["baca"], school, status=ItemStatus.ON_LOAN, collection="Anak")
    _copy(rec["library"], school)
    _copy(rec["private"], company, public=False)
    db.session.commit()
    # Keep plain ids: running the jobs ends this session.
    plain = {k: SimpleNamespace(id=v.id) for k, v in rec.items() if k != "libs"}
    plain["libs"] = tuple(SimpleNamespace(id=lib.id, code=lib.code) for lib in rec["libs"])
    jobs.run_burst()
    return plain


def ids(text: str, **kw: Any) -> list[int]:
    """Record ids of a public search box query."""
    return [h.record_id for h in discovery.search_page(text=text, **kw).hits]


def test_affixed_forms_find_their_root(catalog: dict[str, Any]) -> None:
    baca = catalog["baca"].id
    for word in ("membaca", "bacaan", "pembaca", "baca", "dibaca"):
        assert baca in ids(word), word
    assert catalog["pustaka"].id in ids("perpustakaan") and catalog["pustaka"].id in ids("kelola")
    assert catalog["library"].id in ids("library management")  # English stems too


def test_isbn_10_finds_the_record_stored_with_isbn_13(catalog: dict[str, Any]) -> None:
    record = catalog["pustaka"].id
    isbn13, isbn10 = bib.isbn_forms(PUSTAKA_ISBN)
    assert discovery.direct_hit(f"{isbn10[:3]}-{isbn10[3:6]}-{isbn10[6:9]}-{isbn10[9]}", actor=None) == record
    assert discovery.direct_hit(isbn13, actor=None) == record
    assert ids(f"isbn:{isbn10}") == [record] and ids(isbn10) == [record]
    wrong = isbn10[:9] + ("0" if isbn10[9] != "0" else "1")
    assert discovery.direct_hit(wrong, actor=None) is None  # a wrong check digit names nothing


def test_title_ranks_above_notes(catalog: dict[str, Any]) -> None:
    found = ids("sejarah")
    assert found[0] == catalog["sejarah"].id and catalog["notes"].id in found
    assert found.index(catalog["sejarah"].id) < found.index(catalog["notes"].id)


def test_phrase_prefix_not_or_and_field_prefixes(catalog: dict[str, Any]) -> None:
    assert ids('"kota bontang"') == [catalog["sejarah"].id]
    assert ids('"bontang kota"') == []
    assert catalog["sejarah"].id in ids("sejar*")
    assert ids("sejarah -puisi") == [catalog["sejarah"].id]
    assert set(ids("puisi OR managing")) == {catalog["notes"].id, catalog["library"].id}
    assert ids("judul:sejarah") == ids("title:sejarah") == [catalog["sejarah"].id]
    assert ids("pengarang:tohari") == ids("author:tohari") == [catalog["notes"].id]
    assert ids("subjek:literasi") == [catalog["baca"].id]
    assert ids("penerbit:pustaka") == [catalog["baca"].id]
    assert ids("tahun:2010-2015") == [catalog["pustaka"].id]


def test_facets_count_and_filter(catalog: dict[str, Any]) -> None:
    page = discovery.search_page(text="")
    facets = dict((k, dict(v)) for k, v in page.facets.items())
    assert page.total == 5  # the private-only record is hidden from the public
    assert facets["library"] == {"PUKB": 4, "SDN-1": 2}
    assert facets["available"] == {"PUKB": 4, "SDN-1": 1}  # the school's copy of "baca" is on loan
    assert facets["language"]["eng"] == 1 and facets["language"]["ind"] == 4
    assert facets["year"]["2010-2019"] == 2 and facets["year"]["2020-2099"] == 1
    assert facets["collection"]["Anak"] == 1
    narrowed = discovery.search_page(text="", filters={"library": ["SDN-1"], "language": ["ind"]})
    assert [h.record_id for h in narrowed.hits] == [catalog["baca"].id]
    assert discovery.search_page(text="", filters={"available": ["SDN-1"]}).total == 1


def test_private_copies_only_for_their_own_library(catalog: dict[str, Any]) -> None:
    city, _school, company = catalog["libs"]
    private = catalog["private"].id
    assert private not in ids("amonia")
    own = Actor(label="kh", role=Role.LIBRARIAN, library_id=company.id)
    other = Actor(label="pukb", role=Role.LIBRARIAN, library_id=city.id)
    assert [h.record_id for h in discovery.search_page(text="amonia", actor=own).hits] == [private]
    assert discovery.search_page(text="amonia", actor=other).hits == []
    assert discovery.search_page(text="amonia", actor=SYSTEM).total == 1
    holdings = discovery.availability([private], actor=own)[private]
    assert holdings[0].code == "KH-PT" and holdings[0].private
    assert discovery.availability([private], actor=None) == {}


def test_availability_is_read_live_from_the_database(catalog: dict[str, Any]) -> None:
    record = catalog["baca"].id
    hit = discovery.search_page(text="membaca").hits[0]
    assert {(h.code, h.available, h.on_loan) for h in hit.holdings} == {("PUKB", 1, 0), ("SDN-1", 0, 1)}
    item = db.session.scalars(select(Item).where(Item.record_id == record, Item.status == ItemStatus.AVAILABLE)).one()
    item.status = ItemStatus.IN_TRANSIT  # no index run: the page still shows it at once
    db.session.commit()
    hit = discovery.search_page(text="membaca").hits[0]
    assert sum(h.available for h in hit.holdings) == 0 and sum(h.other for h in hit.holdings) == 1


def test_sorting_and_paging(catalog: dict[str, Any]) -> None:
    newest = ids("", sort="newest")
    assert newest[0] == catalog["library"].id and newest[-1] == catalog["notes"].id
    assert ids("", sort="oldest") == list(reversed(newest))
    titles = [h.title for h in discovery.search_page(text="", sort="title").hits]
    assert titles == sorted(titles, key=str.casefold)
    first, second = discovery.search_page(text="", page=1, per_page=2), discovery.search_page(text="", page=2, per_page=2)
    assert first.pages == 3 and not {h.record_id for h in first.hits} & {h.record_id for h in second.hits}


def test_typo_gets_a_suggestion_from_the_catalog(catalog: dict[str, Any]) -> None:
    page = discovery.search_page(text="sejarh bontnag")
    assert page.total == 0 and page.suggestion == "sejarah bontang"
    assert discovery.search_page(text="sejarah").suggestion is None


def test_scan_lists_terms_with_counts(catalog: dict[str, Any]) -> None:
    terms = dict(discovery.scan("any", "sej", count=3))  # "any" scans the words of titles, names, subjects, series
    assert list(terms)[0] == "sejarah" and terms["sejarah"] == 1  # the second "sejarah" stands in a note
    assert dict(discovery.scan("notes", "sejarah", count=1)) == {"sejarah": 1}
    assert "amonia" not in dict(discovery.scan("any", "am", count=5))  # private-only words are not shown
    with pytest.raises(discovery.UnknownField):
        discovery.scan("id", "1")


def test_find_for_protocols_and_unknown_fields(catalog: dict[str, Any]) -> None:
    total, found = discovery.find(q.And((q.Words("title", "sejarah"), q.Range("year", 2000, 2005))))
    assert (total, found) == (1, [catalog["sejarah"].id])
    total, found = discovery.find(q.Everything(), count=0)
    assert total == 5 and found == []
    with pytest.raises(discovery.UnknownField):
        discovery.find(q.Words("nonsense", "x"))


def test_rebuild_swaps_in_a_complete_index_and_verify_finds_drift(catalog: dict[str, Any]) -> None:
    before = ids("sejarah")
    steps: list[tuple[int, int]] = []
    assert indexing.rebuild(progress=lambda n, total: steps.append((n, total))) == 6
    assert steps[-1] == (6, 6) and search.index_dir().is_symlink()
    assert ids("sejarah") == before
    assert indexing.verify() == {"missing": [], "stale": [], "extra": []}
    search.apply([], [catalog["baca"].id])  # the index loses a record behind the database's back
    doc = indexing.documents([catalog["sejarah"].id])[0]
    doc.title = "Judul lama"
    search.apply([doc], [])
    drift = indexing.verify()
    assert drift["missing"] == [catalog["baca"].id] and drift["stale"] == [catalog["sejarah"].id]


def test_issn_in_any_form(ctx: Flask) -> None:
    record, _ = make_record("Majalah Perpustakaan Bontang", serial=True)
    marc = record_services.marc_of(record)
    marc["fields"].append({"022": {"ind1": " ", "ind2": " ", "subfields": [{"a": "2049-3630"}]}})
    record_services.update_record(record_id=record.id, marc=marc, actor=SYSTEM)
    record_id = record.id
    db.session.commit()
    jobs.run_burst()
    assert ids("2049-3630") == ids("issn:20493630") == ids("issn:2049-3630") == [record_id]


def test_cli_reindex_and_verify(app: Flask, catalog: dict[str, Any]) -> None:
    db.session.remove()
    runner = app.test_cli_runner()
    built = runner.invoke(args=["catalog", "reindex"])
    assert built.exit_code == 0 and "6 records indexed" in built.output, built.output
    clean = runner.invoke(args=["catalog", "reindex", "--verify"])
    assert clean.exit_code == 0 and "missing: 0" in clean.output and "stale: 0" in clean.output
    search.apply([], [catalog["baca"].id])
    drift = runner.invoke(args=["catalog", "reindex", "--verify"])
    assert drift.exit_code == 1 and f"missing: 1 (record ids: {catalog['baca'].id})" in drift.output


def test_a_lost_queued_index_job_does_not_block_new_ones(ctx: Flask) -> None:
    """A queued record whose job Redis lost (restart, other Redis) must not stop the index from updating."""
    from catalog.services.outbox import INDEX_JOB
    from ils.models import JobRecord, JobStatus

    lost = JobRecord(id="lost-index-job", kind=INDEX_JOB, queue="search", status=JobStatus.QUEUED, args={},
                     started_by_label="test")
    db.session.add(lost)
    db.session.commit()
    record, _ = make_record("Hikayat yang hilang")
    db.session.commit()
    queued = [r.id for r in db.session.scalars(select(JobRecord).where(JobRecord.kind == INDEX_JOB))]
    assert len(queued) == 2 and jobs.in_queue(next(i for i in queued if i != "lost-index-job"))
    record_id = record.id
    jobs.run_burst()
    assert discovery.find(q.Words("title", "hikayat"))[1] == [record_id]


def test_an_index_of_older_fields_is_rebuilt_by_the_index_job(catalog: dict[str, Any]) -> None:
    """After an update that changes the index's fields, the next index job rebuilds it (no manual step)."""
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, Schema

    search.remove_all()
    folder = search.index_dir()
    folder.mkdir(parents=True)
    whoosh_index.create_in(str(folder), Schema(id=ID(unique=True, stored=True)))  # as an old version left it
    assert not search.schema_current()
    result = indexing.drain_outbox(checkpoint=lambda *_: None)
    db.session.commit()
    assert result["rebuilt"] and result["indexed"] == 6 and search.schema_current()
    assert catalog["sejarah"].id in ids("sejarah")
