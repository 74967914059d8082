"""Pure policy: which row of the matrix wins, and what a fine comes to (plain values, no database)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from circulation import policy
from circulation.policy import Situation


@dataclass
class Row:
    id: int
    library_id: int | None
    category_code: str
    item_type: str


ROWS = [
    Row(1, None, "*", "*"),            # city-wide default
    Row(2, None, "*", "referensi"),    # city-wide: reference copies
    Row(3, None, "pelajar_sd", "*"),   # city-wide: primary pupils
    Row(4, 7, "*", "*"),               # library 7's own default
    Row(5, 7, "*", "serial"),          # library 7: magazines
    Row(6, 7, "mahasiswa", "*"),       # library 7: students
    Row(7, 9, "umum", "buku"),         # library 9: fully specific
]


@pytest.mark.parametrize(("library", "category", "item_type", "winner", "shadowed"), [
    (1, "umum", "buku", 1, []),
    (1, "umum", "referensi", 2, [1]),
    (1, "pelajar_sd", "buku", 3, [1]),
    (1, "pelajar_sd", "referensi", 3, [2, 1]),    # a named category beats a named item type
    (7, "umum", "buku", 4, [1]),                  # a library's own row beats any city-wide row
    (7, "pelajar_sd", "referensi", 4, [3, 2, 1]),
    (7, "umum", "serial", 5, [4, 1]),
    (7, "mahasiswa", "serial", 6, [5, 4, 1]),      # library + category beats library + item type
    (9, "umum", "buku", 7, [1]),
    (9, "umum", "serial", 1, []),
])
def test_the_most_specific_row_wins(library: int, category: str, item_type: str, winner: int,
                                    shadowed: list[int]) -> None:
    found = policy.resolve_rule(ROWS, library_id=library, category=category, item_type=item_type)
    assert found is not None and found.rule.id == winner
    assert [r.id for r in found.shadowed] == shadowed
    assert len(found.why) == 3


def test_ties_go_to_the_older_row_and_no_match_is_none() -> None:
    rows = [Row(12, 7, "*", "*"), Row(11, 7, "*", "*")]
    assert policy.resolve_rule(rows, library_id=7, category="umum", item_type="buku").rule.id == 11
    assert policy.resolve_rule([Row(1, 9, "umum", "buku")], library_id=7, category="umum", item_type="buku") is None


TERMS = {"fine_per_day": 500, "fine_cap": 5000, "grace_days": 2}


@pytest.mark.parametrize(("late", "fine"), [(0, 0), (1, 0), (2, 0), (3, 1500), (10, 5000), (40, 5000)])
def test_fine_has_grace_days_and_a_cap(late: int, fine: int) -> None:
    assert policy.fine_for(late, TERMS) == fine


def test_fine_never_decreases_with_more_late_days_and_no_cap_means_none() -> None:
    for terms in (TERMS, {"fine_per_day": 1000, "fine_cap": 0, "grace_days": 0}):
        fines = [policy.fine_for(days, terms) for days in range(0, 400)]
        assert fines == sorted(fines)
    assert policy.fine_for(365, {"fine_per_day": 1000, "fine_cap": 0, "grace_days": 0}) == 365000


def situation(**changes: object) -> Situation:
    base = dict(today=date(2026, 3, 16), patron_status="active", block_reason="", expiry_date=date(2027, 1, 1),
                is_minor=False, has_guardian_consent=False, unpaid=0, fee_threshold=10000, overdue_count=0,
                block_on_overdue=True, same_home_library=True, item_status="available",
                item_captured_for_other=False, item_captured_for_patron=False, loans_at_library=0, loans_in_city=0,
                terms={"loanable": True, "other_libraries": True, "max_loans_library": 3, "max_loans_city": 10})
    base.update(changes)
    return Situation(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "failed"), [
    ({}, []),
    ({"patron_status": "blocked", "block_reason": "kartu hilang"}, ["patron_active"]),
    ({"expiry_date": date(2026, 3, 15)}, ["card_valid"]),
    ({"is_minor": True}, ["guardian_consent"]),
    ({"is_minor": True, "has_guardian_consent": True}, []),
    ({"unpaid": 10001}, ["fees"]),
    ({"unpaid": 10000}, []),
    ({"overdue_count": 2}, ["overdue"]),
    ({"overdue_count": 2, "block_on_overdue": False}, []),
    ({"same_home_library": False, "terms": {"loanable": True, "other_libraries": False, "max_loans_library": 3,
                                            "max_loans_city": 10}}, ["other_libraries"]),
    ({"item_status": "on_hold_shelf", "item_captured_for_patron": True}, []),
    ({"item_status": "on_hold_shelf", "item_captured_for_other": True}, ["item_available", "held_for_other"]),
    ({"loans_at_library": 3}, ["library_limit"]),
    ({"loans_in_city": 10}, ["city_limit"]),
    ({"terms": None}, ["rule"]),
])
def test_each_check_fails_for_its_own_reason(changes: dict, failed: list[str]) -> None:
    checks = policy.checkout_checks(situation(**changes))
    assert [c.code for c in policy.failed(checks)] == failed
    assert all(c.message for c in checks)


def test_hard_failures_cannot_be_overridden() -> None:
    checks = policy.checkout_checks(situation(item_status="on_loan"))
    assert [(c.code, c.hard) for c in policy.failed(checks)] == [("item_available", True)]
    assert not any(c.hard for c in policy.failed(policy.checkout_checks(situation(loans_in_city=99))))
