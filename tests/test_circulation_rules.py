"""The rules matrix and patron categories: resolution, validation, scoping, audit, and every screen."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from circulation.models import CirculationRule, Patron, PatronCategory
from circulation.services import categories, rules
from circulation.services.categories import CategoryInput
from circulation.services.rules import RuleInput
from ils.authz import Actor
from ils.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent, Library
from ils.services.staff import actor_for
from tests.factories import SYSTEM, Network, login, make_library

@pytest.fixture(autouse=True)
def _english(ctx: Flask) -> Iterator[None]:
    """Service messages in English (outside a request the default locale, Indonesian, would apply)."""
    with force_locale("en"):
        yield


NOW = datetime(2026, 2, 2, 3, 0, tzinfo=timezone.utc)
BASE = RuleInput()


def _actor(network: Network, role: str) -> Actor:
    return actor_for(network.users[role])


def _seeded(item_type: str) -> CirculationRule:
    """A city-wide row the migration seeds (every test starts from them, as a fresh install does)."""
    return db.session.scalar(select(CirculationRule).where(CirculationRule.library_id.is_(None),
                                                           CirculationRule.category_code == "*",
                                                           CirculationRule.item_type == item_type))


def _count() -> int:
    return len(db.session.scalars(select(CirculationRule.id)).all())


def _rule(library: Library | None, category: str = "*", item_type: str = "*", **terms: object) -> CirculationRule:
    return rules.create_rule(actor=SYSTEM, library_id=library.id if library else None,
                             data=replace(BASE, category_code=category, item_type=item_type, **terms), now=NOW)


def _login(client: FlaskClient, username: str) -> None:
    """Log ``username`` in (whoever was logged in before is logged out) with English pages.

    English, so the assertions on messages keep holding once the lead translates them.
    """
    client.post("/logout")
    login(client, username)
    assert client.post("/language", data={"lang": "en"}).status_code == 302


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def matrix(network: Network) -> dict[str, CirculationRule]:
    """City-wide rows naming nothing, one part or two; rows of A and of B; a library C without rows."""
    c = make_library("LIB-C")
    rows = {
        "city": _seeded("*"),
        "city_serial": _seeded("serial"),
        "city_umum": _rule(None, "umum", loan_days=14),
        "city_umum_buku": _rule(None, "umum", "buku", loan_days=21),
        "a": _rule(network.a, loan_days=10),
        "a_smp_buku": _rule(network.a, "pelajar_smp", "buku", loan_days=5),
        "b_umum_serial": _rule(network.b, "umum", "serial", loan_days=2),
    }
    db.session.commit()
    rows["c_id"] = c.id  # type: ignore[assignment]
    return rows


# (library, category, item type) -> the row that must win.
RESOLUTION_CASES = [
    # The library's own row naming nothing beats a city-wide row naming category and item type.
    ("a", "umum", "buku", "a"),
    ("a", "pelajar_smp", "buku", "a_smp_buku"),
    # A's own catch-all row beats the city-wide serial row: library comes first.
    ("a", "pelajar_smp", "serial", "a"),
    ("b", "umum", "serial", "b_umum_serial"),
    ("b", "umum", "buku", "city_umum_buku"),
    ("b", "pelajar_smp", "serial", "city_serial"),
    # Tie on the number of named parts (one each): the category outranks the item type.
    ("c", "umum", "serial", "city_umum"),
    ("c", "pelajar_smp", "peta", "city"),
]


@pytest.mark.parametrize("library, category, item_type, winner", RESOLUTION_CASES)
def test_the_most_specific_row_wins(network: Network, matrix: dict, library: str, category: str, item_type: str,
                                    winner: str) -> None:
    """Library > patron category > item type, whatever the other rows say; B's rows never apply at A."""
    library_id = {"a": network.a.id, "b": network.b.id, "c": matrix["c_id"]}[library]
    result = rules.preview(actor=_actor(network, "dpk"), library_id=library_id, category_code=category,
                           item_type=item_type)
    assert result.resolution is not None
    assert result.resolution.rule.id == matrix[winner].id
    assert all(row.library_id in (None, library_id) for row, _why in result.shadowed)


