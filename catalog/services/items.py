"""Items (holdings): each library's copies of a shared record, numbered by its own patterns.

Item status belongs to the catalog: circulation changes it only through ``set_status``.
"""
from __future__ import annotations

import re
import string
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update

from catalog import bib
from catalog.models import AcquisitionSource, CatalogSettings, Counter, Item, ItemStatus, ItemType, Record, RecordKind
from catalog.services.outbox import mark_changed
from catalog.services.records import get_record
from ils import audit, authz
from ils.authz import Actor
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library

PATTERN_FIELDS = {"seq", "code", "yyyy", "yy", "mm"}
BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{2,39}$")
EDITABLE = ("collection", "call_class", "call_author", "call_title", "item_type", "price", "source", "acquired_on",
            "notes", "public", "lendable_network", "location_library_id")


@dataclass
class ItemInput:
    """What a librarian gives for a new copy; blanks are filled from the library's settings."""

    barcode: str = ""
    accession_number: str = ""
    collection: str = ""
    item_type: ItemType = ItemType.BUKU
    price: int | None = None
    source: AcquisitionSource = AcquisitionSource.PEMBELIAN
    acquired_on: date | None = None
    notes: str = ""
    public: bool | None = None
    lendable_network: bool = True
    call_class: str | None = None
    call_author: str | None = None
    call_title: str | None = None
    status: ItemStatus = ItemStatus.AVAILABLE


def settings_for(library_id: int) -> CatalogSettings:
    """The library's catalog settings (created with defaults on first use)."""
    settings = db.session.get(CatalogSettings, library_id)
    if settings is None:
        library = db.session.get(Library, library_id)
        if library is None:
            raise NotFound()
        settings = CatalogSettings(library_id=library_id, accession_pattern="{seq:05d}/{code}/{yyyy}",
                                   barcode_prefix=re.sub(r"[^A-Za-z0-9]", "", library.code).upper(),
                                   default_collection="Umum", items_public=library.opac_public)
        db.session.add(settings)
        db.session.flush()
    return settings


def check_pattern(pattern: str) -> str:
    """A valid accession pattern such as "{seq:05d}/{code}/{yyyy}", or ValidationFailed."""
    try:
        names = {f for _t, f, _s, _c in string.Formatter().parse(pattern) if f is not None}
        if "seq" not in names or not names <= PATTERN_FIELDS:
            raise ValueError
        pattern.format(seq=1, code="X", yyyy="2026", yy="26", mm="01")
    except (ValueError, KeyError, IndexError):
        raise ValidationFailed(str(_l("The pattern needs {seq} and may use {code}, {yyyy}, {yy} and {mm}, e.g. "
                                      "{seq:05d}/{code}/{yyyy}.")), field="accession_pattern") from None
    return pattern


def reserve(library_id: int, name: str, count: int) -> range:
    """Reserve ``count`` numbers of a per-library counter (the row is locked until commit)."""
    if count <= 0:
        return range(0)
    if db.session.get(Counter, (library_id, name)) is None:
        db.session.add(Counter(library_id=library_id, name=name, value=0))
        db.session.flush()
    db.session.execute(update(Counter).where(Counter.library_id == library_id, Counter.name == name)
                       .values(value=Counter.value + count))
    last = db.session.scalar(select(Counter.value).where(Counter.library_id == library_id, Counter.name == name))
    return range(last - count + 1, last + 1)


def accession_numbers(library: Library, count: int, today: date) -> list[str]:
    """The next ``count`` accession numbers (nomor induk) of a library, from its pattern."""
    pattern = settings_for(library.id).accession_pattern
    yearly = "{yyyy" in pattern or "{yy" in pattern
    numbers = reserve(library.id, f"accession:{today.year}" if yearly else "accession", count)
    return [pattern.format(seq=n, code=library.code, yyyy=f"{today.year:04d}", yy=f"{today.year % 100:02d}",
                           mm=f"{today.month:02d}") for n in numbers]


