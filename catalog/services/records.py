"""Records of the union catalog: save with history, find, compare versions, delete, merge.

Services take keyword arguments with an explicit actor, flush, and leave the commit to the caller.
Every change also writes an IndexChange row (the search outbox) in the same transaction and asks
for the index job to run after the commit.
"""
from __future__ import annotations

import difflib
import json
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, update

from catalog import bib, staging
from catalog.models import DeletedRecord, Item, MatchKey, Record, RecordKind, RecordVersion
from catalog.services.outbox import mark_changed
from catalog.staging import Prepared, prepare
from catalog.validation import Issue, validate
from ils import audit, authz
from ils.authz import Actor
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow

LIST_SEPARATOR = staging.LIST_SEPARATOR


def columns(p: Prepared) -> dict[str, Any]:
    """The Record column values derived from a prepared record."""
    values = staging.columns(p)
    values["kind"] = RecordKind(values["kind"])
    return values


def marc_of(record: Record) -> bib.MarcDict:
    """The record's MARC as a dict."""
    return bib.loads(record.marc)


def get_record(record_id: int, *, kind: RecordKind | None = None) -> Record:
    """A record by id, or NotFound (also for the wrong kind)."""
    record = db.session.get(Record, record_id)
    if record is None or (kind is not None and record.kind != kind):
        raise NotFound(str(_l("This catalog record does not exist (it may have been merged or deleted).")))
    return record


def tombstone(record_id: int) -> DeletedRecord | None:
    """Why a record is gone (deleted or merged), if it was."""
    return db.session.get(DeletedRecord, record_id)


def _check(marc: bib.MarcDict, *, allow_warnings: bool = True) -> list[Issue]:
    issues = validate(marc)
    blocking = [i for i in issues if i.severity == "error" or not allow_warnings]
    if blocking:
        raise ValidationFailed("; ".join(i.message() for i in blocking[:5]))
    return issues


def _set_keys(record_id: int, keys: list[tuple[str, str]]) -> None:
    db.session.execute(delete(MatchKey).where(MatchKey.record_id == record_id))
    if keys:
        db.session.execute(MatchKey.__table__.insert(),
                           [{"record_id": record_id, "kind": kind, "key": key} for kind, key in keys])


def _version(record: Record, *, action: str, actor: Actor, note: str = "", batch_id: int | None = None) -> None:
    db.session.add(RecordVersion(record_id=record.id, version=record.version, marc=record.marc, action=action,
                                 note=note[:300], actor_label=actor.label, user_id=actor.user_id,
                                 import_batch_id=batch_id, created_at=utcnow()))


def org_code() -> str:
    """Our MARC organisation code (003, 040)."""
    return current_app.config["CATALOG_ORG_CODE"]


def create_record(*, marc: bib.MarcDict, actor: Actor, note: str = "") -> Record:
    """Store a new record (blocking errors refused, warnings allowed) with its first version."""
    authz.require(actor, "catalog.edit", actor.library_id)
    _check(marc)
    p = prepare(marc)
    record = Record(**columns(p), version=1, created_by=actor.label, created_library_id=actor.library_id)
    db.session.add(record)
    db.session.flush()
    if not bib.control(marc, "001"):  # our own control number for records made here
        marc["fields"].insert(0, {"003": org_code()})
        marc["fields"].insert(0, {"001": str(record.id)})
        p = prepare(marc)
        for key, value in columns(p).items():
            setattr(record, key, value)
    _set_keys(record.id, p.keys)
    _version(record, action="create", actor=actor, note=note)
    mark_changed([record.id])
    audit.record(actor, "record.create", object_type="record", object_id=record.id, library_id=actor.library_id,
                 details={"title": record.title[:200]})
    db.session.flush()
    return record


