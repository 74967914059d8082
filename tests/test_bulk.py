"""ils.bulk: rows written with one executemany are stored exactly as the ORM stores them; reserved ids are unique."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, text

from catalog.models import AcquisitionSource, ImportRow, Item, ItemStatus, ItemType, Record
from ils import bulk
from ils.extensions import db
from tests.factories import make_batch, make_library, make_record

MOMENT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)  # microsecond 0: formats differ most there
LATER = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=timezone(timedelta(hours=8)))  # not UTC: converted


def _raw(table: str, row_id: int) -> dict[str, Any]:
    """A row as the driver returns it, without any SQLAlchemy type processing."""
    result = db.session.connection().exec_driver_sql(f'SELECT * FROM "{table}" WHERE id = {int(row_id)}')
    return dict(zip(result.keys(), result.one(), strict=True))


def test_items_are_stored_exactly_as_the_orm_stores_them(ctx: Flask) -> None:
    library = make_library("LIB-BULK")
    record, _item = make_record("Sejarah Kota Bontang")
    batch = make_batch(library)
    values = {"record_id": record.id, "library_id": library.id, "location_library_id": library.id,
              "collection": "Referensi", "call_class": "959.84",
              "call_author": "SEJ", "call_title": "s", "item_type": ItemType.REFERENSI, "status": ItemStatus.DAMAGED,
              "status_changed_at": MOMENT, "price": 125000, "source": AcquisitionSource.HADIAH,
              "acquired_on": date(2025, 12, 31), "notes": "sampul robek", "public": False, "lendable_network": True,
              "withdrawn_reason": "", "withdrawn_on": None, "import_batch_id": batch.id, "created_at": MOMENT,
              "updated_at": LATER}
    orm = Item(barcode="ORM0001", import_key="k:orm", **{**values, "accession_number": "00001/LIB/2026"})
    db.session.add(orm)
    db.session.flush()
    varying = ["barcode", "import_key", "accession_number", "item_type", "acquired_on", "public", "updated_at"]
    constants = {k: v for k, v in values.items() if k not in varying}
    count = bulk.insert_rows(Item.__table__, varying, [["BULK0001", "k:bulk", "00002/LIB/2026", ItemType.REFERENSI,
                                                        date(2025, 12, 31), False, LATER]], constants=constants)
    assert count == 1
    bulk_id = db.session.scalar(select(Item.id).where(Item.barcode == "BULK0001"))
    stored_orm, stored_bulk = _raw("catalog_item", orm.id), _raw("catalog_item", bulk_id)
    for differs in ("id", "barcode", "import_key", "accession_number"):
        stored_orm.pop(differs), stored_bulk.pop(differs)
    assert stored_bulk == stored_orm
    db.session.expire_all()
    loaded = db.session.get(Item, bulk_id)
    assert loaded.updated_at == LATER and loaded.status_changed_at == MOMENT and loaded.status == ItemStatus.DAMAGED


def test_json_and_null_columns_match_the_orm(ctx: Flask) -> None:
    batch = make_batch(make_library("LIB-ROWS"))
    issues = [{"code": "isbn_check", "severity": "warning", "tag": "020", "params": {"value": "123"}}]
    for position, row_issues in ((1, issues), (2, None)):
        db.session.add(ImportRow(batch_id=batch.id, position=position, offset=None, outcome="new", record_id=None,
                                 matched_by="", previous_version=None, items_added=0, title="Judul", issues=row_issues,
                                 raw=None))
    db.session.flush()
    columns = ["position", "offset", "outcome", "record_id", "matched_by", "previous_version", "items_added",
               "title", "issues", "raw"]
    bulk.insert_rows(ImportRow.__table__, columns, [[11, None, "new", None, "", None, 0, "Judul", issues, None],
                                                    [12, None, "new", None, "", None, 0, "Judul", None, None]],
                     constants={"batch_id": batch.id})
    ids = dict(db.session.execute(select(ImportRow.position, ImportRow.id)).all())
    for orm_position, bulk_position in ((1, 11), (2, 12)):
        stored_orm, stored_bulk = _raw("catalog_import_row", ids[orm_position]), _raw("catalog_import_row",
                                                                                        ids[bulk_position])
        for differs in ("id", "position"):
            stored_orm.pop(differs), stored_bulk.pop(differs)
        assert stored_bulk == stored_orm


def test_no_rows_writes_nothing(ctx: Flask) -> None:
    assert bulk.insert_rows(ImportRow.__table__, ["position"], [], constants={"batch_id": 1}) == 0


def test_reserved_ids_are_new_increasing_and_never_reused(ctx: Flask) -> None:
    first, _ = make_record("Satu")
    second, _ = make_record("Dua")
    reserved = bulk.reserve_ids(Record.__table__, 3)
    assert reserved == sorted(reserved) and len(set(reserved)) == 3 and min(reserved) > second.id
    assert bulk.reserve_ids(Record.__table__, 0) == []
    more = bulk.reserve_ids(Record.__table__, 2)
    assert min(more) > max(reserved)  # nothing handed out twice, even unused
    db.session.execute(delete(Record).where(Record.id == second.id))
    db.session.commit()
    third, _ = make_record("Tiga")  # the ORM path keeps counting after the reserved ids too
    assert third.id > max(more) and third.id != second.id
    assert bulk.reserve_ids(Record.__table__, 1)[0] > third.id


def test_tables_without_a_counter_reserve_only_on_postgresql(ctx: Flask) -> None:
    """SQLite could hand out a deleted row's id again without AUTOINCREMENT; PostgreSQL has a sequence."""
    if db.session.connection().dialect.name == "sqlite":
        with pytest.raises(ValueError, match="AUTOINCREMENT"):
            bulk.reserve_ids(ImportRow.__table__, 1)
    else:
        assert len(set(bulk.reserve_ids(ImportRow.__table__, 4))) == 4