def test_preview_lists_the_shadowed_rows_and_why(network: Network, matrix: dict) -> None:
    """Every other matching row is listed, most specific first, with the part it lost on."""
    result = rules.preview(actor=_actor(network, "librarian"), library_id=network.a.id, category_code="umum",
                           item_type="buku")
    assert result.resolution.rule.id == matrix["a"].id
    assert "library: this library's own row" in result.resolution.why
    assert [row.id for row, _ in result.shadowed] == [matrix[k].id for k in ("city_umum_buku", "city_umum", "city")]
    assert {why for _, why in result.shadowed} == {"the winning row names the library"}
    on_c = rules.preview(actor=_actor(network, "dpk"), library_id=matrix["c_id"], category_code="umum",
                         item_type="serial")
    assert [(row.id, why) for row, why in on_c.shadowed] == [
        (matrix["city_serial"].id, "the winning row names the patron category"),
        (matrix["city"].id, "the winning row names the patron category")]


def test_preview_without_any_row_says_so(network: Network) -> None:
    """An empty matrix resolves to nothing (the desk will refuse), not to an error."""
    for rule in db.session.scalars(select(CirculationRule)).all():
        rules.delete_rule(actor=SYSTEM, rule_id=rule.id, now=NOW)
    result = rules.preview(actor=_actor(network, "admin"), library_id=network.a.id, category_code="umum",
                           item_type="buku")
    assert result.resolution is None and result.shadowed == []


@pytest.mark.parametrize("category, item_type, field", [("nobody", "buku", "category_code"),
                                                        ("umum", "dvd", "item_type"),
                                                        ("*", "buku", "category_code")])
def test_preview_needs_a_real_category_and_item_type(network: Network, category: str, item_type: str,
                                                     field: str) -> None:
    """The preview answers for one real patron, so the wildcard is not a category there."""
    with pytest.raises(ValidationFailed) as info:
        rules.preview(actor=_actor(network, "dpk"), library_id=network.a.id, category_code=category,
                      item_type=item_type)
    assert info.value.field == field


@pytest.mark.parametrize("changes, field", [
    ({"loan_days": None, "loan_hours": None}, "loan_days"),
    ({"loan_days": 7, "loan_hours": 3}, "loan_days"),
    ({"loan_days": -1}, "loan_days"),
    ({"loan_days": None, "loan_hours": 0}, "loan_hours"),
    ({"fine_per_day": -1}, "fine_per_day"),
    ({"fine_cap": -500}, "fine_cap"),
    ({"grace_days": -1}, "grace_days"),
    ({"renewals": -1}, "renewals"),
    ({"renewals": 11}, "renewals"),
    ({"hold_shelf_days": 0}, "hold_shelf_days"),
    ({"hold_shelf_days": 31}, "hold_shelf_days"),
    ({"max_loans_library": 11, "max_loans_city": 10}, "max_loans_library"),
    ({"category_code": "nobody"}, "category_code"),
    ({"item_type": "dvd"}, "item_type"),
    ({"note": "x" * 301}, "note"),
])
def test_invalid_rows_are_refused_naming_the_field(network: Network, changes: dict, field: str) -> None:
    """Each rule of the form is enforced by the service; nothing is stored."""
    before = _count()
    with pytest.raises(ValidationFailed) as info:
        rules.create_rule(actor=_actor(network, "dpk"), library_id=network.a.id, data=replace(BASE, **changes),
                          now=NOW)
    db.session.rollback()
    assert info.value.field == field
    assert _count() == before


def test_the_edges_of_every_range_are_accepted(network: Network) -> None:
    """0 and 10 renewals, 1 and 30 hold-shelf days, free loans, hourly and same-day loans are all valid."""
    dpk = _actor(network, "dpk")
    for item_type, changes in (("buku", {"renewals": 0, "hold_shelf_days": 1, "fine_per_day": 0}),
                               ("serial", {"renewals": 10, "hold_shelf_days": 30, "loan_days": 0}),
                               ("referensi", {"loan_days": None, "loan_hours": 3, "note": "  baca di tempat  "})):
        rules.create_rule(actor=dpk, library_id=network.a.id, data=replace(BASE, item_type=item_type, **changes),
                          now=NOW)
    db.session.commit()
    stored = {r.item_type: r for r in db.session.scalars(select(CirculationRule)
                                                         .where(CirculationRule.library_id == network.a.id))}
    assert stored["referensi"].loan_hours == 3 and stored["referensi"].loan_days is None
    assert stored["referensi"].note == "baca di tempat"
    assert stored["serial"].renewals == 10 and stored["buku"].renewals == 0


