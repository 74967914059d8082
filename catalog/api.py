"""The catalog as JSON under /api/v1/catalog: records (MARC-in-JSON or MARCXML), items and imports.

Same rules as the staff pages: every view is guarded by ``permission_required`` with the page's
permission, and the services check the library scope. Views stay thin: parse, call a service,
commit, answer JSON.

Authentication
    The staff session cookie, exactly as for the pages (log in through /login). An API request
    without a session gets ``401`` JSON (not the login page's redirect).

CSRF
    Flask-WTF's CSRFProtect guards every POST and PUT here too. Send the session's token in the
    ``X-CSRFToken`` header (``X-CSRF-Token`` works as well). Every API response carries the current
    token in its ``X-CSRFToken`` response header, so a client reads it from any GET first. A write
    without a valid token is refused with ``400`` JSON. Over HTTPS Flask-WTF also wants a same-origin
    ``Referer`` header (browsers send it).

Errors
    ``{"error": message, "status": code}`` in the user's language. A MARC record that does not pass
    validation gets ``422`` with ``"issues": [{"code", "severity", "tag", "message"}, ...]``.

Records
    ``GET /records?q=&kind=&page=`` finds records (25 a page). ``GET /records/<id>`` gives the
    extracted fields, ``version``, the MARC-in-JSON under ``"marc"`` and the holdings the actor may
    see; ``?format=marcxml`` (or ``Accept: application/marcxml+xml``) gives one MARCXML ``<record>``.
    A merged or deleted record id answers ``404``; for a merged one the JSON names the survivor in
    ``"merged_into"`` (chosen over a 301 so that a PUT never lands silently on another record).
    ``POST /records`` creates from MARC-in-JSON (``application/json``: the record itself or
    ``{"marc": {...}, "note": "..."}``) or from MARCXML (``application/marcxml+xml`` or
    ``application/xml``: exactly one record); ``201`` with ``Location``. ``PUT /records/<id>``
    replaces the MARC and needs the version that was edited, as ``If-Match: <version>`` or
    ``"version"`` in the JSON body (``428`` without it, ``409`` when someone saved meanwhile).

Items
    ``GET /records/<id>/items``, ``GET /items/<id>``: private copies of other libraries are left
    out (``404`` for one asked by id) unless the actor is network-wide. ``POST /records/<id>/items``
    adds a copy (JSON fields of the copy; ``library_id`` chooses the library, default the actor's).

Imports
    ``GET /imports``, ``GET /imports/<id>``, ``GET /imports/<id>/rows?outcome=&page=`` and
    ``POST /imports`` (multipart: ``file``, optional ``format``, ``encoding``, ``on_match``,
    ``dry_run``, ``library_id``): ``202`` with the queued batch.

Paged lists are ``{"items": [...], "page": n, "pages": n, "total": n}``; a record's copies (never many)
come unpaged as ``{"items": [...], "total": n}``.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from catalog import marc as marc_io
from catalog.bib import MarcDict
from catalog.models import AcquisitionSource, ImportBatch, ImportRow, Item, ItemType, Record, RecordKind
from catalog.readers import read_json, read_xml
from catalog.services import imports as import_service, items as item_service, records as services
from catalog.validation import Issue, describe, validate
from catalog.views import bp
from ils.api import ApiProblem, api_view, json_response
from ils.auth import require_actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.models import JobRecord
from ils.services import page_of
from ils.services.libraries import library_today
from ils.views import MAX_ID, page_arg

API = "/api/v1/catalog"
PAGE_SIZE = 25
IMPORT_PAGE_SIZE = 50
RECORD_MAX_BYTES = 2 * 1024 * 1024  # one record, in either format
XML_TYPES = ("application/marcxml+xml", "application/xml", "text/xml")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
TRUE = ("1", "true", "y", "yes", "on")


_json = json_response


def _page(items: list[Any], *, page: int, total: int, size: int) -> dict[str, Any]:
    return {"items": items, "page": page, "pages": (total + size - 1) // size, "total": total}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _issue(issue: Issue | dict[str, Any]) -> dict[str, Any]:
    stored = issue.as_dict() if isinstance(issue, Issue) else issue
    return {"code": stored.get("code", ""), "severity": stored.get("severity", "error"),
            "tag": stored.get("tag", ""), "message": describe(stored)}


def _split(text: str, separator: str | None = None) -> list[str]:
    return [part for part in (text.split(separator) if separator else text.split()) if part]


# --- JSON shapes -------------------------------------------------------------------------------

def _record_summary(record: Record) -> dict[str, Any]:
    return {"id": record.id, "title": record.title, "main_author": record.main_author, "year": record.year,
            "isbns": _split(record.isbns), "material_type": record.material_type,
            "links": {"self": url_for("catalog.api_record", record_id=record.id),
                      "items": url_for("catalog.api_record_items", record_id=record.id),
                      "html": url_for("catalog.record_detail", record_id=record.id)}}


def _record_full(record: Record, marc: MarcDict, holdings: list[Item]) -> dict[str, Any]:
    sep = services.LIST_SEPARATOR
    return {**_record_summary(record), "kind": record.kind.value, "version": record.version,
            "responsibility": record.responsibility, "other_names": _split(record.other_names, sep),
            "issns": _split(record.issns), "publisher": record.publisher, "place": record.place,
            "edition": record.edition, "language": record.language, "subjects": _split(record.subjects, sep),
            "ddc": record.ddc, "physical": record.physical, "series": record.series,
            "created_at": _iso(record.created_at), "updated_at": _iso(record.updated_at),
            "issues": [_issue(i) for i in validate(marc)], "marc": marc,
            "holdings": [_item(i) for i in holdings]}


def _item(item: Item) -> dict[str, Any]:
    return {"id": item.id, "record_id": item.record_id, "barcode": item.barcode,
            "accession_number": item.accession_number,
            "library": {"id": item.library_id, "code": item.library.code},
            "location": {"id": item.location_library_id, "code": item.location_library.code},
            "collection": item.collection, "call_number": item.call_number, "item_type": item.item_type.value,
            "status": item.status.value, "public": item.public, "lendable_network": item.lendable_network,
            "links": {"self": url_for("catalog.api_item", item_id=item.id),
                      "record": url_for("catalog.api_record", record_id=item.record_id)}}


def _batch(batch: ImportBatch) -> dict[str, Any]:
    job = db.session.get(JobRecord, batch.job_id) if batch.job_id else None
    return {"id": batch.id, "library": {"id": batch.library_id, "code": batch.library.code},
            "filename": batch.filename, "size": batch.size, "format": batch.format, "encoding": batch.encoding,
            "on_match": batch.on_match, "dry_run": batch.dry_run, "status": batch.status.value,
            "position": batch.position, "counts": dict(batch.counts or {}), "error": batch.error,
            "job_id": batch.job_id,
            "job": {"id": job.id, "status": job.status.value, "progress": job.progress,
                    "message": job.message or ""} if job else None,
            "created_at": _iso(batch.created_at), "finished_at": _iso(batch.finished_at),
            "links": {"self": url_for("catalog.api_import", batch_id=batch.id),
                      "rows": url_for("catalog.api_import_rows", batch_id=batch.id),
                      "html": url_for("catalog.import_detail", batch_id=batch.id)}}


def _row(row: ImportRow) -> dict[str, Any]:
    return {"position": row.position, "outcome": row.outcome, "record_id": row.record_id,
            "matched_by": row.matched_by, "previous_version": row.previous_version,
            "items_added": row.items_added, "title": row.title, "issues": [_issue(i) for i in row.issues or []]}


# --- parsing -----------------------------------------------------------------------------------

def _body() -> dict[str, Any]:
    """The JSON object sent (an empty body is an empty object)."""
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise ApiProblem(415, _("Send the data as a JSON object (Content-Type: application/json)."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(400, _("The request body is not a JSON object."))
    return body


def _marc_from_request() -> tuple[MarcDict, dict[str, Any]]:
    """The one MARC record sent (MARC-in-JSON or MARCXML) and the JSON body's other members."""
    if (request.content_length or 0) > RECORD_MAX_BYTES:
        raise ApiProblem(413, _("A single record may not be larger than %(mb)s MB.",
                                mb=RECORD_MAX_BYTES // (1024 * 1024)))
    if request.mimetype in XML_TYPES:
        results, body = list(read_xml(io.BytesIO(request.get_data()))), {}
    elif request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiProblem(400, _("The request body is not a JSON object."))
        data = body["marc"] if isinstance(body.get("marc"), dict) else body
        results = list(read_json(io.BytesIO(marc_io.marc_json(data).encode("utf-8"))))
    else:
        raise ApiProblem(415, _("Send the record as MARC-in-JSON (application/json) or MARCXML "
                                "(application/marcxml+xml)."))
    if len(results) != 1:
        raise ApiProblem(422, _("Send exactly one record (found %(n)s).", n=len(results)))
    result = results[0]
    if result.record is None:
        issue = {"code": result.error, "severity": "error", "tag": "", "text": result.detail}
        raise ApiProblem(422, describe(issue), issues=[{**_issue(issue), "detail": result.detail}])
    return result.record, body


def _version(value: Any) -> int:
    text = str(value).strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise ApiProblem(422, _("The version must be the record's version number."))
    return int(text)


def _expected_version(body: dict[str, Any]) -> int:
    header = request.headers.get("If-Match")
    given = body.get("version")
    if header is None and given is None:
        raise ApiProblem(428, _("Give the version you edited: the If-Match header or \"version\" in the body."))
    header_version = _version(header) if header is not None else None
    body_version = _version(given) if given is not None else None
    if header_version is not None and body_version is not None and header_version != body_version:
        raise ApiProblem(422, _("The If-Match header and the version in the body differ."))
    return header_version if header_version is not None else body_version  # type: ignore[return-value]


def _refused(marc: MarcDict, save: Callable[[], Record]) -> Record:
    """Run a save; when the record does not validate, answer 422 with every blocking issue."""
    try:
        return save()
    except ValidationFailed:
        blocking = [i for i in validate(marc) if i.severity == "error"]
        if not blocking:
            raise
        raise ApiProblem(422, _("The record is not valid MARC21: see the issues."),
                         issues=[_issue(i) for i in blocking]) from None


def _live_record(record_id: int) -> Record:
    """A record, or 404 (naming the record it was merged into, if it was)."""
    gone = services.tombstone(record_id)
    if gone is not None and gone.merged_into_id:
        raise ApiProblem(404, _("This catalog record was merged into record %(id)s.", id=gone.merged_into_id),
                         merged_into=gone.merged_into_id)
    return services.get_record(record_id)


def _bad(name: str) -> ApiProblem:
    return ApiProblem(422, _("The value of %(field)s is not valid.", field=name), field=name)


def _text(body: dict[str, Any], name: str, limit: int, default: str | None = "") -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(name)
    return value.strip()


def _flag(body: dict[str, Any], name: str, default: bool | None) -> bool | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise _bad(name)
    return value


def _int(value: Any, name: str, low: int = 1, high: int = MAX_ID) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise _bad(name)
    if not low <= int(value) <= high:
        raise _bad(name)
    return int(value)


def _item_input(body: dict[str, Any]) -> item_service.ItemInput:
    """A new copy from JSON (the item form's fields; blanks are numbered and defaulted by the service)."""
    try:
        item_type = ItemType(body.get("item_type", ItemType.BUKU.value))
    except (TypeError, ValueError):
        raise _bad("item_type") from None
    try:
        source = AcquisitionSource(body.get("source", AcquisitionSource.PEMBELIAN.value))
    except (TypeError, ValueError):
        raise _bad("source") from None
    acquired = body.get("acquired_on")
    try:
        acquired_on = date.fromisoformat(acquired) if acquired else None
    except (TypeError, ValueError):
        raise _bad("acquired_on") from None
    return item_service.ItemInput(
        barcode=_text(body, "barcode", 40), accession_number=_text(body, "accession_number", 60),
        collection=_text(body, "collection", 60), item_type=item_type, source=source,
        price=_int(body.get("price"), "price", 0, 1_000_000_000), acquired_on=acquired_on,
        notes=_text(body, "notes", 500), public=_flag(body, "public", None),
        lendable_network=bool(_flag(body, "lendable_network", True)),
        call_class=_text(body, "call_class", 40, None), call_author=_text(body, "call_author", 20, None),
        call_title=_text(body, "call_title", 10, None))


# --- records -----------------------------------------------------------------------------------

@bp.route(f"{API}/records", methods=["GET"])
@api_view("catalog.view")
def api_records() -> Response:
    """Find records by title, author, ISBN, barcode or number (as the staff catalog page)."""
    text = (request.args.get("q") or "").strip()[:200]
    kind = RecordKind.AUTHORITY if request.args.get("kind") == "authority" else RecordKind.BIBLIOGRAPHIC
    page = page_arg()
    records, total = page_of(services.staff_search(text=text, kind=kind), page=page, page_size=PAGE_SIZE)
    return _json(_page([_record_summary(r) for r in records], page=page, total=total, size=PAGE_SIZE))


@bp.route(f"{API}/records/<id:record_id>", methods=["GET"])
@api_view("catalog.view")
def api_record(record_id: int) -> Response:
    """One record as JSON (with the holdings the actor may see), or as MARCXML."""
    record = _live_record(record_id)
    marc = services.marc_of(record)
    wants_xml = request.args.get("format") == "marcxml" or (
        request.args.get("format") is None
        and request.accept_mimetypes.best_match(["application/json", "application/marcxml+xml"])
        == "application/marcxml+xml")
    if wants_xml:
        response = Response(XML_DECLARATION + marc_io.marcxml_record(marc, namespace=True),
                            mimetype="application/marcxml+xml")
        response.headers["X-CSRFToken"] = generate_csrf()
        return response
    holdings = item_service.holdings(record_id, actor=require_actor())
    return _json(_record_full(record, marc, holdings))


@bp.route(f"{API}/records", methods=["POST"])
@api_view("catalog.edit")
def api_record_create() -> Response:
    """Create a record from MARC-in-JSON or MARCXML."""
    actor = require_actor()
    marc, body = _marc_from_request()
    note = _text(body, "note", 300)
    record = _refused(marc, lambda: services.create_record(marc=marc, actor=actor, note=note or "API"))
    db.session.commit()
    location = url_for("catalog.api_record", record_id=record.id)
    return _json(_record_full(record, services.marc_of(record), item_service.holdings(record.id, actor=actor)),
                 201, Location=location)


@bp.route(f"{API}/records/<id:record_id>", methods=["PUT"])
@api_view("catalog.edit")
def api_record_update(record_id: int) -> Response:
    """Replace a record's MARC; refused (409) when it changed since the version given."""
    actor = require_actor()
    _live_record(record_id)
    marc, body = _marc_from_request()
    expected = _expected_version(body)
    note = _text(body, "note", 300)
    record = _refused(marc, lambda: services.update_record(record_id=record_id, marc=marc, actor=actor,
                                                           expected_version=expected, note=note or "API"))
    db.session.commit()
    return _json(_record_full(record, services.marc_of(record), item_service.holdings(record.id, actor=actor)))


# --- items -------------------------------------------------------------------------------------

@bp.route(f"{API}/records/<id:record_id>/items", methods=["GET"])
@api_view("catalog.view")
def api_record_items(record_id: int) -> Response:
    """A record's copies the actor may see (public ones, and the own library's private ones)."""
    _live_record(record_id)
    holdings = item_service.holdings(record_id, actor=require_actor())
    return _json({"items": [_item(i) for i in holdings], "total": len(holdings)})


@bp.route(f"{API}/items/<id:item_id>", methods=["GET"])
@api_view("catalog.view")
def api_item(item_id: int) -> Response:
    """One copy; a private copy of another library is not found (as on the record page)."""
    item = item_service.get_item(item_id)
    if item not in item_service.holdings(item.record_id, actor=require_actor()):
        raise NotFound()
    return _json(_item(item))


@bp.route(f"{API}/records/<id:record_id>/items", methods=["POST"])
@api_view("catalog.edit")
def api_item_create(record_id: int) -> Response:
    """Add a copy for my library (network-wide staff: the ``library_id`` given)."""
    actor = require_actor()
    _live_record(record_id)
    body = _body()
    library_id = _int(body.get("library_id"), "library_id") or actor.library_id
    if library_id is None:
        raise ValidationFailed(_("Give library_id: the library the copy belongs to."), field="library_id")
    data = _item_input(body)
    item = item_service.add_item(record_id=record_id, library_id=library_id, data=data, actor=actor,
                                 today=library_today(library_id))
    db.session.commit()
    return _json(_item(item), 201, Location=url_for("catalog.api_item", item_id=item.id))


# --- imports -----------------------------------------------------------------------------------

@bp.route(f"{API}/imports", methods=["GET"])
@api_view("catalog.import")
def api_imports() -> Response:
    """Import batches of my library (all for network-wide staff), newest first."""
    page = page_arg()
    batches, total = page_of(import_service.list_batches(actor=require_actor()), page=page,
                             page_size=IMPORT_PAGE_SIZE)
    return _json(_page([_batch(b) for b in batches], page=page, total=total, size=IMPORT_PAGE_SIZE))


@bp.route(f"{API}/imports/<id:batch_id>", methods=["GET"])
@api_view("catalog.import")
def api_import(batch_id: int) -> Response:
    """A batch: status, counts and its job."""
    return _json(_batch(import_service.get_batch(batch_id, actor=require_actor())))


@bp.route(f"{API}/imports/<id:batch_id>/rows", methods=["GET"])
@api_view("catalog.import")
def api_import_rows(batch_id: int) -> Response:
    """The per-record report of a batch, optionally of one outcome, with readable issues."""
    batch = import_service.get_batch(batch_id, actor=require_actor())
    page = page_arg()
    outcome = request.args.get("outcome", "")
    rows, total = page_of(import_service.batch_rows(batch.id, outcome=outcome), page=page,
                          page_size=IMPORT_PAGE_SIZE)
    return _json(_page([_row(r) for r in rows], page=page, total=total, size=IMPORT_PAGE_SIZE))


@bp.route(f"{API}/imports", methods=["POST"])
@api_view("catalog.import")
def api_import_start() -> Response:
    """Upload a MARC file (multipart ``file``); the import is queued as a job (202)."""
    actor = require_actor()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiProblem(422, _("Send the MARC file in the multipart field \"file\"."), field="file")
    library_id = _int(request.form.get("library_id"), "library_id") or actor.library_id
    if library_id is None:
        raise ValidationFailed(_("Imports add copies to a library: choose one."), field="library_id")
    batch = import_service.start_import(
        stream=upload.stream, filename=upload.filename, library_id=library_id, actor=actor,
        fmt=request.form.get("format", "auto"), encoding=request.form.get("encoding", "auto"),
        on_match=request.form.get("on_match", "items"),
        dry_run=request.form.get("dry_run", "").strip().lower() in TRUE, enqueue=True)
    db.session.commit()
    return _json(_batch(batch), 202, Location=url_for("catalog.api_import", batch_id=batch.id))