def test_reserving_works_on_a_table_that_never_had_a_row(ctx: Flask) -> None:
    if db.session.connection().dialect.name == "sqlite":
        db.session.execute(text("DELETE FROM sqlite_sequence WHERE name = 'catalog_record'"))
    assert db.session.scalar(select(Record.id).limit(1)) is None
    reserved = bulk.reserve_ids(Record.__table__, 2)
    assert len(reserved) == 2 and reserved[1] > reserved[0] >= 1
    record, _ = make_record("Sesudahnya")
    assert record.id > reserved[1]


def test_checkpoints_are_deferred_only_inside_the_block(ctx: Flask) -> None:
    sqlite = db.session.connection().dialect.name == "sqlite"

    def setting() -> int | None:
        return db.session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() if sqlite else None

    before = setting()
    with bulk.sqlite_checkpoints_deferred():
        inside = setting()
        make_record("Di dalam blok")
    db.session.commit()
    if sqlite:
        assert (before, inside, setting()) == (bulk.DEFAULT_WAL_AUTOCHECKPOINT, bulk.BULK_WAL_AUTOCHECKPOINT,
                                               bulk.DEFAULT_WAL_AUTOCHECKPOINT)
    else:  # nothing to tune on PostgreSQL; the block still works
        assert db.session.scalar(select(Record.title).where(Record.title.like("Di dalam%"))) is not None


def test_statistics_after_bulk_writes_let_the_planner_use_the_datestamp_index(ctx: Flask) -> None:
    """Without statistics SQLite sorted the whole record table for each OAI-PMH page."""
    for n in range(30):
        make_record(f"Judul nomor {n}")
    db.session.commit()
    bulk.refresh_statistics()
    db.session.commit()
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        assert connection.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar() > 0
        plan = " ".join(str(row) for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM catalog_record WHERE kind = 'bibliographic' "
            "AND (updated_at, id) > ('2026-01-01', 0) ORDER BY updated_at, id LIMIT 501").all())
        assert "ix_catalog_record_updated" in plan and "TEMP B-TREE" not in plan, plan
    else:  # PostgreSQL keeps statistics itself: nothing to do, and nothing breaks
        assert db.session.scalar(select(Record.id).limit(1)) is not None