def test_a_duplicate_key_is_refused_with_a_clear_message(network: Network) -> None:
    """Same library, category and item type twice: a Conflict naming the existing row, not a 500."""
    first = _rule(network.a, "umum", "buku")
    with pytest.raises(Conflict) as info:
        _rule(network.a, "umum", "buku", loan_days=30)
    assert f"#{first.id}" in info.value.message and "Perpustakaan LIB-A" in info.value.message
    db.session.rollback()
    # The same key at another library, or city-wide, is a different row.
    _rule(network.b, "umum", "buku")
    city = _rule(None, "umum", "buku")
    db.session.commit()
    with pytest.raises(Conflict) as twice:
        _rule(None, "*", "serial")  # the seeded city-wide serial row
    assert "city-wide" in twice.value.message and f"#{_seeded('serial').id}" in twice.value.message
    db.session.rollback()
    # Editing a row into another row's key is refused too.
    other = _rule(None, "umum", "serial")
    with pytest.raises(Conflict):
        rules.update_rule(actor=SYSTEM, rule_id=other.id, data=replace(BASE, category_code="umum", item_type="buku"),
                          now=NOW)
    db.session.rollback()
    assert db.session.get(CirculationRule, city.id) is not None


def test_a_librarian_writes_only_own_library_rows(network: Network) -> None:
    """A's head librarian may add and edit A's rows, never B's or the city-wide ones."""
    city, row_b = _seeded("*"), _rule(network.b)
    db.session.commit()
    librarian = _actor(network, "librarian")
    own = rules.create_rule(actor=librarian, library_id=network.a.id, data=replace(BASE, item_type="buku"), now=NOW)
    rules.update_rule(actor=librarian, rule_id=own.id, data=replace(BASE, item_type="buku", loan_days=14), now=NOW)
    for attempt in (
        lambda: rules.create_rule(actor=librarian, library_id=network.b.id, data=BASE, now=NOW),
        lambda: rules.create_rule(actor=librarian, library_id=None, data=replace(BASE, item_type="peta"), now=NOW),
        lambda: rules.update_rule(actor=librarian, rule_id=row_b.id, data=BASE, now=NOW),
        lambda: rules.update_rule(actor=librarian, rule_id=city.id, data=BASE, now=NOW),
        lambda: rules.delete_rule(actor=librarian, rule_id=row_b.id, now=NOW),
        lambda: rules.delete_rule(actor=librarian, rule_id=city.id, now=NOW),
        lambda: rules.preview(actor=librarian, library_id=network.b.id, category_code="umum", item_type="buku"),
    ):
        with pytest.raises(Forbidden):
            attempt()
    desk = _actor(network, "circulation")
    with pytest.raises(Forbidden):
        rules.create_rule(actor=desk, library_id=network.a.id, data=replace(BASE, item_type="peta"), now=NOW)
    with pytest.raises(Forbidden):
        rules.rule_matrix(actor=desk)
    with pytest.raises(NotFound):
        rules.update_rule(actor=librarian, rule_id=99999, data=BASE, now=NOW)


def test_only_admin_and_dpk_write_city_wide_rows(network: Network) -> None:
    """City-wide rows belong to the network level."""
    for role, item_type in (("admin", "buku"), ("dpk", "peta")):
        rule = rules.create_rule(actor=_actor(network, role), library_id=None, data=replace(BASE, item_type=item_type),
                                 now=NOW)
        assert rule.library_id is None and rule.library_key == 0
    with pytest.raises(NotFound):
        rules.create_rule(actor=_actor(network, "dpk"), library_id=99999, data=BASE, now=NOW)


def test_the_matrix_a_librarian_sees(network: Network) -> None:
    """City-wide rows read-only plus the own library's rows; B's rows are not listed."""
    _rule(None, "umum"), _rule(network.a, item_type="buku"), _rule(network.b, note="rahasia B")
    librarian = _actor(network, "librarian")
    groups = rules.rule_matrix(actor=librarian)
    assert [(g.library.id if g.library else None, g.editable, len(g.rules)) for g in groups] == [
        (None, False, 4), (network.a.id, True, 1)]
    # Most specific first inside a group: the category row, then the item type rows, then the catch-all.
    assert [(r.category_code, r.item_type) for r in groups[0].rules] == [
        ("umum", "*"), ("*", "referensi"), ("*", "serial"), ("*", "*")]
    with pytest.raises(Forbidden):
        rules.rule_matrix(actor=librarian, library_id=network.b.id)
    dpk_groups = rules.rule_matrix(actor=_actor(network, "dpk"))
    assert [g.library.code if g.library else None for g in dpk_groups] == [None, "LIB-A", "LIB-B"]
    assert all(g.editable for g in dpk_groups)
    only_b = rules.rule_matrix(actor=_actor(network, "dpk"), library_id=network.b.id)
    assert [g.library.code if g.library else None for g in only_b] == [None, "LIB-B"]