def barcodes(library: Library, count: int) -> list[str]:
    """The next ``count`` generated barcodes of a library (prefix + 6 digits)."""
    prefix = settings_for(library.id).barcode_prefix
    return [f"{prefix}{n:06d}" for n in reserve(library.id, "barcode", count)]


def default_call_number(record: Any) -> tuple[str, str, str]:
    """Class, author mark and title letter from the record."""
    ex = bib.Extracted(ddc=record.ddc, main_author=record.main_author, title_sort=record.title_sort,
                       title=record.title)
    return bib.call_number_parts(ex)


def holdings_changed(record_ids: Collection[int], *, now: datetime | None = None) -> None:
    """Bump records' datestamps: who publicly holds them changed (OAI-PMH sets and deletions, visibility)."""
    if record_ids:
        db.session.execute(update(Record).where(Record.id.in_(list(record_ids))).values(updated_at=now or utcnow()))


def _barcode_free(barcode: str, exclude_id: int | None = None) -> None:
    if not BARCODE.match(barcode):
        raise ValidationFailed(str(_l("A barcode has 3 to 40 letters, digits or . _ / - characters.")),
                               field="barcode")
    stmt = select(Item.id).where(Item.barcode == barcode)
    if exclude_id is not None:
        stmt = stmt.where(Item.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(str(_l("Barcode %(b)s is already used by another item in the city.", b=barcode)))


def add_item(*, record_id: int, library_id: int, data: ItemInput, actor: Actor, today: date) -> Item:
    """Attach one copy of a record to a library (barcode and accession number generated if blank)."""
    authz.require(actor, "catalog.edit", library_id)
    record = get_record(record_id, kind=RecordKind.BIBLIOGRAPHIC)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    settings = settings_for(library_id)
    barcode = data.barcode.strip() or barcodes(library, 1)[0]
    _barcode_free(barcode)
    accession = data.accession_number.strip() or accession_numbers(library, 1, today)[0]
    if db.session.scalar(select(Item.id).where(Item.library_id == library_id, Item.accession_number == accession)):
        raise Conflict(str(_l("Accession number %(n)s is already used in this library.", n=accession)))
    parts = default_call_number(record)
    item = Item(record_id=record.id, library_id=library_id, location_library_id=library_id, barcode=barcode,
                accession_number=accession, collection=data.collection.strip() or settings.default_collection,
                call_class=(data.call_class if data.call_class is not None else parts[0])[:40],
                call_author=(data.call_author if data.call_author is not None else parts[1])[:20],
                call_title=(data.call_title if data.call_title is not None else parts[2])[:10],
                item_type=data.item_type, status=data.status, price=data.price, source=data.source,
                acquired_on=data.acquired_on or today, notes=data.notes.strip(),
                public=settings.items_public if data.public is None else data.public,
                lendable_network=data.lendable_network)
    db.session.add(item)
    db.session.flush()
    holdings_changed([record.id])
    mark_changed([record.id])
    audit.record(actor, "item.create", object_type="item", object_id=item.id, library_id=library_id,
                 details={"record": record.id, "barcode": barcode})
    return item


def get_item(item_id: int) -> Item:
    """An item by id, or NotFound."""
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound()
    return item


def editable_item(item_id: int, *, actor: Actor) -> Item:
    """An item the actor may edit (its own library's), or Forbidden/NotFound."""
    item = get_item(item_id)
    authz.require(actor, "catalog.edit", item.library_id)
    return item


def item_by_barcode(barcode: str) -> Item | None:
    """The item with this barcode anywhere in the city."""
    return db.session.scalar(select(Item).where(Item.barcode == barcode.strip()))


def update_item(*, item_id: int, changes: dict[str, Any], actor: Actor) -> Item:
    """Change an item's descriptive fields (barcode and accession number included, checked)."""
    item = get_item(item_id)
    authz.require(actor, "catalog.edit", item.library_id)
    before = {k: getattr(item, k) for k in (*EDITABLE, "barcode", "accession_number")}
    if "barcode" in changes and changes["barcode"] != item.barcode:
        _barcode_free(changes["barcode"], exclude_id=item.id)
        item.barcode = changes["barcode"]
    if "accession_number" in changes and changes["accession_number"] != item.accession_number:
        if db.session.scalar(select(Item.id).where(Item.library_id == item.library_id, Item.id != item.id,
                                                   Item.accession_number == changes["accession_number"])):
            raise Conflict(str(_l("Accession number %(n)s is already used in this library.",
                                  n=changes["accession_number"])), field="accession_number")
        item.accession_number = changes["accession_number"]
    for key in EDITABLE:
        if key in changes:
            setattr(item, key, changes[key])
    db.session.flush()
    after = {k: getattr(item, k) for k in before}
    if before["public"] != after["public"]:
        holdings_changed([item.record_id])
    mark_changed([item.record_id])
    audit.record(actor, "item.update", object_type="item", object_id=item.id, library_id=item.library_id,
                 details=audit.diff(before, after))
    return item


def set_status(*, item_id: int, status: ItemStatus, actor: Actor, note: str = "") -> Item:
    """Change an item's status (the one way circulation and staff do it)."""
    item = get_item(item_id)
    if item.status == ItemStatus.WITHDRAWN and status != ItemStatus.WITHDRAWN and not note:
        raise PolicyViolationWithdrawn()
    old = item.status
    item.status = status
    item.status_changed_at = utcnow()
    if ItemStatus.WITHDRAWN in (old, status) and old != status:
        holdings_changed([item.record_id])
    mark_changed([item.record_id])
    audit.record(actor, "item.status", object_type="item", object_id=item.id, library_id=item.library_id,
                 details={"from": old.value, "to": status.value, "note": note[:200]})
    db.session.flush()
    return item


# Built once: every checkout and check-in runs it, and a statement object keeps its cache key, so
# SQLAlchemy neither rebuilds nor re-hashes it per request. Keyed by "take a row lock?" (PostgreSQL).
_LOCK_WITH_TITLE = {
    False: select(Item, Record.title).join(Record, Record.id == Item.record_id)
    .where(Item.barcode == bindparam("barcode")).execution_options(populate_existing=True)}
_LOCK_WITH_TITLE[True] = _LOCK_WITH_TITLE[False].with_for_update(of=Item)


def lock_with_title(barcode: str) -> tuple[Item, str] | None:
    """The item with this barcode, locked for the rest of the transaction (circulation desks, R1), and its title.

    PostgreSQL takes a row lock; SQLite writers already hold the database lock (BEGIN IMMEDIATE).
    The row is re-read so a desk that waited for the lock sees the other desk's change. The title
    comes in the same query because the desk's answer shows it.
    """
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    row = db.session.execute(_LOCK_WITH_TITLE[postgresql], {"barcode": barcode.strip()}).first()
    return None if row is None else (row[0], row[1])


def lock_item(item_id: int) -> Item | None:
    """The item with this id, locked like ``lock_with_title``."""
    stmt = select(Item).where(Item.id == item_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Item)
    return db.session.scalar(stmt)


def circulate(item: Item, status: ItemStatus, *, now: datetime, location_library_id: int | None = None) -> None:
    """Circulation's status change of a locked item; the loan, hold or transit row is its audit trail."""
    changed = item.status != status
    if changed:
        item.status = status
        item.status_changed_at = now
    if location_library_id is not None and location_library_id != item.location_library_id:
        item.location_library_id = location_library_id
        changed = True
    if changed:
        mark_changed([item.record_id])


class PolicyViolationWithdrawn(ValidationFailed):
    """A withdrawn item comes back only with a note saying why."""

    def __init__(self) -> None:
        super().__init__(str(_l("This item was withdrawn; give a reason to bring it back.")), field="note")


def withdraw(*, item_id: int, reason: str, actor: Actor, today: date) -> Item:
    """Weed an item: withdrawn with a reason and date; it stays counted in the accession register."""
    item = get_item(item_id)
    authz.require(actor, "catalog.edit", item.library_id)
    if not reason.strip():
        raise ValidationFailed(str(_l("Give the reason for withdrawing this item.")), field="reason")
    if item.status == ItemStatus.ON_LOAN:
        raise Conflict(str(_l("This item is on loan; check it in before withdrawing it.")))
    item.withdrawn_reason = reason.strip()[:300]
    item.withdrawn_on = today
    set_status(item_id=item.id, status=ItemStatus.WITHDRAWN, actor=actor, note=reason)
    return item


def delete_item(*, item_id: int, actor: Actor) -> None:
    """Delete an item entered by mistake (only while available and never loaned: otherwise withdraw)."""
    item = get_item(item_id)
    authz.require(actor, "catalog.edit", item.library_id)
    if item.status not in (ItemStatus.AVAILABLE, ItemStatus.WITHDRAWN):
        raise Conflict(str(_l("Only an item on the shelf can be deleted; withdraw it instead.")))
    holdings_changed([item.record_id])
    mark_changed([item.record_id])
    audit.record(actor, "item.delete", object_type="item", object_id=item.id, library_id=item.library_id,
                 details={"barcode": item.barcode, "record": item.record_id})
    db.session.delete(item)
    db.session.flush()


def holdings(record_id: int, *, actor: Actor | None) -> list[Item]:
    """A record's items: every public item, plus the actor's own library's private ones."""
    stmt = select(Item).where(Item.record_id == record_id).order_by(Item.library_id, Item.id)
    items = list(db.session.scalars(stmt))
    own = actor.library_id if actor else None
    wide = actor is not None and actor.network_wide
    return [i for i in items if i.public or wide or i.library_id == own]


def count_items(record_id: int) -> int:
    """How many items a record has (all libraries, private ones included)."""
    return db.session.scalar(select(func.count()).select_from(Item).where(Item.record_id == record_id)) or 0


def copy_counts(record_ids: list[int], library_id: int | None) -> dict[int, tuple[int, int]]:
    """(copies at my library, copies in the city) per record, withdrawn ones left out."""
    out: dict[int, tuple[int, int]] = {}
    if not record_ids:
        return out
    rows = db.session.execute(select(Item.record_id, Item.library_id, func.count()).where(
        Item.record_id.in_(record_ids), Item.status != ItemStatus.WITHDRAWN).group_by(Item.record_id, Item.library_id))
    for record_id, owner, n in rows:
        mine, total = out.get(record_id, (0, 0))
        out[record_id] = (mine + (n if owner == library_id else 0), total + n)
    return out


def update_settings(*, library_id: int, actor: Actor, accession_pattern: str, barcode_prefix: str,
                    default_collection: str, items_public: bool) -> CatalogSettings:
    """Change a library's catalog settings (the pattern is checked first)."""
    authz.require(actor, "library.settings", library_id)
    check_pattern(accession_pattern)
    if not re.fullmatch(r"[A-Za-z0-9]{1,20}", barcode_prefix):
        raise ValidationFailed(str(_l("Use only letters and digits for the prefix.")), field="barcode_prefix")
    settings = settings_for(library_id)
    before = {"accession_pattern": settings.accession_pattern, "barcode_prefix": settings.barcode_prefix,
              "default_collection": settings.default_collection, "items_public": settings.items_public}
    settings.accession_pattern, settings.barcode_prefix = accession_pattern, barcode_prefix.upper()
    settings.default_collection, settings.items_public = default_collection, items_public
    audit.record(actor, "catalog.settings", object_type="library", object_id=library_id, library_id=library_id,
                 details=audit.diff(before, {"accession_pattern": accession_pattern, "barcode_prefix": barcode_prefix,
                                             "default_collection": default_collection, "items_public": items_public}))
    db.session.flush()
    return settings


def preview_accession(library_id: int, pattern: str) -> str:
    """What the next accession number would look like with a pattern ("" if the pattern is invalid)."""
    library = db.session.get(Library, library_id)
    today = date.today()
    try:
        check_pattern(pattern)
    except ValidationFailed:
        return ""
    return pattern.format(seq=1, code=library.code if library else "", yyyy=f"{today.year:04d}",
                          yy=f"{today.year % 100:02d}", mm=f"{today.month:02d}")
