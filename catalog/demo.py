"""Demo catalog: 320 records written for the project (catalog/demo_records.json) with copies spread
over the demo network's libraries. Loaded by `flask --app ils demo`; running it twice adds nothing."""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from catalog.build import QuickEntry, build
from catalog.models import AcquisitionSource, ItemType, Record
from catalog.services import items, records
from ils.authz import Actor
from ils.extensions import db
from ils.services.libraries import get_by_code

DATA = Path(__file__).with_name("demo_records.json")
LABEL = "system:demo-catalog"
FICTION_CLASSES = ("899.221", "813", "823", "833", "843", "853", "863", "895", "398")


def entry(spec: dict[str, Any]) -> QuickEntry:
    """The quick-form values of one demo record."""
    series, _, number = (spec.get("series") or "").partition(" ; ")
    return QuickEntry(
        title=spec["title"], subtitle=spec.get("subtitle") or "", authors=spec.get("authors") or [],
        editors=spec.get("editors") or [], corporate_author=spec.get("corporate_author") or "",
        publisher=spec.get("publisher") or "", place=spec.get("place") or "", year=spec.get("year"),
        edition=spec.get("edition") or "", isbn=spec.get("isbn") or "", pages=spec.get("pages"),
        illustrations=bool(spec.get("illustrations")), height_cm=21 if spec.get("pages") else None,
        language=spec.get("language") or "ind", subjects=spec.get("subjects") or [], ddc=spec.get("ddc") or "",
        series=series, series_number=number, notes=spec.get("notes") or "", serial=spec.get("material") == "serial",
        audience=spec.get("audience") or "", fiction=(spec.get("ddc") or "").startswith(FICTION_CLASSES))


def load(actor: Actor, *, today: date | None = None) -> int:
    """Create the demo catalog unless it is already there; returns the number of records created."""
    if db.session.scalar(select(func.count()).select_from(Record).where(Record.created_by == LABEL)):
        return 0
    today = today or date.today()
    system = Actor.system(LABEL)
    rng = random.Random(2026)
    specs = json.loads(DATA.read_text(encoding="utf-8"))["records"]
    created = 0
    for spec in specs:
        record = records.create_record(marc=build(entry(spec), org_code=records.org_code(), today=today),
                                       actor=system)
        created += 1
        for holding in spec.get("holdings", []):
            library = get_by_code(holding["library"])
            if library is None:
                continue
            first = date(max(spec.get("year") or 2000, 2005), 1, 15)
            for _ in range(int(holding.get("copies", 1))):
                acquired = min(today, first + timedelta(days=rng.randrange(0, 3 * 365)))
                items.add_item(record_id=record.id, library_id=library.id, actor=system, today=acquired,
                               data=items.ItemInput(collection=holding.get("collection", "Umum"),
                                                    item_type=ItemType(holding.get("item_type", "buku")),
                                                    source=AcquisitionSource(holding.get("source", "pembelian")),
                                                    price=holding.get("price"), acquired_on=acquired))
    db.session.flush()
    return created
