"""catalog.staging: the helper process gives the same import as reading in one process, and never outlives it."""
from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from sqlalchemy import select

from catalog import marc, staging
from catalog.models import Item, Record
from ils.extensions import db
from tests.conftest import _empty_tables
from tests.factories import make_library
from tests.test_catalog_import import bib, isbn13, iso, rows, run

BROKEN = b"00099nam a2200037 a 4500001000800000\x1e1234\x1d"  # directory points past the end


def _file() -> bytes:
    """Forty-odd records: ISBN and title-key duplicates inside the file, items, an authority, a broken record."""
    records = []
    for n in range(40):
        isbn = isbn13(f"978602{n:06d}") if n % 3 else ""
        records.append(bib(f"Kumpulan Cerita Rakyat Kalimantan {n}", isbn=isbn, author=f"Penulis, {n % 7}",
                           year=2000 + n % 20, items=((("p", f"STG{n:04d}"), ("o", "398.2 PEN k")),)))
    records.append(bib("Kumpulan Cerita Rakyat Kalimantan 4", author="Penulis, 4", year=2004,
                       items=((("p", "STG-DUP"),),)))  # matches record 4 by title key, inside the same chunk run
    authority = {"leader": "00000nz  a2200000n  4500",
                 "fields": [{"001": "A1"}, {"100": {"ind1": "1", "ind2": " ", "subfields": [{"a": "Hirata, Andrea"}]}}]}
    return iso(records[:20]) + BROKEN + iso(records[20:]) + marc.iso2709(authority)


def _outcome(library_code: str, data: bytes) -> dict[str, Any]:
    """Import into a fresh catalog and describe the result without database ids."""
    library = make_library(library_code)
    db.session.commit()
    batch = run(data, library, filename="stg.mrc")
    titles = dict(db.session.execute(select(Record.id, Record.title)).all())
    return {
        "counts": batch.counts,
        "rows": [(r.position, r.outcome, r.matched_by, r.items_added, r.title, r.issues, titles.get(r.record_id))
                 for r in rows(batch)],
        "records": sorted((r.title, r.kind, r.isbns, r.marc, r.year, r.subjects, r.version)
                          for r in db.session.scalars(select(Record))),
        "items": sorted((i.barcode, titles[i.record_id], i.call_class, i.call_author, i.accession_number, i.status)
                        for i in db.session.scalars(select(Item))),
    }


def test_helper_process_and_single_process_import_the_same(app: Flask, ctx: Flask,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data = _file()
    monkeypatch.setitem(current_app.config, "CATALOG_IMPORT_CHUNK", 7)
    monkeypatch.setitem(current_app.config, "CATALOG_IMPORT_HELPER_MIN_BYTES", 0)
    with_helper = _outcome("LIB-H", data)
    db.session.remove()  # let go of the write lock before the tables are emptied
    _empty_tables(app)
    monkeypatch.setitem(current_app.config, "CATALOG_IMPORT_HELPER_MIN_BYTES", None)
    in_process = _outcome("LIB-H", data)
    assert with_helper == in_process
    assert with_helper["counts"] == {"new": 40, "matched": 1, "authority": 1, "rejected": 1, "items": 41}
    assert [r[1] for r in with_helper["rows"]][20] == "rejected"


def test_helper_skips_what_was_done_before_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "stg.mrc"
    path.write_bytes(_file())
    with staging.Helper(str(path), fmt="iso2709", encoding="auto", after=30, size=4) as helper:
        positions = [s.position for chunk in helper for s in chunk.staged]
    assert positions == list(range(31, 44))
    with path.open("rb") as stream:
        inline = [s.position for chunk in staging.chunks(stream, fmt="iso2709", encoding="auto", after=30, size=4)
                  for s in chunk.staged]
    assert inline == positions


def test_helper_stops_when_the_importing_process_goes_away(tmp_path: Path) -> None:
    """A killed worker closes its end of the pipe; the helper's next write fails and it exits by itself."""
    path = tmp_path / "big.mrc"
    path.write_bytes(_file() * 30)  # far more than the pipe holds
    helper = staging.Helper(str(path), fmt="iso2709", encoding="auto", after=0, size=5)
    first = next(iter(helper))
    assert len(first.staged) == 5
    assert helper.process.stdout is not None
    helper.process.stdout.close()  # what the kernel does for a process killed with SIGKILL
    assert helper.process.wait(timeout=30) != 0  # it stopped on its own: nobody killed it


def test_a_helper_that_dies_is_an_error_not_a_short_import(tmp_path: Path) -> None:
    path = tmp_path / "big.mrc"
    path.write_bytes(_file() * 30)
    with staging.Helper(str(path), fmt="iso2709", encoding="auto", after=0, size=5) as helper:
        chunks = iter(helper)
        next(chunks)
        os.kill(helper.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        with pytest.raises(staging.HelperFailed, match="exit code -9"):
            while time.monotonic() < deadline:
                next(chunks)
    assert helper.process.returncode == -signal.SIGKILL


def test_staging_a_broken_record_keeps_its_reason() -> None:
    staged = [s for chunk in staging.chunks(io.BytesIO(BROKEN), fmt="iso2709", encoding="auto", after=0, size=10)
              for s in chunk.staged]
    assert len(staged) == 1 and not staged[0].readable and staged[0].error.startswith("read_")
    assert staged[0].columns == {} and staged[0].keys == []
