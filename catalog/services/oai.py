"""OAI-PMH 2.0 data provider: the queries behind each verb (the protocol itself is in catalog.oai).

What a harvester sees:
* one OAI item per bibliographic record, ``oai:<CATALOG_OAI_REPOSITORY_ID>:<record id>``; authority
  and holdings records are never shown;
* a record's datestamp is Record.updated_at (the items services bump it when public holdings change);
* sets ``library:<code>`` (a record is in it while that library holds a public, not withdrawn copy)
  and ``type:<material type>``;
* deletions, kept for ever ("persistent"): a record deleted or merged away (its DeletedRecord
  tombstone), and a record that is not public (catalog.services.visibility), because one that
  was harvested while public must be withdrawn from harvesters when its copies become private.
  A deletion carries no setSpec: after the fact we cannot tell which library sets it was in, so
  set-restricted lists report every tombstone (harvesters ignore deletions of records they never
  had, OAI-PMH 2.0 section 2.5.1) and the hidden records of the type asked for.

Lists are read one page at a time in (datestamp, id) order, continuing after the last pair sent
(keyset pagination on ix_catalog_record_updated), with ``until`` fixed at the first request: a
record changed or deleted during a harvest leaves this harvest's range (its new datestamp is later)
and no unchanged record is skipped or repeated, so a harvester that starts its next harvest at
this one's responseDate misses nothing.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, exists, func, select, true, tuple_

from catalog import bib, oai
from catalog.bib import MATERIAL_TYPES
from catalog.models import DeletedRecord, Item, Record, RecordKind
from catalog.oai import Entry, Harvest, OaiError, OaiRequest
from catalog.services.visibility import held_by_clause, public_item_clause, public_record_clause
from ils.extensions import db
from ils.services.libraries import public_directory

BIBLIOGRAPHIC = RecordKind.BIBLIOGRAPHIC.value
STEP = timedelta(seconds=1)  # our granularity: an until of 12:00:00 takes in 12:00:00.999


class NotConfigured(RuntimeError):
    """CATALOG_OAI_ADMIN_EMAIL is unset: Identify must name a contact, so the endpoint cannot answer."""


@dataclass(frozen=True)
class Settings:
    """The CATALOG_OAI_* settings and the key that signs resumption tokens."""

    name: str
    repository_id: str
    admin_email: str
    page_size: int
    key: str


def settings() -> Settings:
    """The OAI-PMH settings of the running app."""
    config = current_app.config
    return Settings(name=config["CATALOG_OAI_REPOSITORY_NAME"], repository_id=config["CATALOG_OAI_REPOSITORY_ID"],
                    admin_email=config.get("CATALOG_OAI_ADMIN_EMAIL") or "",
                    page_size=max(1, int(config["CATALOG_OAI_PAGE_SIZE"])), key=config["SECRET_KEY"])


def answer(*, pairs: list[tuple[str, str]], base_url: str, now: datetime) -> bytes:
    """The response document to one OAI-PMH request (errors included: they are answers too)."""
    now = now.astimezone(timezone.utc).replace(microsecond=0)
    conf = settings()
    request: OaiRequest | None = None
    try:
        request = oai.parse_request(pairs)
        body = HANDLERS[request.verb](request, conf=conf, base_url=base_url, now=now)
    except OaiError as error:
        # badVerb and badArgument echo no arguments (OAI-PMH 2.0 section 3.2).
        echo = None if error.code in ("badVerb", "badArgument") else request
        return oai.response(base_url=base_url, now=now, request=echo, body=oai.error_body(error))
    return oai.response(base_url=base_url, now=now, request=request, body=body)


# --- Identify, ListMetadataFormats, ListSets ------------------------------------------------------

def earliest_datestamp(*, now: datetime) -> datetime:
    """The earliest datestamp of any record or tombstone we could report (now when there are none)."""
    first_record = db.session.scalar(select(func.min(Record.updated_at)).where(Record.kind == RecordKind.BIBLIOGRAPHIC))
    first_deleted = db.session.scalar(select(func.min(DeletedRecord.deleted_at))
                                      .where(DeletedRecord.kind == BIBLIOGRAPHIC))
    found = [moment for moment in (first_record, first_deleted) if moment is not None]
    return min(found) if found else now


def _identify(request: OaiRequest, *, conf: Settings, base_url: str, now: datetime) -> list[str]:
    if not conf.admin_email:
        raise NotConfigured("Set CATALOG_OAI_ADMIN_EMAIL: OAI-PMH Identify must name the repository's contact.")
    return oai.identify_body(oai.Repository(name=conf.name, base_url=base_url, admin_email=conf.admin_email,
                                            earliest=earliest_datestamp(now=now)))


def _list_metadata_formats(request: OaiRequest, *, conf: Settings, base_url: str, now: datetime) -> list[str]:
    identifier = request.get("identifier")
    if identifier is not None and _lookup(oai.record_id_of(conf.repository_id, identifier)).deleted:
        raise OaiError("noMetadataFormats", "This record is deleted: it has no metadata to disseminate.")
    return oai.formats_body(oai.FORMATS.values())


def sets() -> list[tuple[str, str]]:
    """(setSpec, setName) of every set: one per public library, one per material type in the catalog."""
    libraries = [(f"library:{lib.code}", lib.name) for lib in public_directory()]
    present = set(db.session.scalars(select(Record.material_type).where(Record.kind == RecordKind.BIBLIOGRAPHIC)
                                     .distinct()))
    types = [(f"type:{name}", f"Material type: {name}") for name in MATERIAL_TYPES if name in present]
    return libraries + types


def _list_sets(request: OaiRequest, *, conf: Settings, base_url: str, now: datetime) -> list[str]:
    if request.get("resumptionToken") is not None:
        raise OaiError("badResumptionToken", "ListSets fits in one response; it never issues a resumptionToken.")
    found = sets()
    if not found:  # no library and no record yet: a set list may not be empty
        raise OaiError("noSetHierarchy", "There are no sets yet: the catalog is empty.")
    return oai.sets_body(found)


# --- records ------------------------------------------------------------------------------------

def _lookup(record_id: int) -> Entry:
    """A record or tombstone as an entry with its MARC (hidden records as deletions), or idDoesNotExist."""
    row = db.session.execute(select(*LIVE_COLUMNS, Record.marc).where(
        Record.id == record_id, Record.kind == RecordKind.BIBLIOGRAPHIC)).first()
    if row is not None:
        entry = _entry(row, with_marc=True)
        _add_library_sets([entry], {v: k for k, v in _library_ids().items()})
        return entry
    gone = db.session.get(DeletedRecord, record_id)
    if gone is not None and gone.kind == BIBLIOGRAPHIC:
        return Entry(gone.record_id, gone.deleted_at, deleted=True)
    raise OaiError("idDoesNotExist", "No record has this identifier.")


def _get_record(request: OaiRequest, *, conf: Settings, base_url: str, now: datetime) -> list[str | bytes]:
    prefix = oai.check_prefix(request.get("metadataPrefix") or "").prefix
    entry = _lookup(oai.record_id_of(conf.repository_id, request.get("identifier") or ""))
    return oai.get_record_body(entry, prefix, conf.repository_id)


def _library_ids() -> dict[str, int]:
    return {lib.code: lib.id for lib in public_directory()}


LIVE_COLUMNS = (Record.id, Record.updated_at, Record.material_type, public_record_clause().label("public"))


def _entry(row: Any, *, with_marc: bool) -> Entry:
    """A record row as an entry: public ones with their type set (and MARC), hidden ones as deletions."""
    if not row.public:
        return Entry(row.id, row.updated_at, deleted=True)
    return Entry(row.id, row.updated_at, sets=[f"type:{row.material_type}"],
                 marc=bib.loads(row.marc) if with_marc else None)


def _add_library_sets(entries: list[Entry], codes: dict[int, str]) -> None:
    """Add each public library holding a public copy to the live entries' setSpecs (one query)."""
    live = {entry.record_id: entry for entry in entries if not entry.deleted}
    if not live or not codes:
        return
    held = db.session.execute(select(Item.record_id, Item.library_id).where(
        Item.record_id.in_(list(live)), Item.library_id.in_(list(codes)), public_item_clause()).distinct()
        .order_by(Item.record_id, Item.library_id))
    for record_id, library_id in held:
        live[record_id].sets.append(f"library:{codes[library_id]}")


