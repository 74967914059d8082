"""Every route x every method x every role x own/other library: deny by default, scoped by library.

ROUTES must name every (endpoint, method) pair in the URL map, so a new route or a new method on
an existing route cannot ship without an entry here. Form POSTs send valid data, so an allowed
actor really gets through (a redirect), not just a re-rendered form.
"""
from __future__ import annotations

from collections.abc import Callable
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask

from ils.authz import PERMISSIONS
from ils.extensions import db
from ils.forms import format_hours
from ils.mixins import utcnow
from ils.models import WEEKDAYS, LibraryType, Role
from tests.factories import PASSWORD, SYSTEM, Network, add_circulation, build_network, login

OK, DENIED, LOGIN = "ok", "403", "login"
NEW_PASSWORD = "a brand new long passphrase"
FormData = dict[str, Any]


@dataclass(frozen=True)
class Route:
    """How to call one endpoint with one method, and who may."""

    url: Callable[[Network, str], str]  # (network, "own"|"other") -> url
    permission: str | None  # None: public; "login": any staff
    scoped: bool = False  # the object belongs to library A (own) or B (other)
    data: Callable[[Network, str, str], FormData] | None = None  # (network, side, role) -> form data
    json: Callable[[Network, str, str], Any] | None = None  # (network, side, role) -> JSON body
    api: bool = False  # JSON API: success is 2xx (no redirect), no session is 401 (no login page)


def lib(net: Network, side: str) -> int:
    return (net.a if side == "own" else net.b).id


def target(net: Network, side: str) -> int:
    return (net.target_a if side == "own" else net.target_b).id


def job(net: Network, side: str) -> str:
    return (net.job_a if side == "own" else net.job_b).id


def library_values(net: Network, side: str, role: str) -> FormData:
    """The library's current values with a new phone number (network fields are ignored for librarians)."""
    library = net.a if side == "own" else net.b
    data: FormData = {"code": library.code, "name": library.name, "type": library.type.value,
                      "parent_id": library.parent_id or 0, "timezone": library.timezone, "phone": "0548-123456"}
    data.update({f"hours_{day}": format_hours(library.opening_hours.get(day, [])) for day in WEEKDAYS})
    if library.opac_public:
        data["opac_public"] = "y"
    return data


def new_library(net: Network, side: str, role: str) -> FormData:
    return {"code": "LIB-C", "name": "Perpustakaan Baru", "type": LibraryType.KELURAHAN.value,
            "parent_id": 0, "timezone": "Asia/Makassar"}


def new_staff(net: Network, side: str, role: str) -> FormData:
    # library_id only matters to admin/DPK (librarians have no library select and get their own).
    return {"username": "new.staff", "full_name": "New Staff", "role": Role.CATALOGUER.value, "locale": "id",
            "library_id": net.a.id, "password": NEW_PASSWORD}


def staff_values(net: Network, side: str, role: str) -> FormData:
    return {"full_name": "Renamed Target", "email": "target@example.org", "role": Role.CATALOGUER.value,
            "locale": "id", "library_id": lib(net, side)}


def new_password(net: Network, side: str, role: str) -> FormData:
    return {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}


def own_new_password(net: Network, side: str, role: str) -> FormData:
    return {"current_password": PASSWORD, **new_password(net, side, role)}


def credentials(net: Network, side: str, role: str) -> FormData:
    """The acting user's own credentials; anonymous tries a wrong pair."""
    if role == "anonymous":
        return {"username": "nobody", "password": "wrong password"}
    return {"username": net.users[role].username, "password": PASSWORD}


def deactivate(net: Network, side: str, role: str) -> FormData:
    return {"active": "0"}


def nothing(net: Network, side: str, role: str) -> FormData:
    return {}


def record(net: Network, side: str) -> int:
    return (net.record_a if side == "own" else net.record_b).id


def item(net: Network, side: str) -> int:
    return (net.item_a if side == "own" else net.item_b).id


def batch(net: Network, side: str) -> int:
    return (net.batch_a if side == "own" else net.batch_b).id


def quick_record(net: Network, side: str, role: str) -> FormData:
    return {"title": "Nelayan Bontang Kuala", "authors": "Saleh, Muhammad", "year": "2024", "language": "ind",
            "item_type": "buku", "source": "pembelian", "add_item": "y", "lendable_network": "y"}


def marc_text(net: Network, side: str, role: str) -> FormData:
    return {"marc": "=LDR  00000nam\\a2200000\\i\\4500\n=008  " + "\\" * 40 + "\n=245  00$aCatatan Matrix."}


def merge_other(net: Network, side: str, role: str) -> FormData:
    other = net.record_b if side == "own" else net.record_a
    return {"other_id": other.id, "confirm": "y"}


def new_item(net: Network, side: str, role: str) -> FormData:
    return {"barcode": "", "item_type": "buku", "source": "hadiah", "lendable_network": "y", "public": "y"}


def item_values(net: Network, side: str, role: str) -> FormData:
    copy = net.item_a if side == "own" else net.item_b
    return {"barcode": copy.barcode, "accession_number": copy.accession_number, "collection": "Anak",
            "item_type": "buku", "source": "pembelian", "price": "45000", "lendable_network": "y", "public": "y"}


def catalog_settings(net: Network, side: str, role: str) -> FormData:
    return {"accession_pattern": "{seq:04d}/{code}/{yy}", "barcode_prefix": "BTG", "default_collection": "Umum",
            "items_public": "y"}


def upload(net: Network, side: str, role: str) -> FormData:
    from catalog.build import QuickEntry, build
    from catalog.marc import iso2709

    data = iso2709(build(QuickEntry(title="Berkas Impor Matrix"), org_code="T", today=date(2026, 1, 1)))
    return {"file": (io.BytesIO(data), "matrix.mrc"), "format": "auto", "encoding": "auto", "on_match": "items",
            "library_id": net.a.id}


def api_marc(net: Network, side: str, role: str) -> dict[str, Any]:
    from catalog.build import QuickEntry, build

    return {"marc": build(QuickEntry(title="Catatan API Matrix"), org_code="T", today=date(2026, 1, 1))}


def api_marc_edit(net: Network, side: str, role: str) -> dict[str, Any]:
    from catalog.services.records import marc_of

    text = marc_of(net.record_a if side == "own" else net.record_b)
    for entry in text["fields"]:
        if "245" in entry:
            entry["245"]["subfields"] = [{"a": "Judul Diubah lewat API"}]
    return {"marc": text, "version": 1}


def api_new_item(net: Network, side: str, role: str) -> dict[str, Any]:
    return {"library_id": lib(net, side), "item_type": "buku", "source": "hadiah", "public": True}


def api_upload(net: Network, side: str, role: str) -> FormData:
    return {**upload(net, side, role), "library_id": lib(net, side)}


