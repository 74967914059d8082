"""The circulation rules matrix (the patron categories it is keyed on: circulation.services.categories).

Rows are data (house style habit 4): the DPK keeps the city-wide rows, each head librarian the rows
of their own library, and policy.resolve_rule decides which row applies. Every change is audited
with a field-by-field diff so "who changed the loan period?" always has an answer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from catalog.models import ITEM_TYPE_LABELS, ItemType
from circulation import policy
from circulation.models import CirculationRule, PatronCategory
from circulation.policy import ANY, Resolution
from circulation.services.common import as_dict, forget_memo, rules_for
from ils import audit, authz
from ils.authz import Actor
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import Library

PERMISSION = "circulation.rules"
# Everything a row holds besides its id and timestamps: what the audit diff compares.
RULE_FIELDS = ("library_id", "category_code", "item_type", "loanable", "loan_days", "loan_hours",
               "max_loans_library", "max_loans_city", "renewals", "renewal_days", "fine_per_day", "fine_cap",
               "grace_days", "holds_allowed", "hold_shelf_days", "other_libraries", "note")
# Upper bounds keep typing slips (7000 days instead of 7) out of the matrix; none is a legal limit.
MAX_LOAN_DAYS = 365
MAX_LOAN_HOURS = 168
MAX_LOANS = 999
MAX_RUPIAH = 10_000_000


# --- input --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleInput:
    """The editable values of one matrix row (the library is chosen separately and never changes)."""

    category_code: str = ANY
    item_type: str = ANY
    loanable: bool = True
    loan_days: int | None = 7
    loan_hours: int | None = None
    max_loans_library: int = 3
    max_loans_city: int = 10
    renewals: int = 1
    renewal_days: int = 7
    fine_per_day: int = 500
    fine_cap: int = 0
    grace_days: int = 0
    holds_allowed: bool = True
    hold_shelf_days: int = 3
    other_libraries: bool = True
    note: str = ""


def between(value: int | None, low: int, high: int, field: str, message: Any) -> None:
    """Raise ValidationFailed on ``field`` unless low <= value <= high."""
    if value is None or not low <= value <= high:
        raise ValidationFailed(message, field=field)


def validate_rule(data: RuleInput) -> RuleInput:
    """Check a row's values; returns them with the note trimmed. Raises ValidationFailed naming the field."""
    if (data.loan_days is None) == (data.loan_hours is None):
        raise ValidationFailed(_l("Give the loan period either in days or in hours, not both."), field="loan_days")
    if data.loan_days is not None:
        # 0 days is legal: due at today's closing time (a same-day loan).
        between(data.loan_days, 0, MAX_LOAN_DAYS, "loan_days",
                 _l("Loan days must be between %(low)d and %(high)d.", low=0, high=MAX_LOAN_DAYS))
    else:
        between(data.loan_hours, 1, MAX_LOAN_HOURS, "loan_hours",
                 _l("Loan hours must be between %(low)d and %(high)d.", low=1, high=MAX_LOAN_HOURS))
    for field in ("fine_per_day", "fine_cap"):
        between(getattr(data, field), 0, MAX_RUPIAH, field,
                 _l("Amounts in rupiah cannot be negative (and at most %(high)s).", high=f"{MAX_RUPIAH:,}"))
    between(data.grace_days, 0, 365, "grace_days", _l("Grace days must be between 0 and 365."))
    between(data.renewals, 0, 10, "renewals", _l("Renewals must be between 0 and 10."))
    between(data.renewal_days, 1, MAX_LOAN_DAYS, "renewal_days",
             _l("Days per renewal must be between %(low)d and %(high)d.", low=1, high=MAX_LOAN_DAYS))
    between(data.hold_shelf_days, 1, 30, "hold_shelf_days",
             _l("Days on the hold shelf must be between 1 and 30."))
    for field in ("max_loans_library", "max_loans_city"):
        between(getattr(data, field), 0, MAX_LOANS, field,
                 _l("Loan limits must be between 0 and %(high)d.", high=MAX_LOANS))
    if data.max_loans_library > data.max_loans_city:
        raise ValidationFailed(_l("The limit at one library cannot be higher than the city-wide limit."),
                               field="max_loans_library")
    if data.item_type != ANY and data.item_type not in {t.value for t in ItemType}:
        raise ValidationFailed(_l("Unknown item type."), field="item_type")
    if data.category_code != ANY and db.session.get(PatronCategory, data.category_code) is None:
        raise ValidationFailed(_l("Unknown patron category."), field="category_code")
    note = data.note.strip()
    if len(note) > 300:
        raise ValidationFailed(_l("The note may be at most 300 characters long."), field="note")
    return RuleInput(**{**asdict(data), "note": note})


