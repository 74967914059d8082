"""The catalog API for items (copies): a record's copies, one copy, and adding a copy."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, request, url_for
from flask_babel import gettext as _

from catalog.api.common import API, bad_value, int_field, live_record, text_field
from catalog.models import AcquisitionSource, Item, ItemType
from catalog.services import items as item_service
from catalog.views import bp
from ils.api import ApiProblem, api_view, json_response
from ils.auth import require_actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.services.libraries import library_today


def item_json(item: Item) -> dict[str, Any]:
    """A copy as JSON (also a record's holdings in the records API)."""
    return {"id": item.id, "record_id": item.record_id, "barcode": item.barcode,
            "accession_number": item.accession_number,
            "library": {"id": item.library_id, "code": item.library.code},
            "location": {"id": item.location_library_id, "code": item.location_library.code},
            "collection": item.collection, "call_number": item.call_number, "item_type": item.item_type.value,
            "status": item.status.value, "public": item.public, "lendable_network": item.lendable_network,
            "links": {"self": url_for("catalog.api_item", item_id=item.id),
                      "record": url_for("catalog.api_record", record_id=item.record_id)}}


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


def _flag(body: dict[str, Any], name: str, default: bool | None) -> bool | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise bad_value(name)
    return value


def _item_input(body: dict[str, Any]) -> item_service.ItemInput:
    """A new copy from JSON (the item form's fields; blanks are numbered and defaulted by the service)."""
    try:
        item_type = ItemType(body.get("item_type", ItemType.BUKU.value))
    except (TypeError, ValueError):
        raise bad_value("item_type") from None
    try:
        source = AcquisitionSource(body.get("source", AcquisitionSource.PEMBELIAN.value))
    except (TypeError, ValueError):
        raise bad_value("source") from None
    acquired = body.get("acquired_on")
    try:
        acquired_on = date.fromisoformat(acquired) if acquired else None
    except (TypeError, ValueError):
        raise bad_value("acquired_on") from None
    return item_service.ItemInput(
        barcode=text_field(body, "barcode", 40), accession_number=text_field(body, "accession_number", 60),
        collection=text_field(body, "collection", 60), item_type=item_type, source=source,
        price=int_field(body.get("price"), "price", 0, 1_000_000_000), acquired_on=acquired_on,
        notes=text_field(body, "notes", 500), public=_flag(body, "public", None),
        lendable_network=bool(_flag(body, "lendable_network", True)),
        call_class=text_field(body, "call_class", 40, None), call_author=text_field(body, "call_author", 20, None),
        call_title=text_field(body, "call_title", 10, None))


# --- routes ------------------------------------------------------------------------------------

@bp.route(f"{API}/records/<id:record_id>/items", methods=["GET"])
@api_view("catalog.view")
def api_record_items(record_id: int) -> Response:
    """A record's copies the actor may see (public ones, and the own library's private ones)."""
    live_record(record_id)
    holdings = item_service.holdings(record_id, actor=require_actor())
    return json_response({"items": [item_json(i) for i in holdings], "total": len(holdings)})


@bp.route(f"{API}/items/<id:item_id>", methods=["GET"])
@api_view("catalog.view")
def api_item(item_id: int) -> Response:
    """One copy; a private copy of another library is not found (as on the record page)."""
    item = item_service.get_item(item_id)
    if item not in item_service.holdings(item.record_id, actor=require_actor()):
        raise NotFound()
    return json_response(item_json(item))


@bp.route(f"{API}/records/<id:record_id>/items", methods=["POST"])
@api_view("catalog.edit")
def api_item_create(record_id: int) -> Response:
    """Add a copy for my library (network-wide staff: the ``library_id`` given)."""
    actor = require_actor()
    live_record(record_id)
    body = _body()
    library_id = int_field(body.get("library_id"), "library_id") or actor.library_id
    if library_id is None:
        raise ValidationFailed(_("Give library_id: the library the copy belongs to."), field="library_id")
    data = _item_input(body)
    item = item_service.add_item(record_id=record_id, library_id=library_id, data=data, actor=actor,
                                 today=library_today(library_id))
    db.session.commit()
    return json_response(item_json(item), 201, Location=url_for("catalog.api_item", item_id=item.id))