def test_a_library_without_rows_still_gets_its_group(network: Network) -> None:
    """A librarian whose library has no rows yet sees an empty, editable group to add the first one."""
    groups = rules.rule_matrix(actor=_actor(network, "librarian"))
    assert [(g.library.id if g.library else None, g.editable, len(g.rules)) for g in groups] == [
        (None, False, 3), (network.a.id, True, 0)]


def test_every_change_is_audited_with_a_diff(network: Network) -> None:
    """Create, update (only the changed fields) and delete each leave one audit row naming the actor."""
    librarian = _actor(network, "librarian")
    rule = rules.create_rule(actor=librarian, library_id=network.a.id, data=replace(BASE, category_code="umum"),
                             now=NOW)
    rules.update_rule(actor=librarian, rule_id=rule.id, data=replace(BASE, category_code="umum", loan_days=14,
                                                                     note="Libur sekolah"), now=NOW)
    rules.update_rule(actor=librarian, rule_id=rule.id, data=replace(BASE, category_code="umum", loan_days=14,
                                                                     note="Libur sekolah"), now=NOW)
    rules.delete_rule(actor=librarian, rule_id=rule.id, now=NOW)
    db.session.commit()
    created, = _audit("rule.create")
    assert created.actor_label == "u.librarian" and created.library_id == network.a.id and created.at == NOW
    assert created.object_id == str(rule.id) and created.details["changes"]["category_code"] == [None, "umum"]
    updated, = _audit("rule.update")  # the second, identical save changed nothing and is not audited
    assert updated.details == {"changes": {"loan_days": [7, 14], "note": ["", "Libur sekolah"]}}
    deleted, = _audit("rule.delete")
    assert deleted.details["changes"]["loan_days"] == [14, None]
    assert db.session.get(CirculationRule, rule.id) is None


# --- patron categories ------------------------------------------------------------------------------------------

def test_categories_are_kept_by_admin_and_dpk(network: Network) -> None:
    """Create, edit and list; a librarian may list but not change; each change is audited."""
    dpk = _actor(network, "dpk")
    category = categories.create_category(actor=dpk, code=" Lansia ", data=CategoryInput(
        name_id="Lanjut usia", name_en="Senior citizen", card_months=36, sort=90), now=NOW)
    assert category.code == "lansia" and category.active
    categories.update_category(actor=dpk, code="lansia", data=CategoryInput(
        name_id="Lanjut usia", name_en="Senior citizen", card_months=60, sort=90, active=False), now=NOW)
    db.session.commit()
    assert _audit("category.create")[0].details["changes"]["name_id"] == [None, "Lanjut usia"]
    assert _audit("category.update")[0].details == {"changes": {"active": [True, False], "card_months": [36, 60]}}
    librarian = _actor(network, "librarian")
    listed = [use.category.code for use in categories.list_categories(actor=librarian)]
    assert listed[-1] == "lansia" and "umum" in listed  # the seeded ones first (sort 10..80), then 90
    for attempt in (
        lambda: categories.create_category(actor=librarian, code="x", data=CategoryInput("X", "X"), now=NOW),
        lambda: categories.update_category(actor=librarian, code="lansia", data=CategoryInput("X", "X"), now=NOW),
        lambda: categories.delete_category(actor=librarian, code="lansia", now=NOW),
        lambda: categories.get_category(actor=librarian, code="lansia"),
    ):
        with pytest.raises(Forbidden):
            attempt()
    with pytest.raises(Forbidden):
        categories.list_categories(actor=_actor(network, "circulation"))


