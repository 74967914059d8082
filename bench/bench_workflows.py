"""The DPK dashboard at city scale: how its cost grows with the number of libraries.

One run, one JSON line on stdout. On a temporary SQLite file it builds a network of N libraries
(kelurahan, kecamatan and school types, opening hours, entered facts, one catalogue record with a copy
each, visits over the last year), starts the accreditation workflow for every other library, then times, taking
the median of ``--repeat`` runs: ``dashboard.library_row`` one library at a time (``--small`` of them,
the way a library's own page reads it), ``dashboard.library_rows`` for every library at once (one
query per figure for all of them) and for the third in one kecamatan, and the whole ``GET /workflows/``
page (rows, monthly series, four SVG charts). ``bulk_over_one_by_one`` is the cost per library of the
bulk read against one at a time; ``bulk_per_library_all_over_third`` near 1 means the page grows
linearly with the number of libraries. Absolute times depend on the machine. Run: ``.venv/bin/python bench/bench_workflows.py [--libraries 150 --small 20]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(n: int) -> None:
    """Create the libraries, their facts, copies, visits and runs (bulk rows where possible)."""
    from circulation.models import Visit
    from ils.authz import Actor
    from ils.extensions import db
    from ils.models import Library, LibraryType
    from tests.factories import make_record
    from workflows.services import figures, instances

    system = Actor.system("bench")
    rng = random.Random(6474)
    hours = {d: [["08:00", "15:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    types = [LibraryType.KELURAHAN, LibraryType.KECAMATAN, LibraryType.SEKOLAH_SD, LibraryType.SEKOLAH_SMP]
    today = date.today()
    for i in range(n):
        library = Library(code=f"L{i:03d}", name=f"Perpustakaan Uji {i:03d}", type=types[i % len(types)],
                          kecamatan=("Bontang Utara", "Bontang Selatan", "Bontang Barat")[i % 3], opening_hours=hours,
                          timezone="Asia/Makassar")
        db.session.add(library)
        db.session.flush()
        make_record(f"Buku uji {i}", library, barcode=f"B{i:05d}")
        figures.set_facts(actor=system, library_id=library.id, values={"floor_area_m2": str(40 + i % 80),
                                                                        "staff_total": str(1 + i % 3)})
        db.session.add_all(Visit(library_id=library.id, at=datetime(d.year, d.month, d.day, 2, tzinfo=timezone.utc),
                                 local_date=d, member=False, category="umum", group_size=rng.randint(1, 20))
                           for d in (today - timedelta(days=k) for k in range(1, 400, 3)))
        if i % 2 == 0:
            instances.start(actor=system, library_id=library.id, workflow="akreditasi")
    db.session.commit()


def main() -> None:
    """Build, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libraries", type=int, default=150)
    parser.add_argument("--small", type=int, default=20, help="libraries timed one at a time")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-wf-") as tmp:
        os.environ.update(DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite", ILS_INSTANCE_PATH=f"{tmp}/instance")
        from flask_migrate import upgrade

        from ils import create_app
        from ils.authz import Actor
        from ils.extensions import db
        from ils.mixins import utcnow
        from ils.models import Library, Role
        from tests.factories import PASSWORD, make_staff
        from workflows.services import dashboard

        app = create_app("config.TestingConfig")
        app.config["WTF_CSRF_ENABLED"] = False
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            build(args.libraries)
            make_staff("bench.dpk", Role.DPK, None)
            db.session.commit()
            print(f"built {args.libraries} libraries in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            ids = [lib.id for lib in db.session.scalars(db.select(Library).order_by(Library.id))]

        def median(call) -> float:  # type: ignore[no-untyped-def]
            runs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                call()
                runs.append(time.perf_counter() - t)
            return statistics.median(runs)

        with app.app_context():
            libraries = [db.session.get(Library, i) for i in ids]
            dpk = Actor(label="dpk", role=Role.DPK)
            one_by_one = median(lambda: [dashboard.library_row(lib, today=date.today(), now=utcnow())
                                         for lib in libraries[:args.small]])
            bulk_small = median(lambda: dashboard.library_rows(actor=dpk, today=date.today(), now=utcnow(),
                                                               kecamatan="Bontang Utara"))
            small_count = len(dashboard.library_rows(actor=dpk, today=date.today(), now=utcnow(),
                                                     kecamatan="Bontang Utara"))
            bulk_all = median(lambda: dashboard.library_rows(actor=dpk, today=date.today(), now=utcnow()))
        client = app.test_client()
        client.post("/login", data={"username": "bench.dpk", "password": PASSWORD})
        page = median(lambda: client.get("/workflows/"))
        print(json.dumps({
            "libraries": args.libraries, "repeat": args.repeat,
            "one_by_one_ms_per_library": round(1000 * one_by_one / args.small, 1),
            "bulk_ms_per_library_all": round(1000 * bulk_all / len(ids), 1),
            "bulk_over_one_by_one": round((bulk_all / len(ids)) / (one_by_one / args.small), 2),
            "bulk_per_library_all_over_third": round((bulk_all / len(ids)) / (bulk_small / small_count), 2),
            "dashboard_page_all_s": round(page, 3),
        }))


if __name__ == "__main__":
    main()
