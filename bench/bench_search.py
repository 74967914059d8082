"""OPAC search at city scale: query latency with facets, a plain Whoosh baseline, reindex rate, freshness.

One run, one JSON line (logs on stderr). On a temporary SQLite catalog of N generated records
(bench_catalog's generator: Indonesian and English books) with about 2 copies each over 30
libraries (3 company libraries keep theirs private; 1 copy in 10 is on loan), it measures:

- ``reindex_rps``: ``catalog.services.indexing.rebuild`` (the ``flask catalog reindex`` path: read the
  database, build a new index aside, swap it in);
- ``opac``: ``discovery.search_page`` for Q varied 1-3 word queries drawn from the catalogue's own
  title words: results, all facets (library, available, language, year, material, subject,
  collection) and live availability of the 20 shown, timed server-side (in process), p50/p95;
- ``whoosh_groupedby``: the same queries on a plain Whoosh index of the same records (the tech
  baseline's schema: StandardAnalyzer text fields, ``libraries`` KEYWORD with vectors, sortable
  ``language`` and ``year``) with ``searcher.search(..., limit=20, groupedby=library+language+year)``,
  and ``p95_ratio`` = its p95 / ours;
- ``freshness``: a real ``flask jobs worker`` process on an embedded Redis; each sample changes a
  record's title, commits (the outbox asks for the index job) and polls the search until the new
  word is found: commit-to-visible seconds, p50/p95;
- ``oai_harvest``: a full ``ListRecords`` harvest (marc21) with Sickle from a one-worker gunicorn:
  records per second (live records and deleted headers of the private-only ones) and the worker's
  RSS sampled every half second (first, max, last: flat means the harvest does not accumulate).

Run: ``.venv/bin/python bench/bench_search.py`` (200,000 records: several minutes and ~2 GB of
temporary disk) or ``--records 20000`` for a quick run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

LIBRARIES = 30
PRIVATE_LIBRARIES = 3  # the last three: company libraries with private collections
TARGETS = {"opac_p95_ms": 100, "reindex_rps": 2500, "freshness_p95_s": 5.0, "oai_rps": 1000}


def log(message: str) -> None:
    print(f"[bench_search {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _build_catalog(app: Any, tmp: Path, n: int) -> dict[str, Any]:
    """Libraries, N imported records, items spread over the libraries (about 2 per record)."""
    import bench_catalog
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from catalog.models import Item, Record
    from catalog.services import imports
    from ils.authz import Actor
    from ils.extensions import db
    from ils.models import Library, LibraryType

    with app.app_context():
        upgrade(directory=str(REPO / "migrations"))
        for i in range(1, LIBRARIES + 1):
            private = i > LIBRARIES - PRIVATE_LIBRARIES
            db.session.add(Library(code=f"LIB{i:02d}", name=f"Perpustakaan {i:02d}",
                                   type=LibraryType.KHUSUS if private else LibraryType.KELURAHAN,
                                   opac_public=not private, opening_hours={"mon": [["08:00", "16:00"]]}))
        db.session.commit()
        path = tmp / "catalog.mrc"
        started = time.perf_counter()
        bench_catalog.generate(path, n, seed=20261127, used={"isbn": set(), "title": set()}, barcode_prefix="S")
        log(f"generated {n} records in {time.perf_counter() - started:.0f}s")
        started = time.perf_counter()
        actor = Actor.system("cli:bench")
        library_id = db.session.scalar(select(Library.id).where(Library.code == "LIB01"))
        with path.open("rb") as stream:
            batch = imports.start_import(stream=stream, filename=path.name, library_id=library_id, actor=actor,
                                         enqueue=False, max_bytes=None)
        db.session.commit()
        imports.run_import(batch.id, actor=actor, checkpoint=lambda *_: db.session.commit(),
                           today=bench_catalog.TODAY)
        db.session.commit()
        log(f"imported in {time.perf_counter() - started:.0f}s")
        ids = dict(db.session.execute(select(Library.code, Library.id)).all())
        first, last_public = ids["LIB01"], ids[f"LIB{LIBRARIES - PRIVATE_LIBRARIES:02d}"]
        # Spread the copies over the libraries, then add copies until there are about two per record.
        db.session.execute(text(
            "UPDATE catalog_item SET library_id = :first + (id % :n), location_library_id = :first + (id % :n), "
            "status = CASE WHEN id % 10 = 0 THEN 'on_loan' ELSE status END, "
            "public = CASE WHEN :first + (id % :n) > :last_public THEN 0 ELSE 1 END"),
            {"first": first, "n": LIBRARIES, "last_public": last_public})
        have = db.session.scalar(select(func.count()).select_from(Item)) or 0
        extra = max(0, 2 * n - have)
        db.session.execute(text(
            "INSERT INTO catalog_item (record_id, barcode, accession_number, location_library_id, collection, "
            "call_class, call_author, call_title, item_type, status, status_changed_at, price, source, acquired_on, "
            "notes, public, lendable_network, withdrawn_reason, library_id, created_at, updated_at) "
            "SELECT record_id, 'X' || barcode, 'X' || accession_number, :first + ((id * 7) % :n), collection, "
            "call_class, call_author, call_title, item_type, "
            "CASE WHEN id % 9 = 0 THEN 'on_loan' ELSE 'available' END, status_changed_at, price, source, "
            "acquired_on, notes, CASE WHEN :first + ((id * 7) % :n) > :last_public THEN 0 ELSE 1 END, "
            "lendable_network, withdrawn_reason, :first + ((id * 7) % :n), created_at, updated_at "
            "FROM catalog_item ORDER BY id LIMIT :extra"),
            {"first": first, "n": LIBRARIES, "last_public": last_public, "extra": extra})
        db.session.execute(text("DELETE FROM catalog_index_change"))
        db.session.commit()
        counts = {"records": db.session.scalar(select(func.count()).select_from(Record)),
                  "items": db.session.scalar(select(func.count()).select_from(Item))}
        db.session.remove()
    return counts


def _queries(app: Any, count: int) -> list[str]:
    """1-3 word queries from title words of a random sample of records (seeded)."""
    from sqlalchemy import select

    from catalog.models import Record
    from catalog.text import STOP_WORDS, words
    from ils.extensions import db

    with app.app_context():
        titles = list(db.session.scalars(select(Record.title).order_by(Record.id).limit(20000)))
        db.session.remove()
    vocab = sorted({w for t in titles for w in words(t) if len(w) > 2 and w not in STOP_WORDS and not w.isdigit()})
    rng = random.Random(7)
    out = []
    for _ in range(count):
        title_words = [w for w in words(rng.choice(titles)) if w in vocab]
        k = rng.choice((1, 1, 2, 2, 3))
        picked = rng.sample(title_words, min(k, len(title_words))) if title_words else [rng.choice(vocab)]
        if rng.random() < 0.2:  # a word from elsewhere: fewer hits, some empty results
            picked.append(rng.choice(vocab))
        out.append(" ".join(picked[:3]))
    return out


def _time_opac(app: Any, queries: list[str]) -> dict[str, Any]:
    from catalog.services import discovery
    from ils.extensions import db

    with app.app_context():
        for text in queries[:20]:  # warm-up: segment values, stemmer cache, SQLite pages
            discovery.search_page(text=text)
        times, totals = [], []
        for text in queries:
            started = time.perf_counter()
            page = discovery.search_page(text=text)
            times.append((time.perf_counter() - started) * 1000)
            totals.append(page.total)
            assert len(page.facets.get("library", [])) > 0 or page.total == 0
        db.session.remove()
    return {"queries": len(times), "p50_ms": round(_pct(times, 50), 1), "p95_ms": round(_pct(times, 95), 1),
            "max_ms": round(max(times), 1), "median_hits": int(statistics.median(totals)), "max_hits": max(totals)}


def _plain_whoosh(app: Any, tmp: Path, queries: list[str]) -> dict[str, Any]:
    """The baseline: a plain Whoosh index and groupedby facets over the same records and queries."""
    from whoosh import index as windex
    from whoosh import sorting
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
    from whoosh.qparser import MultifieldParser

    from catalog.services import indexing
    from ils.extensions import db

    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer=StandardAnalyzer(), field_boost=2.0),
                    author=TEXT, subject=TEXT, isbn=KEYWORD(commas=True), year=NUMERIC(sortable=True),
                    language=ID(sortable=True), libraries=KEYWORD(commas=True, stored=True, vector=True))
    folder = tmp / "plain-index"
    folder.mkdir()
    ix = windex.create_in(str(folder), schema)
    started = time.perf_counter()
    with app.app_context():
        writer = ix.writer(procs=2, limitmb=256, multisegment=True)
        for doc in indexing._all_documents():
            writer.add_document(id=str(doc.record_id), title=doc.title, author=doc.authors,
                                subject=" ; ".join(doc.subjects), isbn=",".join(doc.isbns), year=doc.year or 0,
                                language=doc.language or "und", libraries=",".join(doc.libraries) or "none")
        writer.commit()
        db.session.remove()
    build_s = time.perf_counter() - started
    parser = MultifieldParser(["title", "author", "subject", "isbn"], schema=ix.schema)
    facets = {"library": sorting.FieldFacet("libraries", allow_overlap=True),
              "language": sorting.FieldFacet("language"), "year": sorting.FieldFacet("year")}
    times = []
    with ix.searcher() as searcher:
        for text in queries[:20]:
            searcher.search(parser.parse(text), limit=20, groupedby=facets)
        for text in queries:
            started = time.perf_counter()
            results = searcher.search(parser.parse(text), limit=20, groupedby=facets)
            for name in facets:
                results.groups(name)
            [hit["id"] for hit in results]
            times.append((time.perf_counter() - started) * 1000)
    return {"build_seconds": round(build_s, 1), "p50_ms": round(_pct(times, 50), 1),
            "p95_ms": round(_pct(times, 95), 1), "max_ms": round(max(times), 1)}


def _freshness(app: Any, tmp: Path, db_url: str, samples: int) -> dict[str, Any]:
    """Commit a change, then poll search until it shows; a real worker process applies it."""
    from sqlalchemy import select

    from catalog.models import Record
    from catalog.services import discovery, records
    from ils import jobs
    from ils.authz import Actor
    from ils.extensions import db

    redis_proc, redis_url = jobs.start_embedded_redis(str(tmp / "redis"))
    worker = None
    try:
        app.config["REDIS_URL"] = redis_url
        env = dict(os.environ, ILS_CONFIG="config.TestingConfig", DATABASE_URL=db_url, REDIS_URL=redis_url,
                   ILS_INSTANCE_PATH=app.instance_path, ILS_SEARCH_INDEX_DIR=app.config["ILS_SEARCH_INDEX_DIR"])
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "ils", "jobs", "worker", "search"],
                                  cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)  # the worker's start-up is not part of freshness
        delays = []
        with app.app_context():
            ids = list(db.session.scalars(select(Record.id).order_by(Record.id).limit(samples * 37)))[::37]
            for n, record_id in enumerate(ids[:samples]):
                word = f"segarbaru{n:04d}x"
                marc = records.marc_of(db.session.get(Record, record_id))
                for entry in marc["fields"]:
                    if "245" in entry:
                        entry["245"]["subfields"][0]["a"] = f"{word} "
                records.update_record(record_id=record_id, marc=marc, actor=Actor.system("cli:bench"))
                db.session.commit()
                started = time.perf_counter()
                while time.perf_counter() - started < 60:
                    total, found = discovery.find(discovery.query.Words("title", word), count=1)
                    if found == [record_id]:
                        break
                    time.sleep(0.05)
                delays.append(time.perf_counter() - started)
                db.session.remove()
        return {"samples": len(delays), "p50_s": round(_pct(delays, 50), 2), "p95_s": round(_pct(delays, 95), 2),
                "max_s": round(max(delays), 2)}
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _harvest(app: Any, db_url: str, prefix: str) -> dict[str, Any]:
    """A full OAI-PMH harvest with Sickle from a gunicorn worker; records/s and the worker's memory."""
    import socket
    import threading

    from sickle import Sickle

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, ILS_CONFIG="config.TestingConfig", DATABASE_URL=db_url,
               ILS_INSTANCE_PATH=app.instance_path, ILS_SEARCH_INDEX_DIR=app.config["ILS_SEARCH_INDEX_DIR"])
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "--timeout",
                               "300", "ils:create_app()"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/oai"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                Sickle(url).Identify()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.3)
        workers = _children(server.pid)
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(sum(_rss_mb(w) for w in workers))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        live = deleted = 0
        for record in Sickle(url, max_retries=3, timeout=300).ListRecords(metadataPrefix=prefix):
            if record.header.deleted:
                deleted += 1
            else:
                live += 1
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        return {"prefix": prefix, "records": live, "deleted_headers": deleted, "seconds": round(elapsed, 1),
                "rps": round((live + deleted) / elapsed, 1),
                "worker_rss_mb": {"first": round(samples[0], 1), "max": round(max(samples), 1),
                                  "last": round(samples[-1], 1)}}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(n: int, queries: int, samples: int) -> dict[str, Any]:
    """Build the catalog, reindex, time OPAC searches, the Whoosh baseline and freshness."""
    from catalog.services import indexing
    from ils import create_app
    from ils.extensions import db

    with tempfile.TemporaryDirectory(prefix="bench-search-") as name:
        tmp = Path(name)
        db_url = f"sqlite:///{tmp / 'search.sqlite'}"
        os.environ["ILS_INSTANCE_PATH"] = str(tmp / "instance")
        os.environ.pop("REDIS_URL", None)
        app = create_app("config.TestingConfig", overrides={
            "SQLALCHEMY_DATABASE_URI": db_url, "RATELIMIT_ENABLED": False,
            "ILS_SEARCH_INDEX_DIR": str(tmp / "instance" / "search-index")})
        counts = _build_catalog(app, tmp, n)
        with app.app_context():
            started = time.perf_counter()
            indexed = indexing.rebuild(progress=lambda done, total: done % 50000 == 0 and log(f"indexed {done}"))
            reindex_s = time.perf_counter() - started
            db.session.remove()
        log(f"reindex: {indexed} records in {reindex_s:.0f}s")
        words = _queries(app, queries)
        ours = _time_opac(app, words)
        log(f"opac: {ours}")
        plain = _plain_whoosh(app, tmp, words)
        log(f"plain whoosh groupedby: {plain}")
        fresh = _freshness(app, tmp, db_url, samples)
        log(f"freshness: {fresh}")
        harvest = _harvest(app, db_url, "marc21")
        log(f"oai harvest: {harvest}")
    reindex_rps = round(indexed / reindex_s, 1)
    return {
        "bench": "search", "python": platform.python_version(), "cpus": os.cpu_count(),
        "database": "sqlite (file, WAL)", "catalog": counts, "libraries": LIBRARIES,
        "reindex": {"records": indexed, "seconds": round(reindex_s, 1), "rps": reindex_rps},
        "opac": ours, "whoosh_groupedby": plain, "p95_ratio_groupedby_over_ours": round(plain["p95_ms"] / ours["p95_ms"], 1),
        "freshness": fresh, "oai_harvest": harvest,
        "targets_met": {"oai_harvest_rps>=1000": harvest["rps"] >= TARGETS["oai_rps"],"opac_p95_ms<=100": ours["p95_ms"] <= TARGETS["opac_p95_ms"],
                        "reindex_rps>=2500": reindex_rps >= TARGETS["reindex_rps"],
                        "freshness_p95_s<=5": fresh["p95_s"] <= TARGETS["freshness_p95_s"]},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--freshness-samples", type=int, default=40)
    args = parser.parse_args()
    print(json.dumps(main(args.records, args.queries, args.freshness_samples)))