def update_record(*, record_id: int, marc: bib.MarcDict, actor: Actor, expected_version: int | None = None,
                  note: str = "", action: str = "update", batch_id: int | None = None,
                  check: bool = True) -> Record:
    """Replace a record's MARC (a new version); ``expected_version`` refuses a lost update.

    ``check=False`` is for imports, which store what they read and report its issues instead.
    """
    authz.require(actor, "catalog.edit", actor.library_id)
    record = get_record(record_id)
    if expected_version is not None and record.version != expected_version:
        raise Conflict(str(_l("Someone else saved this record meanwhile (now version %(v)s). Reload it and "
                              "make your change again.", v=record.version)))
    if check:
        _check(marc)
    p = prepare(marc)
    if p.text == record.marc:
        return record
    for key, value in columns(p).items():
        setattr(record, key, value)
    record.version += 1
    _set_keys(record.id, p.keys)
    _version(record, action=action, actor=actor, note=note, batch_id=batch_id)
    mark_changed([record.id])
    audit.record(actor, f"record.{action}", object_type="record", object_id=record.id,
                 library_id=actor.library_id, details={"version": record.version})
    db.session.flush()
    return record


def history(record_id: int) -> list[RecordVersion]:
    """Every version of a record, newest first (also for deleted and merged records)."""
    return list(db.session.scalars(select(RecordVersion).where(RecordVersion.record_id == record_id)
                                   .order_by(RecordVersion.version.desc())))


def mnemonic(marc: bib.MarcDict) -> list[str]:
    """A record as MARCMaker-style lines ("=245  10$aTitle"), for display and diffs."""
    return bib.to_mnemonic(marc)


def diff_versions(record_id: int, old: int, new: int) -> list[tuple[str, str]]:
    """(sign, line) pairs between two versions: "-" removed, "+" added, " " unchanged."""
    versions = {v.version: v for v in history(record_id)}
    if old not in versions or new not in versions:
        raise NotFound()
    before = mnemonic(bib.loads(versions[old].marc))
    after = mnemonic(bib.loads(versions[new].marc))
    out = []
    for line in difflib.ndiff(before, after):
        if line[:1] in "-+ ":
            out.append((line[:1], line[2:]))
    return out


def find_by_isbn(text: str) -> list[Record]:
    """Bibliographic records carrying this ISBN (any form) -- the copy-cataloguing lookup."""
    normal = bib.normalise_isbn(text)
    if not normal:
        return []
    ids = select(MatchKey.record_id).where(MatchKey.key == f"b|isbn:{normal}")
    return list(db.session.scalars(select(Record).where(Record.id.in_(ids)).order_by(Record.id)))


def staff_search(*, text: str = "", kind: RecordKind = RecordKind.BIBLIOGRAPHIC, library_id: int | None = None,
                 material: str = "") -> Any:
    """A select of records for the staff catalog list: title, author, ISBN, barcode or id."""
    stmt = select(Record).where(Record.kind == kind)
    words = bib.fold(text).split()
    barcode_ids = select(Item.record_id).where(Item.barcode == text.strip())
    if text.strip().isdigit() and len(text.strip()) < 10:
        stmt = stmt.where(or_(Record.id == int(text.strip()), Record.id.in_(barcode_ids)))
    elif (normal := bib.normalise_isbn(text)) is not None:
        stmt = stmt.where(Record.id.in_(select(MatchKey.record_id).where(MatchKey.key == f"b|isbn:{normal}")))
    elif words:
        conditions = [or_(Record.title_sort.contains(w), func.lower(Record.main_author).contains(w),
                          func.lower(Record.other_names).contains(w), Record.isbns.contains(w)) for w in words[:6]]
        stmt = stmt.where(or_(Record.id.in_(barcode_ids), and_(*conditions)))
    if library_id is not None:
        stmt = stmt.where(Record.id.in_(select(Item.record_id).where(Item.library_id == library_id)))
    if material:
        stmt = stmt.where(Record.material_type == material)
    return stmt.order_by(Record.title_sort, Record.id)


def delete_record(*, record_id: int, actor: Actor, reason: str = "") -> None:
    """Delete a record that has no items; a tombstone remembers it (OAI-PMH reports deletions)."""
    authz.require(actor, "catalog.edit", actor.library_id)
    record = get_record(record_id)
    count = db.session.scalar(select(func.count()).select_from(Item).where(Item.record_id == record_id))
    if count:
        raise Conflict(str(_l("This record still has %(n)s item(s); move or delete them first.", n=count)))
    _bury(record, actor=actor, reason=reason)
    audit.record(actor, "record.delete", object_type="record", object_id=record_id, library_id=actor.library_id,
                 details={"title": record.title[:200], "reason": reason[:200]})
    db.session.flush()


