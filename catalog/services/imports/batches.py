"""Import batches after the fact: found by id, listed, their report rows, and a finished one reverted.

Staff see the batches of the libraries they may import for; the import job looks its batch up
without an actor (it was authorised when queued). Reverting removes the batch's items and the
records it created, and gives the records it replaced their previous version.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from catalog import bib
from catalog.models import BatchStatus, ImportBatch, ImportRow, Item, ItemStatus, Record, RecordVersion
from catalog.services import items as item_service
from catalog.services.outbox import mark_changed
from catalog.services.records import delete_record, update_record
from ils import audit, authz
from ils.authz import Actor
from ils.errors import Conflict, NotFound
from ils.extensions import db

OUTCOMES = ("new", "matched", "updated", "authority", "rejected")


def get_batch_unchecked(batch_id: int) -> ImportBatch:
    """A batch by id for the job that imports it (no actor: the job was authorised when queued)."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound()
    return batch


def get_batch(batch_id: int, *, actor: Actor) -> ImportBatch:
    """A batch the actor may see."""
    batch = get_batch_unchecked(batch_id)
    authz.require(actor, "catalog.import", batch.library_id)
    return batch


def batch_rows(batch_id: int, *, outcome: str = "") -> Any:
    """A select of a batch's report rows in file order, optionally of one outcome."""
    stmt = select(ImportRow).where(ImportRow.batch_id == batch_id)
    if outcome in OUTCOMES:
        stmt = stmt.where(ImportRow.outcome == outcome)
    return stmt.order_by(ImportRow.position)


def list_batches(*, actor: Actor) -> Any:
    """A select of the import batches the actor may see, newest first."""
    ids = authz.require_listing(actor, "catalog.import")
    stmt = select(ImportBatch)
    if ids is not None:
        stmt = stmt.where(ImportBatch.library_id.in_(ids))
    return stmt.order_by(ImportBatch.id.desc())


def revert_batch(*, batch_id: int, actor: Actor) -> dict[str, int]:
    """Undo a finished batch: its items go, records it created go, records it replaced get their old version."""
    batch = get_batch(batch_id, actor=actor)
    if batch.status != BatchStatus.DONE or batch.dry_run:
        raise Conflict(str(_l("Only a finished import can be reverted.")))
    busy = db.session.scalar(select(func.count()).select_from(Item).where(
        Item.import_batch_id == batch.id, Item.status.not_in([ItemStatus.AVAILABLE, ItemStatus.WITHDRAWN,
                                                              ItemStatus.LOST, ItemStatus.DAMAGED])))
    if busy:
        raise Conflict(str(_l("%(n)s item(s) of this import are on loan or in transit; revert when they are back.",
                              n=busy)))
    removed_items = 0
    touched: set[int] = set()
    for item in db.session.scalars(select(Item).where(Item.import_batch_id == batch.id)):
        touched.add(item.record_id)
        db.session.delete(item)
        removed_items += 1
    mark_changed(touched)
    db.session.flush()
    item_service.holdings_changed(touched)  # the records that stay lost copies: a new OAI datestamp
    removed_records = restored = 0
    for row in db.session.scalars(batch_rows(batch.id)):
        if row.record_id is None:
            continue
        if row.outcome in ("new", "authority") and not row.matched_by:
            if db.session.get(Record, row.record_id) is not None and item_service.count_items(row.record_id) == 0:
                delete_record(record_id=row.record_id, actor=Actor.system(f"import-revert:{actor.label}"[:100]),
                              reason=f"import batch #{batch.id} reverted")
                removed_records += 1
        elif row.outcome == "updated" and row.previous_version:
            old = db.session.scalar(select(RecordVersion.marc).where(RecordVersion.record_id == row.record_id,
                                                                   RecordVersion.version == row.previous_version))
            if old is not None:
                update_record(record_id=row.record_id, marc=bib.loads(old), actor=actor, action="revert",
                              note=f"batch #{batch.id} reverted", check=False)
                restored += 1
    batch.status = BatchStatus.REVERTED
    result = {"items": removed_items, "records": removed_records, "restored": restored}
    audit.record(actor, "import.revert", object_type="import_batch", object_id=batch.id, library_id=batch.library_id,
                 details=result)
    db.session.flush()
    return result