@dataclass(frozen=True)
class Scope:
    """A harvest's WHERE clauses on records and tombstones (set and datestamp range)."""

    records: ColumnElement[bool]
    deleted: ColumnElement[bool]


def _scope(harvest: Harvest, libraries: dict[str, int]) -> Scope | None:
    """The clauses of a harvest, or None when its set does not exist."""
    records: list[ColumnElement[bool]] = [Record.kind == RecordKind.BIBLIOGRAPHIC, Record.updated_at < harvest.end]
    deleted: list[ColumnElement[bool]] = [DeletedRecord.kind == BIBLIOGRAPHIC, DeletedRecord.deleted_at < harvest.end]
    if harvest.start is not None:
        records.append(Record.updated_at >= harvest.start)
        deleted.append(DeletedRecord.deleted_at >= harvest.start)
    if harvest.set_spec is not None:
        family, _colon, value = harvest.set_spec.partition(":")
        if family == "library" and value in libraries:
            records.append(held_by_clause(libraries[value]))
        elif family == "type" and value in MATERIAL_TYPES:
            records.append(Record.material_type == value)
        else:
            return None
    return Scope(records=and_(*records), deleted=and_(*deleted))


def _set_exists(harvest: Harvest) -> bool:
    """Whether a harvest's set is listed by ListSets (library sets are checked by _scope)."""
    if harvest.set_spec is None or not harvest.set_spec.startswith("type:"):
        return True
    return bool(db.session.scalar(select(exists().where(Record.kind == RecordKind.BIBLIOGRAPHIC,
                                                        Record.material_type == harvest.set_spec[5:]))))