# --- reading the matrix -------------------------------------------------------------------------------

@dataclass
class RuleGroup:
    """The rows of one library (or the city-wide rows when ``library`` is None)."""

    library: Library | None
    rules: list[CirculationRule]
    editable: bool


def _ordered(rules: list[CirculationRule]) -> list[CirculationRule]:
    """Most specific first, as resolve_rule ranks them, then by key so the table reads the same each time."""
    return sorted(rules, key=lambda r: (tuple(not part for part in policy.specificity(r)), r.category_code,
                                        r.item_type, r.id))


def may_write(actor: Actor, library_id: int | None) -> bool:
    """True if the actor may change rows of this library (None: city-wide rows, network roles only)."""
    return authz.can(actor, PERMISSION, library_id)


def rule_matrix(*, actor: Actor, library_id: int | None = None) -> list[RuleGroup]:
    """The matrix the actor may see, grouped by library: city-wide rows first.

    Network roles see every row (or, with ``library_id``, the city-wide rows and that library's);
    a librarian sees the city-wide rows (read-only) and the rows of their own library.
    """
    visible = authz.require_listing(actor, PERMISSION)
    if library_id is not None:
        authz.require(actor, PERMISSION, library_id)
        visible = {library_id}
    stmt = select(CirculationRule)
    if visible is not None:
        stmt = stmt.where(or_(CirculationRule.library_id.is_(None), CirculationRule.library_id.in_(visible)))
    city: list[CirculationRule] = []
    by_library: dict[int, list[CirculationRule]] = {}
    for rule in db.session.scalars(stmt):
        if rule.library_id is None:
            city.append(rule)
        else:
            by_library.setdefault(rule.library_id, []).append(rule)
    libraries = {lib.id: lib for lib in db.session.scalars(select(Library).where(Library.id.in_(by_library)))}
    groups = [RuleGroup(None, _ordered(city), may_write(actor, None))]
    for key in sorted(by_library, key=lambda k: libraries[k].name):
        groups.append(RuleGroup(libraries[key], _ordered(by_library[key]), may_write(actor, key)))
    # A library asked for (or a librarian's own) is shown even before it has rows, with its "new" button.
    for key in sorted(visible or ()):
        library = db.session.get(Library, key)
        if library is not None and key not in by_library:
            groups.append(RuleGroup(library, [], may_write(actor, key)))
    return groups


def editable_rule(*, actor: Actor, rule_id: int) -> CirculationRule:
    """One row the actor may change: their own library's, or any row for admin and DPK."""
    rule = db.session.get(CirculationRule, rule_id)
    if rule is None:
        raise NotFound()
    authz.require(actor, PERMISSION, rule.library_id)
    return rule


# --- writing the matrix -------------------------------------------------------------------------------

def _library_label(library_id: int | None) -> str:
    """A library's name for messages, or "city-wide"."""
    if library_id is None:
        return str(_l("city-wide (every library)"))
    library = db.session.get(Library, library_id)
    return library.name if library else str(library_id)


def _refuse_duplicate(library_id: int | None, data: RuleInput, rule_id: int | None) -> None:
    """Conflict when another row already has this library, category and item type."""
    stmt = select(CirculationRule).where(CirculationRule.library_key == (library_id or 0),
                                         CirculationRule.category_code == data.category_code,
                                         CirculationRule.item_type == data.item_type)
    if rule_id is not None:
        stmt = stmt.where(CirculationRule.id != rule_id)
    other = db.session.scalar(stmt)
    if other is not None:
        raise Conflict(_l("There is already a rule for %(library)s, patron category %(category)s and item type "
                          "%(item_type)s (rule #%(id)d). Edit that rule instead.",
                          library=_library_label(library_id), category=label_any(data.category_code),
                          item_type=label_any(data.item_type), id=other.id), field="category_code")


