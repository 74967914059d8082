"""Patron categories: city-wide rows every library's rules are keyed on (admin and the DPK edit them)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from circulation.models import CirculationRule, Patron, PatronCategory
from circulation.services.common import as_dict
from circulation.services.rules import PERMISSION, between
from ils import audit, authz
from ils.authz import Actor
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db

CATEGORY_FIELDS = ("code", "name_id", "name_en", "card_months", "minor_below_age", "is_pupil", "sort", "active")
CATEGORY_CODE = re.compile(r"[a-z0-9_]{1,20}")


@dataclass(frozen=True)
class CategoryInput:
    """The editable values of a patron category (the code is fixed once created)."""

    name_id: str
    name_en: str
    card_months: int = 12
    minor_below_age: int = 18
    is_pupil: bool = False
    sort: int = 0
    active: bool = True



# --- reading and writing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryUse:
    """A category with how many patrons and rule rows use it (in use: delete is refused)."""

    category: PatronCategory
    patrons: int
    rules: int

    @property
    def in_use(self) -> bool:
        """True if deleting would orphan patrons or rule rows."""
        return bool(self.patrons or self.rules)


def require_category_admin(actor: Actor) -> None:
    """Categories are city-wide data: only admin and the DPK change them."""
    authz.require(actor, "circulation.categories")


def may_edit_categories(actor: Actor) -> bool:
    """True for the roles that may change patron categories."""
    return authz.can(actor, "circulation.categories")


def _usage(code: str) -> CategoryUse:
    category = db.session.get(PatronCategory, code)
    if category is None:
        raise NotFound()
    patrons = db.session.scalar(select(func.count()).select_from(Patron).where(Patron.category_code == code)) or 0
    rules = db.session.scalar(select(func.count()).select_from(CirculationRule)
                              .where(CirculationRule.category_code == code)) or 0
    return CategoryUse(category, patrons, rules)


def list_categories(*, actor: Actor) -> list[CategoryUse]:
    """Every category (inactive ones too) in display order, with their use."""
    authz.require_listing(actor, PERMISSION)
    patrons: dict[str, int] = {code: count for code, count in db.session.execute(
        select(Patron.category_code, func.count()).group_by(Patron.category_code))}
    rules: dict[str, int] = {code: count for code, count in db.session.execute(
        select(CirculationRule.category_code, func.count()).group_by(CirculationRule.category_code))}
    categories = db.session.scalars(select(PatronCategory).order_by(PatronCategory.sort, PatronCategory.code))
    return [CategoryUse(c, patrons.get(c.code, 0), rules.get(c.code, 0)) for c in categories]


def get_category(*, actor: Actor, code: str) -> PatronCategory:
    """One category, for editing (admin and DPK)."""
    require_category_admin(actor)
    return _usage(code).category


def _validate_category(data: CategoryInput) -> CategoryInput:
    name_id, name_en = data.name_id.strip(), data.name_en.strip()
    if not 1 <= len(name_id) <= 80:
        raise ValidationFailed(_l("Give the name in Indonesian (at most 80 characters)."), field="name_id")
    if not 1 <= len(name_en) <= 80:
        raise ValidationFailed(_l("Give the name in English (at most 80 characters)."), field="name_en")
    between(data.card_months, 1, 120, "card_months", _l("A card is valid for 1 to 120 months."))
    between(data.minor_below_age, 0, 25, "minor_below_age", _l("The age limit must be between 0 and 25."))
    between(data.sort, 0, 9999, "sort", _l("The order must be between 0 and 9999."))
    return CategoryInput(**{**asdict(data), "name_id": name_id, "name_en": name_en})


def create_category(*, actor: Actor, code: str, data: CategoryInput, now: datetime) -> PatronCategory:
    """Add a patron category (admin and DPK)."""
    require_category_admin(actor)
    code = code.strip().lower()
    if not CATEGORY_CODE.fullmatch(code):
        raise ValidationFailed(_l("Use 1 to 20 small letters, digits or underscores for the code."), field="code")
    if db.session.get(PatronCategory, code) is not None:
        raise Conflict(_l("The category code %(code)s is already used.", code=code), field="code")
    clean = _validate_category(data)
    category = PatronCategory(code=code, **asdict(clean))
    db.session.add(category)
    db.session.flush()
    audit.record(actor, "category.create", object_type="circ_patron_category", object_id=code,
                 details={"changes": audit.diff({}, as_dict(category, CATEGORY_FIELDS))}, now=now)
    db.session.flush()
    return category


def update_category(*, actor: Actor, code: str, data: CategoryInput, now: datetime) -> PatronCategory:
    """Change a category's names, card period, age limit, order or active flag (admin and DPK)."""
    category = get_category(actor=actor, code=code)
    clean = _validate_category(data)
    before = as_dict(category, CATEGORY_FIELDS)
    for name, value in asdict(clean).items():
        setattr(category, name, value)
    changes = audit.diff(before, as_dict(category, CATEGORY_FIELDS))
    if changes:
        audit.record(actor, "category.update", object_type="circ_patron_category", object_id=code,
                     details={"changes": changes}, now=now)
    db.session.flush()
    return category


def delete_category(*, actor: Actor, code: str, now: datetime) -> PatronCategory:
    """Delete an unused category (returned, now deleted); one that patrons or rules use can only be deactivated."""
    require_category_admin(actor)
    use = _usage(code)
    if use.in_use:
        raise Conflict(_l("The category %(code)s is used by %(patrons)d member(s) and %(rules)d rule(s), so it "
                          "cannot be deleted. Deactivate it instead.", code=code, patrons=use.patrons,
                          rules=use.rules))
    audit.record(actor, "category.delete", object_type="circ_patron_category", object_id=code,
                 details={"changes": audit.diff(as_dict(use.category, CATEGORY_FIELDS), {})}, now=now)
    db.session.delete(use.category)
    db.session.flush()
    return use.category