def _count(scope: Scope) -> int:
    live = db.session.scalar(select(func.count()).select_from(Record).where(scope.records)) or 0
    gone = db.session.scalar(select(func.count()).select_from(DeletedRecord).where(scope.deleted)) or 0
    return live + gone


def _page(harvest: Harvest, scope: Scope, size: int, *, with_marc: bool) -> list[Entry]:
    """Up to size + 1 entries after the harvest's position, records and tombstones merged in order."""
    after_record: ColumnElement[bool] = true()
    after_deleted: ColumnElement[bool] = true()
    if harvest.after is not None:
        # Compared with a Python tuple, each value is bound with its column's type (UTCDateTime).
        after_record = tuple_(Record.updated_at, Record.id) > harvest.after
        after_deleted = tuple_(DeletedRecord.deleted_at, DeletedRecord.record_id) > harvest.after
    stmt: Select[Any] = select(*LIVE_COLUMNS, Record.marc) if with_marc else select(*LIVE_COLUMNS)
    rows = db.session.execute(stmt.where(scope.records, after_record)
                              .order_by(Record.updated_at, Record.id).limit(size + 1)).all()
    gone = db.session.execute(select(DeletedRecord.record_id, DeletedRecord.deleted_at)
                              .where(scope.deleted, after_deleted)
                              .order_by(DeletedRecord.deleted_at, DeletedRecord.record_id).limit(size + 1)).all()
    live = [_entry(row, with_marc=with_marc) for row in rows]
    dead = [Entry(record_id, deleted_at, deleted=True) for record_id, deleted_at in gone]
    return list(heapq.merge(live, dead, key=lambda e: (e.changed, e.record_id)))[:size + 1]


def _list(request: OaiRequest, *, conf: Settings, base_url: str, now: datetime) -> list[str | bytes]:
    """ListIdentifiers and ListRecords: one page, and a token for the next while there is one."""
    libraries = _library_ids()
    token = request.get("resumptionToken")
    if token is not None:
        harvest = oai.decode_token(token, conf.key, request.verb)
        scope = _scope(harvest, libraries)
        if scope is None:  # the library left the directory since the harvest began
            raise OaiError("badResumptionToken", "The set of this harvest no longer exists; start again.")
    else:
        prefix = oai.check_prefix(request.get("metadataPrefix") or "").prefix
        # The list ends at the first request's time, so it cannot grow under the harvester.
        end = min(request.end, now + STEP) if request.end is not None else now + STEP
        harvest = Harvest(request.verb, prefix, request.get("set"), request.start, end)
        scope = _scope(harvest, libraries)
        if scope is None or not _set_exists(harvest):
            raise OaiError("noRecordsMatch", "There is no such set.")
        harvest = replace(harvest, total=_count(scope))
    entries = _page(harvest, scope, conf.page_size, with_marc=request.verb == "ListRecords")
    if not entries:
        raise OaiError("noRecordsMatch", "No records match these arguments.")
    more = len(entries) > conf.page_size
    entries = entries[:conf.page_size]
    _add_library_sets(entries, {v: k for k, v in libraries.items()})
    sent = harvest.cursor + len(entries)
    # Records may leave the range during a harvest, never join it; keep the size at least what is known.
    total = max(harvest.total, sent + (1 if more else 0))
    element = None
    if more:
        following = replace(harvest, after=(entries[-1].changed, entries[-1].record_id), cursor=sent, total=total)
        element = oai.token_element(oai.encode_token(following, conf.key), cursor=harvest.cursor, total=total)
    elif harvest.cursor:
        element = oai.token_element("", cursor=harvest.cursor, total=total)
    return oai.list_body(request.verb, entries, prefix=harvest.prefix, repository_id=conf.repository_id,
                         token=element)


HANDLERS = {"Identify": _identify, "ListMetadataFormats": _list_metadata_formats, "ListSets": _list_sets,
            "ListIdentifiers": _list, "ListRecords": _list, "GetRecord": _get_record}