@pytest.mark.parametrize("code, data, error, field", [
    ("semua kategori", CategoryInput("A", "A"), ValidationFailed, "code"),
    ("*", CategoryInput("A", "A"), ValidationFailed, "code"),
    ("umum", CategoryInput("A", "A"), Conflict, "code"),
    ("baru", CategoryInput(" ", "A"), ValidationFailed, "name_id"),
    ("baru", CategoryInput("A", ""), ValidationFailed, "name_en"),
    ("baru", CategoryInput("A", "A", card_months=0), ValidationFailed, "card_months"),
    ("baru", CategoryInput("A", "A", minor_below_age=40), ValidationFailed, "minor_below_age"),
])
def test_invalid_categories_are_refused(network: Network, code: str, data: CategoryInput, error: type,
                                        field: str) -> None:
    """Codes are short slugs and unique; names and numbers are checked."""
    with pytest.raises(error) as info:
        categories.create_category(actor=_actor(network, "admin"), code=code, data=data, now=NOW)
    assert info.value.field == field


def test_a_category_in_use_can_only_be_deactivated(network: Network) -> None:
    """Members or rule rows using it block the delete; an unused one goes, with an audit row."""
    admin = _actor(network, "admin")
    _rule(None, "pelajar_smp")
    db.session.add(Patron(card_number="T0001", name="Siti", category_code="umum", home_library_id=network.a.id))
    db.session.flush()
    uses = {use.category.code: use for use in categories.list_categories(actor=admin)}
    assert (uses["umum"].patrons, uses["umum"].rules, uses["pelajar_smp"].rules) == (1, 0, 1)
    for code in ("umum", "pelajar_smp"):
        with pytest.raises(Conflict) as info:
            categories.delete_category(actor=admin, code=code, now=NOW)
        assert "Deactivate it instead" in info.value.message
    categories.update_category(actor=admin, code="umum", data=CategoryInput("Umum", "Umum", active=False), now=NOW)
    categories.create_category(actor=admin, code="tamu", data=CategoryInput("Tamu", "Guest"), now=NOW)
    categories.delete_category(actor=admin, code="tamu", now=NOW)
    db.session.commit()
    assert db.session.get(PatronCategory, "tamu") is None
    assert db.session.get(PatronCategory, "umum").active is False
    assert _audit("category.delete")[0].object_id == "tamu"
    with pytest.raises(NotFound):
        categories.delete_category(actor=admin, code="tamu", now=NOW)


# --- screens: one client test per route -------------------------------------------------------------------

RULE_FORM = {"category_code": "*", "item_type": "peta", "loanable": "y", "loan_days": "14", "max_loans_library": "2",
             "max_loans_city": "5", "renewals": "1", "renewal_days": "7", "fine_per_day": "1000", "fine_cap": "0",
             "grace_days": "0", "holds_allowed": "y", "hold_shelf_days": "3", "other_libraries": "y",
             "note": "Peta dipinjam dua minggu"}


def test_rules_page_groups_by_library_and_explains_the_order(client: FlaskClient, network: Network) -> None:
    """GET /circulation/rules: city-wide rows read-only, own rows editable, "semua/any", the order explained."""
    _rule(network.a, "umum", note="Khusus A"), _rule(network.b, note="Khusus B")
    db.session.commit()
    _login(client, "u.librarian")
    page = client.get("/circulation/rules").get_data(as_text=True)
    assert "Aturan dasar kota" in page and "Khusus A" in page and "Khusus B" not in page
    assert "semua/any" in page and "Perpustakaan LIB-A" in page
    assert page.count("/edit") == 1  # only A's row, not the city-wide one
    assert "<strong>" in page and page.index("Perpustakaan") > 0
    _login(client, "u.circulation")
    assert client.get("/circulation/rules").status_code == 403


def test_new_rule_screen(client: FlaskClient, network: Network) -> None:
    """GET and POST /circulation/rules/new: DPK picks city-wide; a librarian's row goes to their library."""
    _login(client, "u.dpk")
    assert "City-wide: every library" in client.get("/circulation/rules/new").get_data(as_text=True)
    response = client.post("/circulation/rules/new", data={**RULE_FORM, "library_id": "0"})
    assert response.status_code == 302
    _login(client, "u.librarian")
    page = client.get("/circulation/rules/new").get_data(as_text=True)
    assert 'name="library_id"' not in page
    assert client.post("/circulation/rules/new", data={**RULE_FORM, "library_id": str(network.b.id)}).status_code == 302
    stored = sorted((r.library_id or 0) for r in db.session.scalars(
        select(CirculationRule).where(CirculationRule.item_type == "peta")))
    assert stored == [0, network.a.id]
    # The duplicate shows its message on the form instead of failing.
    again = client.post("/circulation/rules/new", data=RULE_FORM)
    assert again.status_code == 200 and "already a rule" in again.get_data(as_text=True)
    bad = client.post("/circulation/rules/new", data={**RULE_FORM, "item_type": "buku", "loan_hours": "3"})
    assert "either in days or in hours" in bad.get_data(as_text=True)