ROUTES: dict[tuple[str, str], Route] = {
    ("ils.index", "GET"): Route(lambda n, s: "/", None),
    ("ils.login", "GET"): Route(lambda n, s: "/login", None),
    ("ils.login", "POST"): Route(lambda n, s: "/login", None, data=credentials),
    ("ils.set_language", "POST"): Route(lambda n, s: "/language", None, data=lambda n, s, r: {"lang": "en"}),
    ("ils.logout", "POST"): Route(lambda n, s: "/logout", "login", data=nothing),
    ("ils.own_password", "GET"): Route(lambda n, s: "/account/password", "login"),
    ("ils.own_password", "POST"): Route(lambda n, s: "/account/password", "login", data=own_new_password),
    ("ils.audit_list", "GET"): Route(lambda n, s: "/audit/", "audit.view"),
    ("ils.staff_home", "GET"): Route(lambda n, s: "/staff/", "library.view"),
    ("ils.library_list", "GET"): Route(lambda n, s: "/libraries/", "library.view"),
    ("ils.library_new", "GET"): Route(lambda n, s: "/libraries/new", "library.manage"),
    ("ils.library_new", "POST"): Route(lambda n, s: "/libraries/new", "library.manage", data=new_library),
    ("ils.library_detail", "GET"): Route(lambda n, s: f"/libraries/{lib(n, s)}", "library.view", True),
    ("ils.library_edit", "GET"): Route(lambda n, s: f"/libraries/{lib(n, s)}/edit", "library.settings", True),
    ("ils.library_edit", "POST"): Route(lambda n, s: f"/libraries/{lib(n, s)}/edit", "library.settings", True,
                                        data=library_values),
    ("ils.library_set_active", "POST"): Route(lambda n, s: f"/libraries/{lib(n, s)}/active", "library.manage",
                                              True, data=deactivate),
    ("ils.staff_list", "GET"): Route(lambda n, s: f"/staff/accounts/?library={lib(n, s)}", "staff.view", True),
    ("ils.staff_new", "GET"): Route(lambda n, s: "/staff/accounts/new", "staff.manage"),
    ("ils.staff_new", "POST"): Route(lambda n, s: "/staff/accounts/new", "staff.manage", data=new_staff),
    ("ils.staff_detail", "GET"): Route(lambda n, s: f"/staff/accounts/{target(n, s)}", "staff.view", True),
    ("ils.staff_edit", "GET"): Route(lambda n, s: f"/staff/accounts/{target(n, s)}/edit", "staff.manage", True),
    ("ils.staff_edit", "POST"): Route(lambda n, s: f"/staff/accounts/{target(n, s)}/edit", "staff.manage", True,
                                      data=staff_values),
    ("ils.staff_password", "GET"): Route(lambda n, s: f"/staff/accounts/{target(n, s)}/password",
                                         "staff.manage", True),
    ("ils.staff_password", "POST"): Route(lambda n, s: f"/staff/accounts/{target(n, s)}/password",
                                          "staff.manage", True, data=new_password),
    ("ils.staff_set_active", "POST"): Route(lambda n, s: f"/staff/accounts/{target(n, s)}/active",
                                            "staff.manage", True, data=deactivate),
    ("ils.jobs_list", "GET"): Route(lambda n, s: "/jobs/", "jobs.view"),
    ("ils.jobs_status", "GET"): Route(lambda n, s: f"/jobs/status.json?id={job(n, s)}", "jobs.view"),
    ("ils.job_detail", "GET"): Route(lambda n, s: f"/jobs/{job(n, s)}", "jobs.view", True),
    ("ils.job_retry", "POST"): Route(lambda n, s: f"/jobs/{job(n, s)}/retry", "jobs.manage", True, data=nothing),
    ("ils.job_network_report", "POST"): Route(lambda n, s: "/jobs/network-report", "reports.run", data=nothing),
    ("catalog.catalog_home", "GET"): Route(lambda n, s: "/catalog/?q=hikayat", "catalog.view"),
    ("catalog.catalog_scan", "GET"): Route(lambda n, s: "/catalog/scan?q=pesisir", "catalog.edit"),
    ("catalog.catalog_export", "GET"): Route(lambda n, s: "/catalog/export?format=marcxml", "catalog.export"),
    ("catalog.catalog_settings", "GET"): Route(lambda n, s: f"/catalog/settings?library={lib(n, s)}",
                                               "library.settings", True),
    ("catalog.catalog_settings", "POST"): Route(lambda n, s: f"/catalog/settings?library={lib(n, s)}",
                                                "library.settings", True, data=catalog_settings),
    ("catalog.record_new", "GET"): Route(lambda n, s: "/catalog/records/new?isbn=9786020331256", "catalog.edit"),
    ("catalog.record_new", "POST"): Route(lambda n, s: "/catalog/records/new", "catalog.edit", data=quick_record),
    ("catalog.record_new_marc", "GET"): Route(lambda n, s: "/catalog/records/new/marc", "catalog.edit"),
    ("catalog.record_new_marc", "POST"): Route(lambda n, s: "/catalog/records/new/marc", "catalog.edit",
                                               data=marc_text),
    ("catalog.record_detail", "GET"): Route(lambda n, s: f"/catalog/records/{record(n, s)}", "catalog.view"),
    ("catalog.record_marc", "GET"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/marc", "catalog.edit"),
    ("catalog.record_marc", "POST"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/marc", "catalog.edit",
                                           data=marc_text),
    ("catalog.record_quick_edit", "GET"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/quick",
                                                "catalog.edit"),
    ("catalog.record_quick_edit", "POST"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/quick",
                                                 "catalog.edit", data=quick_record),
    ("catalog.record_history", "GET"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/history?a=1&b=1",
                                             "catalog.view"),
    ("catalog.record_merge", "GET"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/merge", "catalog.merge"),
    ("catalog.record_merge", "POST"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/merge", "catalog.merge",
                                            data=merge_other),
    ("catalog.record_delete", "POST"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/delete", "catalog.edit",
                                             data=nothing),
    ("catalog.item_new", "GET"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/items/new?library={lib(n, s)}",
                                       "catalog.edit", True),
    ("catalog.item_new", "POST"): Route(lambda n, s: f"/catalog/records/{record(n, s)}/items/new?library={lib(n, s)}",
                                        "catalog.edit", True, data=new_item),
    ("catalog.item_edit", "GET"): Route(lambda n, s: f"/catalog/items/{item(n, s)}/edit", "catalog.edit", True),
    ("catalog.item_edit", "POST"): Route(lambda n, s: f"/catalog/items/{item(n, s)}/edit", "catalog.edit", True,
                                         data=item_values),
    ("catalog.item_withdraw", "POST"): Route(lambda n, s: f"/catalog/items/{item(n, s)}/withdraw", "catalog.edit",
                                             True, data=lambda n, s, r: {"reason": "rusak berat"}),
    ("catalog.item_delete", "POST"): Route(lambda n, s: f"/catalog/items/{item(n, s)}/delete", "catalog.edit", True,
                                           data=nothing),
    ("catalog.import_list", "GET"): Route(lambda n, s: "/catalog/imports/", "catalog.import"),
    ("catalog.import_list", "POST"): Route(lambda n, s: "/catalog/imports/", "catalog.import", data=upload),
    ("catalog.import_detail", "GET"): Route(lambda n, s: f"/catalog/imports/{batch(n, s)}", "catalog.import", True),
    ("catalog.import_report", "GET"): Route(lambda n, s: f"/catalog/imports/{batch(n, s)}/report.csv",
                                            "catalog.import", True),
    ("catalog.import_resume", "POST"): Route(lambda n, s: f"/catalog/imports/{batch(n, s)}/resume", "catalog.import",
                                             True, data=nothing),
    ("catalog.import_revert", "POST"): Route(lambda n, s: f"/catalog/imports/{batch(n, s)}/revert", "catalog.import",
                                             True, data=nothing),
    ("catalog.api_records", "GET"): Route(lambda n, s: "/api/v1/catalog/records?q=hikayat", "catalog.view", api=True),
    ("catalog.api_record_create", "POST"): Route(lambda n, s: "/api/v1/catalog/records", "catalog.edit",
                                                 json=api_marc, api=True),
    ("catalog.api_record", "GET"): Route(lambda n, s: f"/api/v1/catalog/records/{record(n, s)}", "catalog.view",
                                         api=True),
    ("catalog.api_record_update", "PUT"): Route(lambda n, s: f"/api/v1/catalog/records/{record(n, s)}",
                                                "catalog.edit", json=api_marc_edit, api=True),
    ("catalog.api_record_items", "GET"): Route(lambda n, s: f"/api/v1/catalog/records/{record(n, s)}/items",
                                               "catalog.view", api=True),
    ("catalog.api_item_create", "POST"): Route(lambda n, s: f"/api/v1/catalog/records/{record(n, s)}/items",
                                               "catalog.edit", True, json=api_new_item, api=True),
    ("catalog.api_item", "GET"): Route(lambda n, s: f"/api/v1/catalog/items/{item(n, s)}", "catalog.view", api=True),
    ("catalog.api_imports", "GET"): Route(lambda n, s: "/api/v1/catalog/imports", "catalog.import", api=True),
    ("catalog.api_import_start", "POST"): Route(lambda n, s: "/api/v1/catalog/imports", "catalog.import", True,
                                                data=api_upload, api=True),
    ("catalog.api_import", "GET"): Route(lambda n, s: f"/api/v1/catalog/imports/{batch(n, s)}", "catalog.import",
                                         True, api=True),
    ("catalog.api_import_rows", "GET"): Route(lambda n, s: f"/api/v1/catalog/imports/{batch(n, s)}/rows",
                                              "catalog.import", True, api=True),
    ("catalog.labels_page", "GET"): Route(lambda n, s: f"/catalog/labels?library={lib(n, s)}", "catalog.edit", True),
    ("catalog.labels_pdf", "GET"): Route(lambda n, s: f"/catalog/labels.pdf?library={lib(n, s)}&item={item(n, s)}",
                                         "catalog.edit", True),
    ("catalog.accession_register", "GET"): Route(lambda n, s: f"/catalog/accession-register?library={lib(n, s)}",
                                                 "catalog.view", True),
    ("catalog.accession_register_pdf", "GET"): Route(
        lambda n, s: f"/catalog/accession-register.pdf?library={lib(n, s)}&year=2026", "catalog.view", True),
    ("catalog.collection_statistics", "GET"): Route(lambda n, s: f"/catalog/statistics?library={lib(n, s)}",
                                                    "catalog.view", True),
    ("catalog.opac_home", "GET"): Route(lambda n, s: "/opac/", None),
    ("catalog.opac_search", "GET"): Route(lambda n, s: "/opac/search?q=baca", None),
    ("catalog.oai_endpoint", "GET"): Route(lambda n, s: "/oai?verb=Identify", None),
    ("catalog.oai_endpoint", "POST"): Route(lambda n, s: "/oai", None, data=lambda n, s, r: {"verb": "Identify"}),
    ("catalog.sru_endpoint", "GET"): Route(
        lambda n, s: "/sru?version=1.2&operation=searchRetrieve&query=dc.title%3Dhikayat", None),
    ("catalog.sru_endpoint", "POST"): Route(lambda n, s: "/sru", None, data=nothing),  # SRU form POST
    ("catalog.opac_record", "GET"): Route(lambda n, s: f"/opac/record/{record(n, s)}", None),
    ("catalog.api_search", "GET"): Route(lambda n, s: "/api/v1/search?q=hikayat", None),
    ("catalog.opac_record_export", "GET"): Route(lambda n, s: f"/opac/record/{record(n, s)}/export/ris", None),
    ("catalog.opac_libraries", "GET"): Route(lambda n, s: "/opac/libraries", None),
    ("catalog.opac_new", "GET"): Route(lambda n, s: "/opac/new", None),
    ("catalog.opac_new_atom", "GET"): Route(lambda n, s: "/opac/new.atom", None),
    ("catalog.opac_new_rss", "GET"): Route(lambda n, s: "/opac/new.rss", None),
}

# --- circulation ---------------------------------------------------------------------------------------

def circ(net: Network, side: str) -> Any:
    """The side's circulation objects, made the first time a route asks (most routes never do)."""
    if not net.circulation:
        net.circulation.update(add_circulation(net))
    return net.circulation[side]


def desk_url(path: str) -> Callable[[Network, str], str]:
    """A desk page of the side's library (network staff name it with ?library=; others have their own)."""
    return lambda n, s: f"{path}{'&' if '?' in path else '?'}library={lib(n, s)}"


def checkout_form(net: Network, side: str, role: str) -> FormData:
    return {"card": circ(net, side).patron.card_number, "barcode": circ(net, side).free_barcode,
            "request_key": f"matrix-{role}-{side}"}


def card_json(net: Network, side: str, role: str) -> Any:
    return {"card": circ(net, side).patron.card_number, "barcode": circ(net, side).free_barcode,
            "library_id": lib(net, side)}


def loan_json(net: Network, side: str, role: str) -> Any:
    return {"barcode": circ(net, side).loan_barcode, "library_id": lib(net, side)}


def hold_form(net: Network, side: str, role: str) -> FormData:
    return {"card": circ(net, side).patron.card_number, "record_id": circ(net, side).record.id,
            "pickup_library_id": lib(net, side)}


def hold_json(net: Network, side: str, role: str) -> Any:
    return {**hold_form(net, side, role), "library_id": lib(net, side)}


def money(net: Network, side: str, role: str) -> FormData:
    return {"amount": 1000, "method": "cash", "reason": "Keringanan", "library_id": lib(net, side)}


def new_patron_json(net: Network, side: str, role: str) -> Any:
    return {"name": "Pendaftar Matriks", "category_code": "umum", "home_library_id": lib(net, side)}


def registration(net: Network, side: str, role: str) -> FormData:
    return {"name": "Pendaftar Daring", "category_code": "umum", "birth_date": "1990-01-01", "phone": "081234567890",
            "address": "Jl. Matriks 1", "kelurahan": "Api-Api", "home_library_id": net.a.id, "pin": "2580",
            "pin_confirm": "2580", "notice": "y"}


def patron_values(net: Network, side: str, role: str) -> FormData:
    return {"name": "Nama Baru", "category_code": "umum", "gender": "", "notice_channel": "email", "locale": "id",
            "school_library_id": 0, "home_library_id": lib(net, side)}


def class_list(net: Network, side: str, role: str) -> FormData:
    net.a.type = LibraryType.SEKOLAH_SMP  # class lists are a school library's
    db.session.commit()
    return {"file": (io.BytesIO(b"Nama,NIS,Kelas\nAndi Saputra,2301,7A\n"), "7a.csv"), "library_id": net.a.id,
            "consent": "y"}


def patron_url(path: str) -> Callable[[Network, str], str]:
    """A member page of the side's patron."""
    return lambda n, s: f"/circulation/patrons/{circ(n, s).patron.id}{path}"


KIOSK_PASSWORD = "kiosk sandi panjang 2026"


def circ_rule(net: Network, side: str) -> int:
    from circulation.models import CirculationRule
    from circulation.services.rules import RuleInput, create_rule

    found = db.session.scalar(db.select(CirculationRule.id).where(CirculationRule.library_id == lib(net, side),
                                                                  CirculationRule.item_type == "buku"))
    if found is not None:  # several routes of one network ask (the CSRF test builds every URL)
        return found
    rule = create_rule(actor=SYSTEM, library_id=lib(net, side), data=RuleInput(item_type="buku"), now=utcnow())
    db.session.commit()
    return rule.id


def circ_closure(net: Network, side: str) -> int:
    from circulation.models import LibraryClosure
    from circulation.services.settings import add_closure

    found = db.session.scalar(db.select(LibraryClosure.id).where(LibraryClosure.library_id == lib(net, side)))
    if found is not None:
        return found
    row = add_closure(actor=SYSTEM, library_id=lib(net, side), on_date=date(2026, 10, 12), closed=True,
                      reason="HUT Kota Bontang", now=utcnow())
    db.session.commit()
    return row.id


def sip_account(net: Network, side: str) -> int:
    from circulation.models import SipAccount
    from circulation.services.settings import create_sip_account

    found = db.session.scalar(db.select(SipAccount.id).where(SipAccount.login == f"kiosk-{side}"))
    if found is not None:
        return found
    account = create_sip_account(actor=SYSTEM, library_id=lib(net, side), login=f"kiosk-{side}",
                                 password=KIOSK_PASSWORD, now=utcnow())
    db.session.commit()
    return account.id


def unused_category(net: Network, side: str) -> str:
    from circulation.models import PatronCategory
    from circulation.services.categories import CategoryInput, create_category

    if db.session.get(PatronCategory, "tamu") is not None:
        return "tamu"
    create_category(actor=SYSTEM, code="tamu", data=CategoryInput(name_id="Tamu", name_en="Guest"), now=utcnow())
    db.session.commit()
    return "tamu"


def rule_values(net: Network, side: str, role: str) -> FormData:
    return {"library_id": 0, "category_code": "*", "item_type": "peta", "loanable": "y", "loan_days": 14,
            "max_loans_library": 3, "max_loans_city": 10, "renewals": 1, "renewal_days": 7, "fine_per_day": 500,
            "fine_cap": 0, "grace_days": 0, "holds_allowed": "y", "hold_shelf_days": 3, "other_libraries": "y"}


def category_values(net: Network, side: str, role: str) -> FormData:
    return {"code": "lansia", "name_id": "Lanjut usia", "name_en": "Senior citizen", "card_months": 24,
            "minor_below_age": 18, "sort": 90, "active": "y"}


ADMIN_ROUTES: dict[tuple[str, str], Route] = {
    ("circulation.rules_list", "GET"): Route(desk_url("/circulation/rules"), "circulation.rules", True),
    ("circulation.rule_new", "GET"): Route(lambda n, s: "/circulation/rules/new", "circulation.rules"),
    ("circulation.rule_new", "POST"): Route(lambda n, s: "/circulation/rules/new", "circulation.rules",
                                            data=rule_values),
    ("circulation.rule_edit", "GET"): Route(lambda n, s: f"/circulation/rules/{circ_rule(n, s)}/edit",
                                            "circulation.rules", True),
    ("circulation.rule_edit", "POST"): Route(lambda n, s: f"/circulation/rules/{circ_rule(n, s)}/edit",
                                             "circulation.rules", True, data=rule_values),
    ("circulation.rule_delete", "POST"): Route(lambda n, s: f"/circulation/rules/{circ_rule(n, s)}/delete",
                                               "circulation.rules", True, data=nothing),
    ("circulation.rule_preview", "GET"): Route(
        lambda n, s: f"/circulation/rules/preview?library_id={lib(n, s)}&category_code=umum&item_type=buku",
        "circulation.rules", True),
    ("circulation.category_list", "GET"): Route(lambda n, s: "/circulation/categories", "circulation.rules"),
    ("circulation.category_new", "GET"): Route(lambda n, s: "/circulation/categories/new", "circulation.categories"),
    ("circulation.category_new", "POST"): Route(lambda n, s: "/circulation/categories/new", "circulation.categories",
                                                data=category_values),
    ("circulation.category_edit", "GET"): Route(lambda n, s: "/circulation/categories/umum/edit",
                                                "circulation.categories"),
    ("circulation.category_edit", "POST"): Route(lambda n, s: "/circulation/categories/umum/edit",
                                                 "circulation.categories", data=category_values),
    ("circulation.category_delete", "POST"): Route(
        lambda n, s: f"/circulation/categories/{unused_category(n, s)}/delete", "circulation.categories",
        data=nothing),
    ("circulation.circulation_settings", "GET"): Route(desk_url("/circulation/settings"), "library.settings", True),
    ("circulation.circulation_settings", "POST"): Route(desk_url("/circulation/settings"), "library.settings", True,
                                                        data=lambda n, s, r: {
        "fines_skip_closed": "y", "national_holidays": "y", "cuti_bersama": "y", "pickup_point": "y",
        "fee_block_threshold": 20000, "block_on_overdue": "y", "self_registration": "y", "due_soon_days": 2}),
    ("circulation.calendar_page", "GET"): Route(desk_url("/circulation/calendar?year=2026"), "library.settings",
                                                True),
    ("circulation.closure_add", "POST"): Route(desk_url("/circulation/calendar/closures"), "library.settings", True,
                                               data=lambda n, s, r: {"on_date": "2026-10-12", "status": "closed",
                                                                     "reason": "HUT Kota Bontang"}),
    ("circulation.closure_remove", "POST"): Route(
        lambda n, s: f"/circulation/calendar/closures/{circ_closure(n, s)}/delete", "library.settings", True,
        data=nothing),
    ("circulation.sip_accounts", "GET"): Route(desk_url("/circulation/sip-accounts"), "sip.manage", True),
    ("circulation.sip_account_new", "POST"): Route(lambda n, s: "/circulation/sip-accounts/new", "sip.manage",
                                                   data=lambda n, s, r: {
        "login": "kiosk-new", "password": KIOSK_PASSWORD, "label": "Lobi", "require_pin": "y",
        "library_id": lib(n, s)}),
    ("circulation.sip_account_password", "POST"): Route(
        lambda n, s: f"/circulation/sip-accounts/{sip_account(n, s)}/password", "sip.manage", True,
        data=lambda n, s, r: {"password": "sandi kiosk yang baru"}),
    ("circulation.sip_account_deactivate", "POST"): Route(
        lambda n, s: f"/circulation/sip-accounts/{sip_account(n, s)}/deactivate", "sip.manage", True,
        data=nothing),
    ("circulation.patron_photo", "POST"): Route(patron_url("/photo"), "patron.edit", True,
                                                data=lambda n, s, r: {"remove": "y"}),
    ("circulation.patron_photo_file", "GET"): Route(patron_url("/photo.jpg"), "patron.edit", True),
}


# The OPAC member pages have no staff permission (None): a member logs in with card and PIN, and
# everyone else, staff included, is sent to the member login (a redirect, like a success).
CIRCULATION_ROUTES: dict[tuple[str, str], Route] = {
    ("circulation.patron_list", "GET"): Route(lambda n, s: "/circulation/patrons?status=active", "patron.view"),
    ("circulation.patron_list", "POST"): Route(lambda n, s: "/circulation/patrons", "patron.view",
                                               data=lambda n, s, r: {"q": "anggota"}),
    ("circulation.patron_new", "GET"): Route(lambda n, s: "/circulation/patrons/new", "patron.edit"),
    ("circulation.patron_new", "POST"): Route(lambda n, s: "/circulation/patrons/new", "patron.edit",
                                              data=lambda n, s, r: {**patron_values(n, s, r), "name": "Siti Aminah",
                                                                    "home_library_id": n.a.id}),
    ("circulation.patron_detail", "GET"): Route(patron_url(""), "patron.view"),
    ("circulation.patron_edit", "GET"): Route(patron_url("/edit"), "patron.edit", True),
    ("circulation.patron_edit", "POST"): Route(patron_url("/edit"), "patron.edit", True, data=patron_values),
    ("circulation.patron_approve", "POST"): Route(patron_url("/approve"), "patron.edit", True, data=nothing),
    ("circulation.patron_block", "POST"): Route(patron_url("/block"), "patron.edit", True,
                                                data=lambda n, s, r: {"blocked": "1", "reason": "Kartu hilang"}),
    ("circulation.patron_renew", "POST"): Route(patron_url("/renew"), "patron.edit", True, data=nothing),
    ("circulation.patron_pin", "POST"): Route(patron_url("/pin"), "patron.edit", True,
                                              data=lambda n, s, r: {"pin": "4821", "confirm": "4821"}),
    ("circulation.patron_erase", "POST"): Route(patron_url("/erase"), "patron.erase", True,
                                                data=lambda n, s, r: {"reason": "Permintaan anggota", "confirm": "y"}),
    ("circulation.patron_import", "GET"): Route(lambda n, s: "/circulation/patrons/import", "patron.import"),
    ("circulation.patron_import", "POST"): Route(lambda n, s: "/circulation/patrons/import", "patron.import",
                                                 data=class_list),
    ("circulation.patron_card_pdf", "GET"): Route(patron_url("/card.pdf"), "patron.edit", True),
    ("circulation.patron_class_cards_pdf", "GET"): Route(
        lambda n, s: f"/circulation/patrons/cards.pdf?school={lib(n, s)}&class={circ(n, s).patron.school_class}",
        "patron.edit", True),
    ("circulation.notice_list", "GET"): Route(desk_url("/circulation/notices?status=failed&kind=overdue"),
                                              "notices.view", True),
    ("circulation.notice_retry", "POST"): Route(desk_url("/circulation/notices/retry"), "notices.view", True,
                                                data=nothing),
    ("circulation.visits_kiosk", "GET"): Route(desk_url("/circulation/visits/kiosk"), "visits.record", True),
    ("circulation.visits_kiosk", "POST"): Route(desk_url("/circulation/visits/kiosk"), "visits.record", True,
                                                data=lambda n, s, r: {"category": "umum", "purpose": "membaca"}),
    ("circulation.visits_daily", "GET"): Route(desk_url("/circulation/visits"), "visits.record", True),
    ("circulation.in_house_use", "POST"): Route(desk_url("/circulation/visits/in-house"), "visits.record", True,
                                                data=lambda n, s, r: {"barcode": circ(n, s).free_barcode,
                                                                      "count": "1"}),
    ("circulation.opac_login", "GET"): Route(lambda n, s: "/opac/account/login", None),
    ("circulation.opac_login", "POST"): Route(lambda n, s: "/opac/account/login", None,
                                              data=lambda n, s, r: {"card_number": "64740000000", "pin": "9999"}),
    ("circulation.opac_logout", "POST"): Route(lambda n, s: "/opac/account/logout", None, data=nothing),
    ("circulation.opac_account", "GET"): Route(lambda n, s: "/opac/account", None),
    ("circulation.opac_renew", "POST"): Route(lambda n, s: f"/opac/account/loans/{circ(n, s).loan.id}/renew", None,
                                              data=nothing),
    ("circulation.opac_hold_cancel", "POST"): Route(lambda n, s: f"/opac/account/holds/{circ(n, s).hold.id}/cancel",
                                                    None, data=nothing),
    ("circulation.opac_hold_pickup", "POST"): Route(lambda n, s: f"/opac/account/holds/{circ(n, s).hold.id}/pickup",
                                                    None, data=lambda n, s, r: {"pickup_library_id": n.a.id}),
    ("circulation.opac_history", "POST"): Route(lambda n, s: "/opac/account/history", None,
                                                data=lambda n, s, r: {"opt_in": "1"}),
    ("circulation.opac_pin", "GET"): Route(lambda n, s: "/opac/account/pin", None),
    ("circulation.opac_pin", "POST"): Route(lambda n, s: "/opac/account/pin", None, data=lambda n, s, r: {
        "current_pin": "2580", "new_pin": "3691", "confirm": "3691"}),
    ("circulation.opac_data", "POST"): Route(lambda n, s: "/opac/account/data", None,
                                             data=lambda n, s, r: {"format": "json"}),
    ("circulation.opac_place_hold", "GET"): Route(lambda n, s: f"/opac/records/{record(n, s)}/hold", None),
    ("circulation.opac_place_hold", "POST"): Route(lambda n, s: f"/opac/records/{record(n, s)}/hold", None,
                                                   data=lambda n, s, r: {"pickup_library_id": n.a.id, "item_id": 0}),
    ("circulation.opac_register", "GET"): Route(lambda n, s: "/opac/register", None),
    ("circulation.opac_register", "POST"): Route(lambda n, s: "/opac/register", None, data=registration),
    ("circulation.opac_register_done", "GET"): Route(lambda n, s: "/opac/register/done", None),
    ("circulation.desk", "GET"): Route(desk_url("/circulation"), "circulation.desk"),
    ("circulation.desk_library_choose", "POST"): Route(lambda n, s: "/circulation/desk-library", "circulation.desk",
                                                       True, data=lambda n, s, r: {"library_id": lib(n, s)}),
    ("circulation.checkout", "GET"): Route(
        lambda n, s: f"/circulation/checkout?card={circ(n, s).patron.card_number}&library={lib(n, s)}",
        "circulation.desk"),
    ("circulation.checkout", "POST"): Route(desk_url("/circulation/checkout"), "circulation.desk",
                                            data=checkout_form),
    ("circulation.checkin", "GET"): Route(desk_url("/circulation/checkin"), "circulation.desk"),
    ("circulation.checkin", "POST"): Route(desk_url("/circulation/checkin"), "circulation.desk",
                                           data=lambda n, s, r: {"barcode": circ(n, s).loan_barcode}),
    ("circulation.renew", "POST"): Route(desk_url("/circulation/renew"), "circulation.desk",
                                         data=lambda n, s, r: {"barcode": circ(n, s).loan_barcode}),
    ("circulation.explain", "GET"): Route(
        lambda n, s: f"/circulation/explain?card={circ(n, s).patron.card_number}&barcode={circ(n, s).free_barcode}"
                     f"&library={lib(n, s)}", "circulation.desk"),
    ("circulation.holds", "GET"): Route(desk_url("/circulation/holds"), "circulation.desk"),
    ("circulation.hold_place", "POST"): Route(desk_url("/circulation/holds/place"), "circulation.desk",
                                              data=hold_form),
    ("circulation.hold_cancel", "POST"): Route(lambda n, s: f"/circulation/holds/{circ(n, s).hold.id}/cancel",
                                               "circulation.desk", True, data=nothing),
    ("circulation.loan_lost", "POST"): Route(lambda n, s: f"/circulation/loans/{circ(n, s).loan.id}/lost",
                                             "circulation.desk", True, data=nothing),
    ("circulation.return_receipt", "GET"): Route(
        lambda n, s: f"/circulation/loans/{circ(n, s).returned.id}/receipt", "circulation.desk", True),
    ("circulation.fee_pay", "GET"): Route(
        lambda n, s: f"/circulation/patrons/{circ(n, s).patron.id}/pay?library={lib(n, s)}", "fees.collect"),
    ("circulation.fee_pay", "POST"): Route(
        lambda n, s: f"/circulation/patrons/{circ(n, s).patron.id}/pay?library={lib(n, s)}", "fees.collect",
        data=money),
    ("circulation.fee_waive", "POST"): Route(lambda n, s: f"/circulation/fees/{circ(n, s).fee.id}/waive",
                                             "fees.waive", True, data=money),
    ("circulation.receipt", "GET"): Route(lambda n, s: f"/circulation/receipts/{circ(n, s).receipt}",
                                          "fees.collect", True),
    ("circulation.cash_report", "GET"): Route(desk_url("/circulation/cash-report"), "circulation.reports"),
    ("circulation.api_patrons", "GET"): Route(lambda n, s: "/api/v1/circulation/patrons?q=Anggota", "patron.view",
                                              api=True),
    ("circulation.api_patron", "GET"): Route(lambda n, s: f"/api/v1/circulation/patrons/{circ(n, s).patron.id}",
                                             "patron.view", api=True),
    ("circulation.api_patron_create", "POST"): Route(lambda n, s: "/api/v1/circulation/patrons", "patron.edit",
                                                     True, json=new_patron_json, api=True),
    ("circulation.api_checkout", "POST"): Route(lambda n, s: "/api/v1/circulation/checkout", "circulation.desk",
                                                json=card_json, api=True),
    ("circulation.api_checkin", "POST"): Route(lambda n, s: "/api/v1/circulation/checkin", "circulation.desk",
                                               json=loan_json, api=True),
    ("circulation.api_renew", "POST"): Route(lambda n, s: "/api/v1/circulation/renew", "circulation.desk",
                                             json=loan_json, api=True),
    ("circulation.api_explain", "GET"): Route(
        lambda n, s: f"/api/v1/circulation/explain?card={circ(n, s).patron.card_number}"
                     f"&barcode={circ(n, s).free_barcode}&library_id={lib(n, s)}", "circulation.desk", api=True),
    ("circulation.api_hold_place", "POST"): Route(lambda n, s: "/api/v1/circulation/holds", "circulation.desk",
                                                  json=hold_json, api=True),
    ("circulation.api_hold_cancel", "POST"): Route(
        lambda n, s: f"/api/v1/circulation/holds/{circ(n, s).hold.id}/cancel", "circulation.desk", True,
        json=lambda n, s, r: {"reason": "matrix"}, api=True),
    ("circulation.api_fees", "GET"): Route(lambda n, s: f"/api/v1/circulation/patrons/{circ(n, s).patron.id}/fees",
                                           "fees.collect", api=True),
    ("circulation.api_pay", "POST"): Route(lambda n, s: f"/api/v1/circulation/patrons/{circ(n, s).patron.id}/payments",
                                           "fees.collect", json=money, api=True),
    ("circulation.api_waive", "POST"): Route(lambda n, s: f"/api/v1/circulation/fees/{circ(n, s).fee.id}/waive",
                                             "fees.waive", True, json=money, api=True),
}
ROUTES.update(CIRCULATION_ROUTES)
ROUTES.update(ADMIN_ROUTES)

# --- workflows ---------------------------------------------------------------------------------------

EVIDENCE_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def wf_run(net: Network, side: str) -> int:
    """The side's accreditation run at the NPP step with its tasks done and both files attached."""
    from workflows.services import instances

    found = instances.open_instance(lib(net, side), "akreditasi")
    if found is not None:
        return found.id
    run = instances.start(actor=SYSTEM, library_id=lib(net, side), workflow="akreditasi", now=utcnow())
    state = instances.definition_of(run).states[run.state]
    for task in state.checklist:
        instances.set_task(actor=SYSTEM, instance_id=run.id, task=task.id, done=True)
    for slot in state.evidence:
        instances.add_evidence(actor=SYSTEM, instance_id=run.id, slot=slot.id, stream=io.BytesIO(EVIDENCE_PDF),
                               filename=f"{slot.id}.pdf")
    db.session.commit()
    return run.id


def wf_evidence(net: Network, side: str) -> int:
    from workflows.models import Evidence

    run_id = wf_run(net, side)
    return db.session.scalar(db.select(Evidence.id).where(Evidence.instance_id == run_id).limit(1))


def wf_assessment(net: Network, side: str) -> int:
    """A practice self-assessment (no workflow) of the side's library."""
    from workflows.models import Assessment
    from workflows.services import accreditation

    found = db.session.scalar(db.select(Assessment.id).where(Assessment.library_id == lib(net, side)))
    if found is not None:
        return found
    library = net.a if side == "own" else net.b
    made = accreditation.create_assessment(library=library, instrument_doc=accreditation.instrument_document_for(library),
                                           instance=None, actor=SYSTEM, now=utcnow())
    db.session.commit()
    return made.id


def wf_indicator(net: Network, side: str) -> str:
    from workflows.models import Assessment
    from workflows.services import accreditation

    assessment = db.session.get(Assessment, wf_assessment(net, side))
    return accreditation.instrument_of(assessment).indicators[0].code


def wf_goal(net: Network, side: str) -> int:
    """A manual goal of the side's library."""
    from workflows.models import Goal
    from workflows.services.goals import GoalInput, create_goal

    found = db.session.scalar(db.select(Goal.id).where(Goal.library_id == lib(net, side)))
    if found is not None:
        return found
    goal = create_goal(actor=SYSTEM, library_id=lib(net, side), data=GoalInput(
        title="Survei kepuasan", indicator="manual", baseline=60, baseline_on=date(2026, 1, 1), target=80,
        deadline=date(2026, 12, 31), owner="Kepala perpustakaan"))
    db.session.commit()
    return goal.id


def wf_activity(net: Network, side: str) -> int:
    from workflows.models import Activity
    from workflows.services.activities import ActivityInput, record_activity

    found = db.session.scalar(db.select(Activity.id).where(Activity.library_id == lib(net, side)))
    if found is not None:
        return found
    row = record_activity(actor=SYSTEM, library_id=lib(net, side), today=date(2026, 6, 1), data=ActivityInput(
        held_on=date(2026, 5, 2), kind="dongeng", title="Dongeng Sabtu", participants_male=4, participants_female=6))
    db.session.commit()
    return row.id


def activity_form(net: Network, side: str, role: str) -> FormData:
    return {"held_on": "2026-05-02", "kind": "literasi", "title": "Kelas literasi", "participants_male": "3",
            "participants_female": "5", "partner_1": "PT Badak LNG", "partner_1_kind": "csr",
            "partner_2_kind": "lainnya", "partner_3_kind": "lainnya", "outcomes": "Peserta membaca lancar"}


def activity_json(net: Network, side: str, role: str) -> dict[str, Any]:
    return {"library_id": net.a.id, "held_on": "2026-05-02", "kind": "literasi", "title": "Kelas literasi",
            "participants_male": 3, "participants_female": 5}


def goal_form(net: Network, side: str, role: str) -> FormData:
    return {"title": "Kunjungan naik", "theme": "literasi", "indicator": "circulation.visits", "period": "year",
            "baseline": "1000", "baseline_on": "2026-01-01", "target": "1500", "deadline": "2026-12-31",
            "owner": "Bidang Layanan", "at_risk_margin": "0.1"}


def goal_json(net: Network, side: str, role: str) -> dict[str, Any]:
    return {"library_id": None if role in ("admin", "dpk") else net.a.id, "title": "Kunjungan naik",
            "indicator": "circulation.visits", "period": "year", "baseline": 1000, "baseline_on": "2026-01-01",
            "target": 1500, "deadline": "2026-12-31", "owner": "Bidang Layanan"}


def snp_text(net: Network, side: str, role: str) -> FormData:
    from workflows.models import DocumentKind
    from workflows.services import documents

    return {"text": documents.current(DocumentKind.SNP, "snp").text + "\n# matrix\n", "note": "matrix"}


def wf_instrument_code(net: Network, side: str) -> str:
    from workflows.services import accreditation

    return accreditation.instruments()[0][1].code


def wf_document(net: Network, side: str) -> int:
    from workflows.models import DocumentKind
    from workflows.services import documents

    document = documents.stored(documents.current(DocumentKind.SNP, "snp"))
    db.session.commit()
    return document.id


WF = "/workflows"
WF_API = "/api/v1/workflows"
WORKFLOW_ROUTES: dict[tuple[str, str], Route] = {
    ("workflows.dashboard", "GET"): Route(lambda n, s: f"{WF}/?type=kecamatan", "workflows.view"),
    ("workflows.library_page", "GET"): Route(lambda n, s: f"{WF}/libraries/{lib(n, s)}", "workflows.view", True),
    ("workflows.library_facts", "POST"): Route(lambda n, s: f"{WF}/libraries/{lib(n, s)}/facts", "workflows.act",
                                               True, data=lambda n, s, r: {"fact_floor_area_m2": "60"}),
    ("workflows.library_start", "POST"): Route(lambda n, s: f"{WF}/libraries/{lib(n, s)}/start/tpbis",
                                               "workflows.act", True, data=nothing),
    ("workflows.instance_page", "GET"): Route(lambda n, s: f"{WF}/runs/{wf_run(n, s)}", "workflows.view", True),
    ("workflows.instance_act", "POST"): Route(lambda n, s: f"{WF}/runs/{wf_run(n, s)}/act", "workflows.act", True,
                                              data=lambda n, s, r: {"transition": "npp_diperoleh",
                                                                    "field_npp_number": "6474001"}),
    ("workflows.instance_task", "POST"): Route(lambda n, s: f"{WF}/runs/{wf_run(n, s)}/task", "workflows.act", True,
                                               data=lambda n, s, r: {"task": "akun_pendataan", "done": "0"}),
    ("workflows.instance_comment", "POST"): Route(lambda n, s: f"{WF}/runs/{wf_run(n, s)}/comment", "workflows.act",
                                                  True, data=lambda n, s, r: {"comment": "Mohon dicek"}),
    ("workflows.instance_evidence", "POST"): Route(
        lambda n, s: f"{WF}/runs/{wf_run(n, s)}/evidence", "workflows.act", True,
        data=lambda n, s, r: {"slot": "bukti_npp", "file": (io.BytesIO(EVIDENCE_PDF), "npp.pdf")}),
    ("workflows.instance_close", "POST"): Route(lambda n, s: f"{WF}/runs/{wf_run(n, s)}/close", "workflows.manage",
                                                True, data=lambda n, s, r: {"comment": "Dibuka karena kekeliruan"}),
    ("workflows.evidence_download", "GET"): Route(lambda n, s: f"{WF}/evidence/{wf_evidence(n, s)}",
                                                  "workflows.view", True),
    ("workflows.evidence_remove", "POST"): Route(lambda n, s: f"{WF}/evidence/{wf_evidence(n, s)}/remove",
                                                 "workflows.act", True, data=nothing),
    ("workflows.assessment_page", "GET"): Route(lambda n, s: f"{WF}/assessments/{wf_assessment(n, s)}",
                                                "workflows.view", True),
    ("workflows.assessment_save", "POST"): Route(lambda n, s: f"{WF}/assessments/{wf_assessment(n, s)}",
                                                 "workflows.act", True,
                                                 data=lambda n, s, r: {f"ans_{wf_indicator(n, s)}": "b"}),
    ("workflows.assessment_refresh", "POST"): Route(lambda n, s: f"{WF}/assessments/{wf_assessment(n, s)}/refresh",
                                                    "workflows.act", True, data=nothing),
    ("workflows.assessment_evidence", "POST"): Route(
        lambda n, s: f"{WF}/assessments/{wf_assessment(n, s)}/evidence", "workflows.act", True,
        data=lambda n, s, r: {"indicator": wf_indicator(n, s), "file": (io.BytesIO(EVIDENCE_PDF), "bukti.pdf")}),
    ("workflows.goal_list", "GET"): Route(lambda n, s: f"{WF}/goals", "workflows.view"),
    ("workflows.goal_new", "GET"): Route(lambda n, s: f"{WF}/goals/new", "workflows.goals"),
    ("workflows.goal_new", "POST"): Route(lambda n, s: f"{WF}/goals/new", "workflows.goals", data=goal_form),
    ("workflows.goal_detail", "GET"): Route(lambda n, s: f"{WF}/goals/{wf_goal(n, s)}", "workflows.view", True),
    ("workflows.goal_edit", "GET"): Route(lambda n, s: f"{WF}/goals/{wf_goal(n, s)}/edit", "workflows.goals", True),
    ("workflows.goal_edit", "POST"): Route(lambda n, s: f"{WF}/goals/{wf_goal(n, s)}/edit", "workflows.goals", True,
                                           data=lambda n, s, r: {**goal_form(n, s, r), "indicator": "manual"}),
    ("workflows.goal_value", "POST"): Route(lambda n, s: f"{WF}/goals/{wf_goal(n, s)}/value", "workflows.goals",
                                            True, data=lambda n, s, r: {"taken_on": "2026-06-01", "value": "70"}),
    ("workflows.goal_archive", "POST"): Route(lambda n, s: f"{WF}/goals/{wf_goal(n, s)}/archive", "workflows.goals",
                                              True, data=nothing),
    ("workflows.activity_list", "GET"): Route(lambda n, s: f"{WF}/activities?tpbis=0", "workflows.activities"),
    ("workflows.activity_new", "GET"): Route(lambda n, s: f"{WF}/activities/new?library={n.a.id}",
                                             "workflows.activities"),
    ("workflows.activity_new", "POST"): Route(lambda n, s: f"{WF}/activities/new?library={n.a.id}",
                                              "workflows.activities", data=activity_form),
    ("workflows.activity_edit", "GET"): Route(lambda n, s: f"{WF}/activities/{wf_activity(n, s)}/edit",
                                              "workflows.activities", True),
    ("workflows.activity_edit", "POST"): Route(lambda n, s: f"{WF}/activities/{wf_activity(n, s)}/edit",
                                               "workflows.activities", True, data=activity_form),
    ("workflows.activity_delete", "POST"): Route(lambda n, s: f"{WF}/activities/{wf_activity(n, s)}/delete",
                                                 "workflows.activities", True, data=nothing),
    ("workflows.iplm", "GET"): Route(lambda n, s: f"{WF}/iplm?year=2026", "workflows.view"),
    ("workflows.iplm_population", "POST"): Route(lambda n, s: f"{WF}/iplm/population", "workflows.manage",
                                                 data=lambda n, s, r: {"year": "2026", "residents": "187000"}),
    ("workflows.reports", "GET"): Route(lambda n, s: f"{WF}/reports?year=2026", "workflows.view"),
    ("workflows.census_export", "GET"): Route(lambda n, s: f"{WF}/reports/census-2026.xlsx", "workflows.view"),
    ("workflows.city_report", "GET"): Route(lambda n, s: f"{WF}/reports/city-2026.pdf", "workflows.view"),
    ("workflows.document_list", "GET"): Route(lambda n, s: f"{WF}/documents", "workflows.manage"),
    ("workflows.document_edit", "GET"): Route(lambda n, s: f"{WF}/documents/snp/snp", "workflows.manage"),
    ("workflows.document_edit", "POST"): Route(lambda n, s: f"{WF}/documents/snp/snp", "workflows.manage",
                                               data=snp_text),
    ("workflows.instrument_numbers", "POST"): Route(
        lambda n, s: f"{WF}/documents/instrument/{wf_instrument_code(n, s)}/numbers", "workflows.manage",
        data=lambda n, s, r: {"grade_A": "90", "note": "matrix"}),
    ("workflows.document_download", "GET"): Route(lambda n, s: f"{WF}/document-versions/{wf_document(n, s)}.yaml",
                                                  "workflows.manage"),
    ("workflows.api_definitions", "GET"): Route(lambda n, s: f"{WF_API}/definitions", "workflows.view", api=True),
    ("workflows.api_definition", "GET"): Route(lambda n, s: f"{WF_API}/definitions/akreditasi", "workflows.view",
                                               api=True),
    ("workflows.api_instruments", "GET"): Route(lambda n, s: f"{WF_API}/instruments", "workflows.view", api=True),
    ("workflows.api_instrument", "GET"): Route(lambda n, s: f"{WF_API}/instruments/{wf_instrument_code(n, s)}",
                                               "workflows.view", api=True),
    ("workflows.api_instances", "GET"): Route(lambda n, s: f"{WF_API}/instances?workflow=akreditasi",
                                              "workflows.view", api=True),
    ("workflows.api_instance_start", "POST"): Route(lambda n, s: f"{WF_API}/instances", "workflows.act", True,
                                                    json=lambda n, s, r: {"library_id": lib(n, s), "workflow": "tpbis"},
                                                    api=True),
    ("workflows.api_instance", "GET"): Route(lambda n, s: f"{WF_API}/instances/{wf_run(n, s)}", "workflows.view",
                                             True, api=True),
    ("workflows.api_instance_act", "POST"): Route(
        lambda n, s: f"{WF_API}/instances/{wf_run(n, s)}/actions", "workflows.act", True, api=True,
        json=lambda n, s, r: {"transition": "npp_diperoleh", "values": {"npp_number": "6474001"}}),
    ("workflows.api_instance_task", "POST"): Route(lambda n, s: f"{WF_API}/instances/{wf_run(n, s)}/tasks",
                                                   "workflows.act", True, api=True,
                                                   json=lambda n, s, r: {"task": "data_lembaga", "done": False}),
    ("workflows.api_instance_comment", "POST"): Route(lambda n, s: f"{WF_API}/instances/{wf_run(n, s)}/comments",
                                                      "workflows.act", True, api=True,
                                                      json=lambda n, s, r: {"comment": "Mohon dicek"}),
    ("workflows.api_instance_close", "POST"): Route(lambda n, s: f"{WF_API}/instances/{wf_run(n, s)}/close",
                                                    "workflows.manage", True, api=True,
                                                    json=lambda n, s, r: {"reason": "Dibuka karena kekeliruan"}),
    ("workflows.api_assessment", "GET"): Route(lambda n, s: f"{WF_API}/assessments/{wf_assessment(n, s)}",
                                               "workflows.view", True, api=True),
    ("workflows.api_assessment_answer", "POST"): Route(
        lambda n, s: f"{WF_API}/assessments/{wf_assessment(n, s)}/answers", "workflows.act", True, api=True,
        json=lambda n, s, r: {"answers": {wf_indicator(n, s): "c"}}),
    ("workflows.api_library", "GET"): Route(lambda n, s: f"{WF_API}/libraries/{lib(n, s)}", "workflows.view", True,
                                            api=True),
    ("workflows.api_library_facts", "PUT"): Route(lambda n, s: f"{WF_API}/libraries/{lib(n, s)}/facts",
                                                  "workflows.act", True, api=True,
                                                  json=lambda n, s, r: {"staff_total": 3}),
    ("workflows.api_goals", "GET"): Route(lambda n, s: f"{WF_API}/goals", "workflows.view", api=True),
    ("workflows.api_goal_create", "POST"): Route(lambda n, s: f"{WF_API}/goals", "workflows.goals", json=goal_json,
                                                 api=True),
    ("workflows.api_goal", "GET"): Route(lambda n, s: f"{WF_API}/goals/{wf_goal(n, s)}", "workflows.view", True,
                                         api=True),
    ("workflows.api_goal_update", "PUT"): Route(lambda n, s: f"{WF_API}/goals/{wf_goal(n, s)}", "workflows.goals",
                                                True, api=True,
                                                json=lambda n, s, r: {**goal_json(n, s, r), "indicator": "manual"}),
    ("workflows.api_goal_value", "POST"): Route(lambda n, s: f"{WF_API}/goals/{wf_goal(n, s)}/values",
                                                "workflows.goals", True, api=True,
                                                json=lambda n, s, r: {"taken_on": "2026-06-01", "value": 70}),
    ("workflows.api_activities", "GET"): Route(lambda n, s: f"{WF_API}/activities?from=2026-01-01",
                                               "workflows.activities", api=True),
    ("workflows.api_activity_create", "POST"): Route(lambda n, s: f"{WF_API}/activities", "workflows.activities",
                                                     json=activity_json, api=True),
    ("workflows.api_activity_update", "PUT"): Route(lambda n, s: f"{WF_API}/activities/{wf_activity(n, s)}",
                                                    "workflows.activities", True, json=activity_json, api=True),
    ("workflows.api_activity_delete", "DELETE"): Route(lambda n, s: f"{WF_API}/activities/{wf_activity(n, s)}",
                                                       "workflows.activities", True, api=True),
    ("workflows.api_iplm", "GET"): Route(lambda n, s: f"{WF_API}/iplm/2026", "workflows.view", api=True),
    ("workflows.api_population", "PUT"): Route(lambda n, s: f"{WF_API}/population/2026", "workflows.manage",
                                               json=lambda n, s, r: {"residents": 187000, "source": "BPS"}, api=True),
}
ROUTES.update(WORKFLOW_ROUTES)
IGNORED = {"static", "bootstrap.static"}
ROLES = [r.value for r in Role] + ["anonymous"]


def expected(route: Route, role: str, side: str) -> str:
    """What a role should get: derived from the permission table, not written per case."""
    if route.permission is None:
        return OK
    if role == "anonymous":
        return LOGIN
    if route.permission == "login":
        return OK
    the_role = Role(role)
    if the_role not in PERMISSIONS[route.permission]:
        return DENIED
    if route.scoped and side == "other" and not the_role.network_wide:
        return DENIED
    return OK


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    """No (endpoint, method) pair escapes the matrix."""
    pairs = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint not in IGNORED
             for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert pairs == set(ROUTES), f"add to ROUTES: {pairs - set(ROUTES)}; stale: {set(ROUTES) - pairs}"


@pytest.mark.parametrize("key", sorted(ROUTES), ids="-".join)
@pytest.mark.parametrize("role", ROLES)
def test_route_role_scope(app: Flask, key: tuple[str, str], role: str) -> None:
    """Each role gets exactly what the permission table and library scope allow, own and other."""
    method, route = key[1], ROUTES[key]
    for side in ("own", "other"):
        with app.app_context():
            from tests.conftest import _empty_tables

            _empty_tables(app)
            net = build_network()
            url = route.url(net, side)
            data = route.data(net, side, role) if route.data else None
            body = {"json": route.json(net, side, role)} if route.json else {"data": data}
            username = None if role == "anonymous" else net.users[role].username
        client = app.test_client()
        if username:
            login(client, username)
        response = client.open(url, method=method, **body)
        response.get_data()  # streamed downloads run (and close their transaction) only when read
        response.close()  # a file sent from disk is closed as a WSGI server would
        want = expected(route, role, side)
        got = response.status_code
        where = f"{method} {url} as {role} ({side})"
        if want == OK and route.api:
            assert 200 <= got < 300, f"{where}: expected success, got {got}"
        elif want == OK and (method == "GET" or route.permission is None):
            assert got < 400, f"{where}: expected success, got {got}"
        elif want == OK:
            location = response.headers.get("Location", "")
            assert got in (302, 303), f"{where}: expected a redirect after success, got {got} (form re-rendered?)"
            assert "/login" not in location or key == ("ils.logout", "POST"), f"{where}: sent to {location}"
        elif want == DENIED:
            assert got == 403, f"{where}: expected 403, got {got}"
        elif route.api:
            assert got == 401, f"{where}: expected 401, got {got}"
        else:
            assert got == 302 and "/login" in response.headers["Location"], f"{where}: expected login, got {got}"
