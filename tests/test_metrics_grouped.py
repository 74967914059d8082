"""The one-query versions of the metrics give exactly what one call per library gives, for every
metric that has one, over several periods, with data in two timezones."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from circulation.models import Loan, Visit
from ils import metrics
from ils.authz import Actor
from ils.extensions import db
from tests.factories import Network, make_library, make_patron, make_record
from workflows.services import activities

DAY = date(2026, 3, 16)


@pytest.fixture
def data(network: Network) -> list[int]:
    """Visits, loans, members, records and activities at A, B and a library in WIB (Asia/Jakarta)."""
    c = make_library("LIB-C", timezone="Asia/Jakarta")
    make_record("Sejarah Bontang", c, barcode="C0001")
    make_record("Laut Kita", network.a, barcode="A0002")
    ids = [network.a.id, network.b.id, c.id]
    for n, library_id in enumerate(ids):
        for k in range(3 + n):
            at = datetime(2026, 3, 10 + k, 16, 30, tzinfo=timezone.utc)  # after local midnight in WITA, not in WIB
            db.session.add(Visit(library_id=library_id, at=at, local_date=DAY - timedelta(days=k), member=False,
                                 category="umum", group_size=k + 1))
    patron = make_patron("Ani", network.a, now=datetime(2026, 1, 5, 3, tzinfo=timezone.utc))
    make_patron("Budi", c, now=datetime(2026, 2, 28, 17, 30, tzinfo=timezone.utc))
    for k, item in enumerate((network.item_a, network.item_b)):
        db.session.add(Loan(item_id=item.id, record_id=item.record_id, patron_id=patron.id, patron_category="umum",
                            library_id=ids[k], item_library_id=item.library_id, actor_label="test",
                            checked_out_at=datetime(2026, 2, 28, 16, 30 + k, tzinfo=timezone.utc),
                            due_at=datetime(2026, 3, 14, 8, tzinfo=timezone.utc)))
    for library_id, people in ((network.a.id, 5), (c.id, 9)):
        activities.record_activity(actor=Actor.system("t"), library_id=library_id, today=DAY,
                                   data=activities.ActivityInput(held_on=DAY - timedelta(days=3), kind="dongeng",
                                                                 title="Dongeng", participants_male=people))
    db.session.commit()
    return ids


@pytest.mark.parametrize("period", [(None, None), (None, DAY), (date(2026, 3, 1), DAY), (date(2026, 3, 1), date(2026, 3, 1))])
def test_grouped_metrics_equal_one_call_per_library(data: list[int], period: tuple[date | None, date | None]) -> None:
    """Same numbers, library by library, and a library without data gets 0 (not missing)."""
    start, end = period
    grouped = [name for name, metric in metrics.REGISTRY.items() if metric.by_library is not None]
    assert len(grouped) >= 9
    for name in grouped:
        one_by_one = {i: metrics.value(name, library_id=i, start=start, end=end) for i in data}
        assert metrics.values(name, library_ids=data, start=start, end=end) == one_by_one, name
    if start is None:  # the comparison is not between two empty answers
        figures = metrics.values("circulation.visits", library_ids=data, start=start, end=end)
        assert figures == {data[0]: 6.0, data[1]: 10.0, data[2]: 15.0}
        assert metrics.values("circulation.loans", library_ids=data, start=start, end=end) == {
            data[0]: 1.0, data[1]: 1.0, data[2]: 0.0}