def _flush_unique(library_id: int | None, data: RuleInput, rule_id: int | None) -> None:
    """Flush in a savepoint; a row saved meanwhile by someone else becomes the same clear Conflict."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        _refuse_duplicate(library_id, data, rule_id)
        raise


def create_rule(*, actor: Actor, library_id: int | None, data: RuleInput, now: datetime) -> CirculationRule:
    """Add a row to the matrix (library_id None: a city-wide row, admin and DPK only)."""
    authz.require(actor, PERMISSION, library_id)
    if library_id is not None and db.session.get(Library, library_id) is None:
        raise NotFound()
    clean = validate_rule(data)
    _refuse_duplicate(library_id, clean, None)
    rule = CirculationRule(library_id=library_id, **asdict(clean))
    db.session.add(rule)
    _flush_unique(library_id, clean, None)
    audit.record(actor, "rule.create", object_type="circ_rule", object_id=rule.id, library_id=library_id,
                 details={"changes": audit.diff({}, as_dict(rule, RULE_FIELDS))}, now=now)
    db.session.flush()
    forget_memo()  # the shared copies of the matrix are dropped at once
    return rule


def update_rule(*, actor: Actor, rule_id: int, data: RuleInput, now: datetime) -> CirculationRule:
    """Change a row; the diff of every changed field goes to the audit trail."""
    rule = editable_rule(actor=actor, rule_id=rule_id)
    clean = validate_rule(data)
    _refuse_duplicate(rule.library_id, clean, rule.id)
    before = as_dict(rule, RULE_FIELDS)
    for name, value in asdict(clean).items():
        setattr(rule, name, value)
    _flush_unique(rule.library_id, clean, rule.id)
    changes = audit.diff(before, as_dict(rule, RULE_FIELDS))
    if changes:
        audit.record(actor, "rule.update", object_type="circ_rule", object_id=rule.id, library_id=rule.library_id,
                     details={"changes": changes}, now=now)
        db.session.flush()
    forget_memo()  # the shared copies of the matrix are dropped at once
    return rule


def delete_rule(*, actor: Actor, rule_id: int, now: datetime) -> CirculationRule:
    """Remove a row (returned, now deleted). Loans keep the terms they were made with (Loan.terms)."""
    rule = editable_rule(actor=actor, rule_id=rule_id)
    audit.record(actor, "rule.delete", object_type="circ_rule", object_id=rule.id, library_id=rule.library_id,
                 details={"changes": audit.diff(as_dict(rule, RULE_FIELDS), {})}, now=now)
    db.session.delete(rule)
    db.session.flush()
    forget_memo()  # the shared copies of the matrix are dropped at once
    return rule


# --- "what applies" -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    """The row that applies to a library, category and item type, and the rows it shadows with why."""

    library: Library
    category_code: str
    item_type: str
    resolution: Resolution | None
    # (row, why it lost) for every other matching row, most specific first.
    shadowed: list[tuple[CirculationRule, str]]


def _why_shadowed(winner: CirculationRule, loser: CirculationRule) -> str:
    """The first part of the specificity order in which the winner is more specific."""
    names = (_l("the winning row names the library"), _l("the winning row names the patron category"),
             _l("the winning row names the item type"))
    for name, won, lost in zip(names, policy.specificity(winner), policy.specificity(loser), strict=True):
        if won != lost:
            return str(name)
    # Unreachable while the unique key holds, but resolve_rule does define the tie-break.
    return str(_l("equally specific: the older row (lower number) wins"))


def preview(*, actor: Actor, library_id: int, category_code: str, item_type: str) -> Preview:
    """Which row applies at this library to this patron category and item type, and why."""
    authz.require(actor, PERMISSION, library_id)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    if db.session.get(PatronCategory, category_code) is None:
        raise ValidationFailed(_l("Unknown patron category."), field="category_code")
    if item_type not in {t.value for t in ItemType}:
        raise ValidationFailed(_l("Unknown item type."), field="item_type")
    resolution = policy.resolve_rule(rules_for(library_id), library_id=library_id, category=category_code,
                                     item_type=item_type)
    shadowed = [(row, _why_shadowed(resolution.rule, row)) for row in resolution.shadowed] if resolution else []
    return Preview(library=library, category_code=category_code, item_type=item_type, resolution=resolution,
                   shadowed=shadowed)


def label_any(value: str) -> str:
    """A key part for people: "semua/any" for the wildcard, else the value itself."""
    return "semua/any" if value == ANY else value


def item_type_choices() -> list[tuple[str, Any]]:
    """(value, label) of every item type."""
    return [(t.value, label) for t, label in ITEM_TYPE_LABELS.items()]