def _bury(record: Record, *, actor: Actor, reason: str, merged_into: int | None = None) -> None:
    db.session.add(DeletedRecord(record_id=record.id, kind=record.kind.value, title=record.title[:2000],
                                 merged_into_id=merged_into, reason=reason[:300], actor_label=actor.label))
    db.session.execute(delete(MatchKey).where(MatchKey.record_id == record.id))
    mark_changed([record.id])
    db.session.delete(record)


def merge_records(*, keep_id: int, remove_id: int, actor: Actor) -> Record:
    """Merge a duplicate into the record kept: items move, identifiers join, both histories stay."""
    authz.require(actor, "catalog.merge", actor.library_id)
    if keep_id == remove_id:
        raise ValidationFailed(str(_l("Choose two different records to merge.")))
    keep, remove = get_record(keep_id), get_record(remove_id)
    if keep.kind != remove.kind:
        raise ValidationFailed(str(_l("Only records of the same kind can be merged.")))
    moved = db.session.execute(update(Item).where(Item.record_id == remove.id).values(record_id=keep.id)).rowcount
    marc = marc_of(keep)
    have = {json.dumps(f, sort_keys=True) for f in marc["fields"]}
    for entry in marc_of(remove)["fields"]:  # keep the duplicate's identifiers so later imports match
        tag = next(iter(entry))
        if tag in ("020", "022", "035") and json.dumps(entry, sort_keys=True) not in have:
            marc["fields"].append(entry)
    marc["fields"].sort(key=lambda f: next(iter(f)) if next(iter(f)).isdigit() else "999")
    p = prepare(marc)
    for key, value in columns(p).items():
        setattr(keep, key, value)
    keep.version += 1
    _version(keep, action="merge", actor=actor, note=f"merged #{remove.id}")
    removed_keys = [k for k in prepare(marc_of(remove)).keys if k[0] != "content"]
    _bury(remove, actor=actor, reason=f"merged into #{keep.id}", merged_into=keep.id)
    db.session.flush()
    _set_keys(keep.id, list(dict.fromkeys(p.keys + removed_keys)))
    mark_changed([keep.id])
    audit.record(actor, "record.merge", object_type="record", object_id=keep.id, library_id=actor.library_id,
                 details={"removed": remove_id, "items_moved": moved})
    db.session.flush()
    return keep


# Fields the quick form writes; a quick edit replaces these and keeps every other field.
QUICK_TAGS = {"020", "041", "082", "100", "110", "245", "250", "260", "264", "300", "490", "500", "650", "700", "710"}


def merge_quick_changes(old: bib.MarcDict, new: bib.MarcDict) -> bib.MarcDict:
    """The old record with the quick form's fields taken from the new one (008 dates/language too)."""
    kept = [f for f in old.get("fields", ()) if next(iter(f)) not in QUICK_TAGS]
    added = [f for f in new["fields"] if next(iter(f)) in QUICK_TAGS]
    merged = sorted(kept + added, key=lambda f: next(iter(f)))  # stable: same-tag order is kept
    old_008 = bib.control(old, "008")
    new_008 = bib.control(new, "008")
    if len(old_008) == 40 and len(new_008) == 40:
        # Dates and language always; the book positions (illustrations, audience, fiction) for books.
        book = (old.get("leader") or "")[6:8] in ("am", "tm") and new["leader"][6:8] in ("am", "tm")
        middle = new_008[18:35] if book else old_008[18:35]
        fixed = old_008[:7] + new_008[7:11] + old_008[11:18] + middle + new_008[35:38] + old_008[38:]
        merged = [{"008": fixed} if next(iter(f)) == "008" else f for f in merged]
    leader = (old.get("leader") or new["leader"]).ljust(24)
    return {"leader": leader[:7] + new["leader"][7] + leader[8:24], "fields": merged}
