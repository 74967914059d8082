"""The catalog API for records: find, read (JSON or MARCXML), create and replace MARC with versions."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from catalog import marc as marc_io
from catalog.api.common import API, iso, issue_json, live_record, page_json, text_field
from catalog.api.items import item_json
from catalog.bib import MarcDict
from catalog.models import Item, Record, RecordKind
from catalog.readers import read_json, read_xml
from catalog.services import items as item_service, records as services
from catalog.validation import describe, validate
from catalog.views import bp
from ils.api import ApiProblem, api_view, json_response
from ils.auth import require_actor
from ils.errors import ValidationFailed
from ils.extensions import db
from ils.services import page_of
from ils.views import MAX_ID, page_arg

PAGE_SIZE = 25
RECORD_MAX_BYTES = 2 * 1024 * 1024  # one record, in either format
XML_TYPES = ("application/marcxml+xml", "application/xml", "text/xml")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


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
            "created_at": iso(record.created_at), "updated_at": iso(record.updated_at),
            "issues": [issue_json(i) for i in validate(marc)], "marc": marc,
            "holdings": [item_json(i) for i in holdings]}


# --- parsing -----------------------------------------------------------------------------------

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
        raise ApiProblem(422, describe(issue), issues=[{**issue_json(issue), "detail": result.detail}])
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
                         issues=[issue_json(i) for i in blocking]) from None


# --- routes ------------------------------------------------------------------------------------

@bp.route(f"{API}/records", methods=["GET"])
@api_view("catalog.view")
def api_records() -> Response:
    """Find records by title, author, ISBN, barcode or number (as the staff catalog page)."""
    text = (request.args.get("q") or "").strip()[:200]
    kind = RecordKind.AUTHORITY if request.args.get("kind") == "authority" else RecordKind.BIBLIOGRAPHIC
    page = page_arg()
    records, total = page_of(services.staff_search(text=text, kind=kind), page=page, page_size=PAGE_SIZE)
    return json_response(page_json([_record_summary(r) for r in records], page=page, total=total, size=PAGE_SIZE))


@bp.route(f"{API}/records/<id:record_id>", methods=["GET"])
@api_view("catalog.view")
def api_record(record_id: int) -> Response:
    """One record as JSON (with the holdings the actor may see), or as MARCXML."""
    record = live_record(record_id)
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
    return json_response(_record_full(record, marc, holdings))


@bp.route(f"{API}/records", methods=["POST"])
@api_view("catalog.edit")
def api_record_create() -> Response:
    """Create a record from MARC-in-JSON or MARCXML."""
    actor = require_actor()
    marc, body = _marc_from_request()
    note = text_field(body, "note", 300)
    record = _refused(marc, lambda: services.create_record(marc=marc, actor=actor, note=note or "API"))
    db.session.commit()
    location = url_for("catalog.api_record", record_id=record.id)
    return json_response(_record_full(record, services.marc_of(record),
                                      item_service.holdings(record.id, actor=actor)), 201, Location=location)


@bp.route(f"{API}/records/<id:record_id>", methods=["PUT"])
@api_view("catalog.edit")
def api_record_update(record_id: int) -> Response:
    """Replace a record's MARC; refused (409) when it changed since the version given."""
    actor = require_actor()
    live_record(record_id)
    marc, body = _marc_from_request()
    expected = _expected_version(body)
    note = text_field(body, "note", 300)
    record = _refused(marc, lambda: services.update_record(record_id=record_id, marc=marc, actor=actor,
                                                           expected_version=expected, note=note or "API"))
    db.session.commit()
    return json_response(_record_full(record, services.marc_of(record),
                                      item_service.holdings(record.id, actor=actor)))