def test_edit_rule_screen(client: FlaskClient, network: Network) -> None:
    """GET and POST /circulation/rules/<id>/edit: own row saved; B's and city-wide rows are 403."""
    own, other, city = _rule(network.a, item_type="peta"), _rule(network.b), _seeded("*")
    db.session.commit()
    _login(client, "u.librarian")
    assert client.get(f"/circulation/rules/{own.id}/edit").status_code == 200
    assert client.post(f"/circulation/rules/{own.id}/edit", data=RULE_FORM).status_code == 302
    db.session.expire_all()
    assert db.session.get(CirculationRule, own.id).loan_days == 14
    for rule_id in (other.id, city.id):
        assert client.get(f"/circulation/rules/{rule_id}/edit").status_code == 403
        assert client.post(f"/circulation/rules/{rule_id}/edit", data=RULE_FORM).status_code == 403
    assert client.get("/circulation/rules/99999/edit").status_code == 404


def test_delete_rule_screen(client: FlaskClient, network: Network) -> None:
    """POST /circulation/rules/<id>/delete."""
    own, other = _rule(network.a), _rule(network.b)
    db.session.commit()
    _login(client, "u.librarian")
    assert client.post(f"/circulation/rules/{other.id}/delete").status_code == 403
    assert client.post(f"/circulation/rules/{own.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(CirculationRule, own.id) is None and db.session.get(CirculationRule, other.id) is not None


def test_preview_screen(client: FlaskClient, network: Network, matrix: dict) -> None:
    """GET /circulation/rules/preview: the form alone, then the winning row with the rows it shadows."""
    _login(client, "u.librarian")
    assert "Which rule applies?" in client.get("/circulation/rules/preview").get_data(as_text=True)
    page = client.get(f"/circulation/rules/preview?library_id={network.a.id}&category_code=pelajar_smp"
                      f"&item_type=buku").get_data(as_text=True)
    assert f"Rule #{matrix['a_smp_buku'].id} applies" in page and "the winning row names the patron category" in page
    assert client.get(f"/circulation/rules/preview?library_id={network.b.id}&category_code=umum"
                      f"&item_type=buku").status_code == 403


def test_categories_screens(client: FlaskClient, network: Network) -> None:
    """GET /circulation/categories, GET+POST new and edit, POST delete; librarians only look."""
    _login(client, "u.librarian")
    page = client.get("/circulation/categories").get_data(as_text=True)
    assert "pelajar_smp" in page and "/circulation/categories/new" not in page
    assert client.get("/circulation/categories/new").status_code == 403
    assert client.get("/circulation/categories/umum/edit").status_code == 403
    assert client.post("/circulation/categories/umum/delete").status_code == 403
    _login(client, "u.dpk")
    assert client.get("/circulation/categories/new").status_code == 200
    form = {"code": "lansia", "name_id": "Lanjut usia", "name_en": "Senior citizen", "card_months": "36",
            "minor_below_age": "18", "sort": "90", "active": "y"}
    assert client.post("/circulation/categories/new", data=form).status_code == 302
    assert client.get("/circulation/categories/lansia/edit").status_code == 200
    assert client.post("/circulation/categories/lansia/edit",
                       data={**form, "card_months": "60", "active": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(PatronCategory, "lansia").card_months == 60
    assert db.session.get(PatronCategory, "lansia").active is False
    assert client.post("/circulation/categories/lansia/delete").status_code == 302
    assert client.get("/circulation/categories/nope/edit").status_code == 404
    _rule(None, "umum")
    db.session.commit()
    refused = client.post("/circulation/categories/umum/delete", follow_redirects=True).get_data(as_text=True)
    assert "Deactivate it instead" in refused
    db.session.expire_all()
    assert db.session.get(PatronCategory, "umum") is not None and db.session.get(PatronCategory, "lansia") is None
