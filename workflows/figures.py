"""The named figures that accreditation, SNP and IPLM calculations read, documented once.

The lead's services compute these from live data (catalog, circulation, workflow activities) and from
facts a library enters (floor area, staff, budget, ...). Calculations take a plain mapping
``figures: Mapping[str, float | None]``; a missing key or None means "not known yet".
"""
from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

Figures = Mapping[str, float | None]

# Units: count (a plain number), share (a fraction 0..1, shown as %), m2, rupiah, hours (per open
# day), days (per week), per_day (average per open day).
FIGURES: dict[str, tuple[LazyString, str]] = {
    "catalog.titles": (_l("Titles held"), "count"),
    "catalog.copies": (_l("Copies held"), "count"),
    "catalog.titles.recent_share": (_l("Share of titles published in the last 5 years"), "share"),
    "circulation.visits_per_open_day": (_l("Visits per open day (last 12 months)"), "per_day"),
    "circulation.loans_last_year": (_l("Loans in the last year"), "count"),
    "circulation.active_members": (_l("Active members"), "count"),
    "circulation.new_members_last_year": (_l("New members in the last year"), "count"),
    "library.open_hours_per_day": (_l("Opening hours per open day"), "hours"),
    "library.open_days_per_week": (_l("Open days per week"), "days"),
    "workflows.activities_last_year": (_l("Activities in the last year"), "count"),
    "workflows.participants_last_year": (_l("Activity participants in the last year"), "count"),
    "fact.floor_area_m2": (_l("Floor area"), "m2"),
    "fact.staff_total": (_l("Library staff"), "count"),
    "fact.staff_trained": (_l("Staff with library training"), "count"),
    "fact.budget_collection_rp": (_l("Yearly collection budget"), "rupiah"),
    "fact.rombel": (_l("Study groups (rombel)"), "count"),
    "fact.students": (_l("Pupils or students"), "count"),
    "fact.population_served": (_l("Population served"), "count"),
    "fact.ebook_titles": (_l("E-book titles"), "count"),
}


def value_of(figures: Figures, name: str) -> float | None:
    """The value of one figure, or None when it is missing or unknown."""
    value = figures.get(name)
    return None if value is None else float(value)


def ratio_of(figures: Figures, name: str, per: str | None) -> float | None:
    """``name`` divided by ``per`` (just ``name`` without ``per``); None when unknown or dividing by 0."""
    value = value_of(figures, name)
    if per is None or value is None:
        return value
    basis = value_of(figures, per)
    return None if not basis else value / basis


def exact(number: float | int | Fraction) -> Fraction:
    """A number as the exact decimal it was written as, so 33.3 + 33.3 + 33.4 is exactly 100."""
    if isinstance(number, float):
        return Fraction(repr(number))
    return Fraction(number)
