"""Circulation at city scale on PostgreSQL: API checkout/check-in under load, the 500-loan patron, SIP2.

One run, one JSON line on stdout (logs on stderr). It creates a private PostgreSQL database
(``bench_circ_<pid>``, dropped at the end, also on failure), migrates it, and generates the city:
30 libraries (open Mon-Sat 08:00-16:00), N/2 minimal MARC records, N items spread over the
libraries (unique barcodes), P patrons (category "umum", active, card numbers as
``patrons.card_number_for`` makes them, one shared PIN hash), a circulation-role staff account per
client and two SIP2 kiosk accounts. Rows go in with ``ils.bulk.insert_rows``; then VACUUM ANALYZE.
It starts its own redis-server (jobs and login rate limits) and measures:

- ``api``: gunicorn (2 sync workers: tech-baseline 7 measured sync best; ``--worker-class gthread``
  to compare) serving the app with DevelopmentConfig + DATABASE_URL/REDIS_URL/SECRET_KEY from the
  environment. C client threads (``http.client``, HTTP/1.1 over TCP, the session cookie kept by
  hand), each logged in through the real /login form (CSRF token) as staff of its own library, loop
  ``POST /api/v1/circulation/checkout`` {card, barcode, request_key} then ``POST .../checkin``
  {barcode} over their own items and patrons for S seconds after a warm-up. Client wall time per
  request: p50/p95/p99/max, requests/s per kind, every non-2xx or exception counted as an error.
  This is a saturation test (no pause between requests), so by Little's law the mean latency is
  clients / throughput; ``cpu_ms_per_request`` (gunicorn workers, PostgreSQL backends, Redis, the
  client) says what each request costs whatever else runs on the machine.
- ``api_paced``: the same clients for ``--paced-seconds``, each starting one cycle every
  ``--paced-interval`` seconds (default 1 s: 20 requests/s for 10 desks), i.e. the latency a desk
  sees when the servers are busy but not saturated.
- ``loans500``: one patron gets 500 active loans (rows inserted with the columns desk.checkout sets,
  those items on_loan). The default city rule caps max_loans_city at 10, so a circ_rule row for
  category "umum" at the A/B library raises both limits to 1000 (stated in the JSON). A patron
  with none and the 500-loan patron then check out and return fresh items of that library in
  interleaved rounds (A,B then B,A), through the API (one client, no other load) and in-process
  (``desk.checkout`` + commit, a new session per call, as a request has): both p50s and the ratio.
- ``sip2``: ``flask --app ils sip2 serve`` as a subprocess on the same database; a raw-socket kiosk
  logs in (93), then times 11 checkout + 09 checkin round trips over fresh items, once for a kiosk
  account that requires the patron PIN (AD sent, verified with argon2 at the production cost) and
  once for one that does not (require_pin off).

Targets (from the issue) stand next to the figures; nothing is asserted on time. The machine is
small and shared (client, server and PostgreSQL on the same 2 CPUs): ``cpu_seconds`` says who used
the CPU during the load window.

Run: ``.venv/bin/python bench/bench_circulation.py`` (50,000 patrons, 200,000 items, 10 clients,
60 s) or ``--patrons 5000 --items 20000 --seconds 10`` for a quick run. ``--profile FILE`` writes a
cProfile of the in-process 500-loan rounds. PostgreSQL: ``--pg`` (default
postgresql+psycopg://postgres@127.0.0.1/postgres, trust auth; the role must be allowed CREATE DATABASE).
"""
from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import platform
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
# `python bench/bench_circulation.py` puts bench/ on sys.path, not the repository root.
sys.path.insert(0, str(REPO))

LIBRARIES = 30
PATRONS_PER_CLIENT = 20
STAFF_PASSWORD = "Meja-Sirkulasi-2026!"
KIOSK_PASSWORD = "Kios-Lobi-2026!"
PIN = "2468"
LOANS_FOR_HEAVY_PATRON = 500
# The rest of the city's circulation, so the loan table and its statistics look like a lived-in year:
# a tenth of the copies on loan to other patrons (1-3 each, some overdue), and one returned, anonymised
# loan per copy from the past year.
ACTIVE_SHARE = 10
WEEKDAY_HOURS = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
TARGETS = {"api_p95_ms": 50.0, "loans500_ratio": 1.3, "sip2_checkout_p95_ms": 30.0}
API = "/api/v1/circulation"
WORDS = ("sejarah", "pengantar", "ekonomi", "hukum", "bahasa", "kimia", "biologi", "sastra", "budaya",
         "kalimantan", "bontang", "pesisir", "perikanan", "teknik", "manajemen", "pendidikan", "anak",
         "keluarga", "kesehatan", "pertanian", "dasar", "praktis", "panduan", "islam", "nusantara")


def log(message: str) -> None:
    print(f"[bench_circulation {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _summary(seconds: list[float]) -> dict[str, Any]:
    """Latency figures in milliseconds."""
    if not seconds:
        return {"count": 0}
    ms = [s * 1000 for s in seconds]
    return {"count": len(ms), "p50_ms": round(_pct(ms, 50), 2), "p95_ms": round(_pct(ms, 95), 2),
            "p99_ms": round(_pct(ms, 99), 2), "max_ms": round(max(ms), 2)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 60, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_file.read_text(errors="replace")[-2000:] if log_file and log_file.exists() else ""
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a process this script started (SIGTERM, then SIGKILL), by its own id."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process in clock ticks (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


# --- the private database ------------------------------------------------------------------------

def _driver_dsn(url: str, dbname: str) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy URL, with another database name."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts = {"host": u.host or "127.0.0.1", "port": u.port or 5432, "user": u.username or "postgres",
             "password": u.password, "dbname": dbname}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def _admin(pg_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_driver_dsn(pg_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _db_url(pg_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


# --- the city's data -----------------------------------------------------------------------------

def _app(db_url: str, redis_url: str, secret: str) -> Any:
    """The in-process app: the same configuration the servers get from their environment."""
    from ils import create_app

    return create_app("config.DevelopmentConfig", overrides={
        "SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis_url, "SECRET_KEY": secret,
        "RATELIMIT_STORAGE_URI": redis_url})


def _defaults(table: Any, given: set[str]) -> dict[str, Any]:
    """Column defaults the ORM would apply (scalar or callable), for the columns a bulk insert leaves out."""
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given or column.primary_key or column.default is None:
            continue
        if column.default.is_scalar:
            out[column.name] = column.default.arg
        elif column.default.is_callable:
            out[column.name] = column.default.arg(None)
    return out


def _bulk(table: Any, columns: list[str], rows: list[tuple[Any, ...]], chunk: int = 10_000) -> None:
    from ils.bulk import insert_rows
    from ils.extensions import db

    constants = _defaults(table, set(columns))
    for start in range(0, len(rows), chunk):
        insert_rows(table, columns, rows[start:start + chunk], constants)
        db.session.commit()


def _plan(n_patrons: int, n_items: int, clients: int, seed: int) -> dict[str, Any]:
    """Which libraries, items and patrons each part of the benchmark uses (all disjoint)."""
    rng = random.Random(seed)
    ab_lib, sip_lib = LIBRARIES - 2, LIBRARIES - 1
    quiet = [lib for lib in range(clients, ab_lib)]  # libraries nobody works at during the run

    def items_of(lib: int) -> list[int]:
        return list(range(lib, n_items, LIBRARIES))

    quiet_items = [i for i in range(n_items) if i % LIBRARIES in quiet]
    loaned = quiet_items[:LOANS_FOR_HEAVY_PATRON]
    pool = rng.sample(range(2, n_patrons), PATRONS_PER_CLIENT * (clients + 1))
    taken = set(pool)
    borrowers = [j for j in range(2, n_patrons) if j not in taken]
    city_loaned = quiet_items[LOANS_FOR_HEAVY_PATRON:][:max(0, n_items // ACTIVE_SHARE - LOANS_FOR_HEAVY_PATRON)]
    client_items = {c: items_of(c) for c in range(clients)}
    for c in client_items:
        rng.shuffle(client_items[c])
    return {
        "ab_lib": ab_lib, "sip_lib": sip_lib, "loaned_items": loaned,
        # (item, borrower) for the other active loans: consecutive items go to one borrower, 1-3 each.
        "city_loans": [(i, borrowers[(k * 2 // 5) % len(borrowers)]) for k, i in enumerate(city_loaned)],
        "client_items": client_items, "ab_items": items_of(ab_lib), "sip_items": items_of(sip_lib),
        "client_patrons": {c: pool[c * PATRONS_PER_CLIENT:(c + 1) * PATRONS_PER_CLIENT] for c in range(clients)},
        "sip_patrons": pool[clients * PATRONS_PER_CLIENT:],
        "ab_patrons": (0, 1),  # index 0: no loans, index 1: 500 active loans
    }


def barcode(index: int) -> str:
    """The barcode of the index-th generated item."""
    return f"BC{index:08d}"


def build(app: Any, pg_url: str, db_name: str, n_patrons: int, n_items: int, clients: int,
          plan: dict[str, Any]) -> dict[str, Any]:
    """Migrate, generate the city, the accounts, the rule row and the 500 loans; VACUUM ANALYZE."""
    import psycopg
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from catalog.models import Item, ItemStatus, Record, RecordKind
    from circulation import policy
    from circulation.models import CirculationRule, Loan, Patron, PatronStatus, SipAccount
    from circulation.services.patrons import card_number_for
    from ils.authz import Actor
    from ils.bulk import reserve_ids
    from ils.extensions import db
    from ils.models import Library, LibraryType, Role
    from ils.passwords import hash_password
    from ils.services import staff as staff_services

    timings: dict[str, float] = {}
    n_records = max(1, n_items // 2)
    with app.app_context():
        started = time.perf_counter()
        upgrade(directory=str(REPO / "migrations"))
        timings["migrate"] = time.perf_counter() - started
        log(f"migrate: {timings['migrate']:.1f}s")

        started = time.perf_counter()
        libs = []
        for i in range(LIBRARIES):
            kind = LibraryType.UMUM_KOTA if i == 0 else (LibraryType.KECAMATAN if i < 4 else LibraryType.KELURAHAN)
            libs.append(Library(code=f"BC{i + 1:02d}", name=f"Perpustakaan Bench {i + 1:02d}", type=kind,
                                opening_hours=WEEKDAY_HOURS))
        db.session.add_all(libs)
        db.session.commit()
        lib_ids = [lib.id for lib in libs]
        lib_codes = [lib.code for lib in libs]

        rng = random.Random(20261127)
        record_ids = reserve_ids(Record.__table__, n_records)
        rows = []
        for n, rid in enumerate(record_ids):
            title = " ".join(rng.choice(WORDS) for _ in range(3)).capitalize() + f" {n}"
            marc = {"leader": "00000nam a2200000 i 4500", "fields": [
                {"001": f"BENCH{rid:09d}"}, {"008": "261127s2026    io            000 0 ind d"},
                {"245": {"ind1": "0", "ind2": "0", "subfields": [{"a": title}]}}]}
            rows.append((rid, RecordKind.BIBLIOGRAPHIC, json.dumps(marc), "book", title, title.lower()[:200],
                         "ind", 1990 + n % 37))
        _bulk(Record.__table__, ["id", "kind", "marc", "material_type", "title", "title_sort", "language", "year"],
              rows)
        timings["records"] = time.perf_counter() - started
        log(f"records: {timings['records']:.1f}s")

        started = time.perf_counter()
        item_ids = reserve_ids(Item.__table__, n_items)
        rows = []
        for i, iid in enumerate(item_ids):
            lib = lib_ids[i % LIBRARIES]
            accession = f"{i + 1:07d}/{lib_codes[i % LIBRARIES]}/2026"
            rows.append((iid, record_ids[i // 2 % n_records], barcode(i), accession,
                         lib, lib, "GEN", "005.1", "ABC", "p", 45000))
        _bulk(Item.__table__, ["id", "record_id", "barcode", "accession_number", "library_id",
                               "location_library_id", "collection", "call_class", "call_author", "call_title",
                               "price"], rows)
        timings["items"] = time.perf_counter() - started
        log(f"items: {timings['items']:.1f}s")

        started = time.perf_counter()
        pin_hash = hash_password(PIN)  # one argon2 hash (production cost) shared by every card
        patron_ids = reserve_ids(Patron.__table__, n_patrons)
        cards = [card_number_for(pid) for pid in patron_ids]
        today = date.today()
        now = datetime.now(timezone.utc)
        rows = []
        for j, pid in enumerate(patron_ids):
            home = lib_ids[plan["ab_lib"]] if j in plan["ab_patrons"] else lib_ids[j % LIBRARIES]
            rows.append((pid, cards[j], f"Anggota Bench {j}", "umum", home, PatronStatus.ACTIVE,
                         today + timedelta(days=365 + j % 365), pin_hash, now, today))
        _bulk(Patron.__table__, ["id", "card_number", "name", "category_code", "home_library_id", "status",
                                 "expiry_date", "pin_hash", "approved_at", "last_activity_on"], rows)
        timings["patrons"] = time.perf_counter() - started
        log(f"patrons: {timings['patrons']:.1f}s")

        started = time.perf_counter()
        system = Actor.system("cli:bench")
        staff = []
        for c in list(range(clients)) + [plan["ab_lib"]]:
            username = f"bench_meja{c:02d}"
            staff_services.create_staff(actor=system, password=STAFF_PASSWORD, data={
                "username": username, "full_name": f"Petugas Bench {c:02d}", "role": Role.CIRCULATION.value,
                "library_id": lib_ids[c]})
            staff.append(username)
        kiosk_hash = hash_password(KIOSK_PASSWORD)
        db.session.add_all([
            SipAccount(login="bench-kiosk-pin", password_hash=kiosk_hash, library_id=lib_ids[plan["sip_lib"]],
                       label="Bench kiosk (PIN)", require_pin=True),
            SipAccount(login="bench-kiosk-nopin", password_hash=kiosk_hash, library_id=lib_ids[plan["sip_lib"]],
                       label="Bench kiosk (no PIN pad)", require_pin=False)])
        # The seeded city rule caps loans at 10 city-wide; the A/B library's own row for "umum" allows 1000.
        rule = CirculationRule(library_id=lib_ids[plan["ab_lib"]], category_code="umum", item_type="*",
                               loanable=True, loan_days=7, max_loans_library=1000, max_loans_city=1000, renewals=1,
                               renewal_days=7, fine_per_day=500, fine_cap=25000, grace_days=0, holds_allowed=True,
                               hold_shelf_days=3, other_libraries=True, note="bench: 500 active loans allowed")
        db.session.add(rule)
        db.session.commit()

        heavy_id, heavy_home = patron_ids[plan["ab_patrons"][1]], lib_ids[plan["ab_lib"]]
        terms = policy.terms_of(rule)
        loaned = plan["loaned_items"]
        loan_rows = []
        for k, i in enumerate(loaned):
            out_at = now - timedelta(days=k % 6, minutes=k)
            loan_rows.append((item_ids[i], record_ids[i // 2 % n_records], heavy_id, "umum", heavy_home,
                              lib_ids[i % LIBRARIES], lib_ids[i % LIBRARIES], rule.id, terms, out_at,
                              out_at + timedelta(days=14), "desk", f"bench:{i}"))
        _bulk(Loan.__table__, ["item_id", "record_id", "patron_id", "patron_category", "patron_home_library_id",
                               "library_id", "item_library_id", "rule_id", "terms", "checked_out_at", "due_at",
                               "channel", "actor_label"], loan_rows)
        db.session.execute(text("UPDATE catalog_item SET status = :s, status_changed_at = :now WHERE id = ANY(:ids)"),
                           {"s": ItemStatus.ON_LOAN.value, "now": now,
                            "ids": [item_ids[i] for i in loaned]})
        db.session.commit()
        active = db.session.scalar(select(func.count()).select_from(Loan).where(
            Loan.patron_id == heavy_id, Loan.returned_at.is_(None)))
        timings["accounts_rule_loans"] = time.perf_counter() - started

        started = time.perf_counter()
        city_rule = db.session.scalar(select(CirculationRule).where(CirculationRule.library_id.is_(None))
                                      .order_by(CirculationRule.id).limit(1))
        city_terms, city_rule_id = policy.terms_of(city_rule), city_rule.id
        loan_rows = []
        for k, (i, j) in enumerate(plan["city_loans"]):  # about one in seven overdue
            out_at = now - timedelta(days=k % 21, minutes=k % 600)
            loan_rows.append((item_ids[i], record_ids[i // 2 % n_records], patron_ids[j], "umum",
                              lib_ids[j % LIBRARIES], lib_ids[i % LIBRARIES], lib_ids[i % LIBRARIES], city_rule_id,
                              city_terms, out_at, out_at + timedelta(days=18), "desk", "bench:city"))
        history = random.Random(11)
        for i in range(n_items):  # returned and anonymised (patron_id NULL), over the past year
            out_at = now - timedelta(days=history.randint(8, 365), minutes=history.randint(0, 600))
            back_at = out_at + timedelta(days=history.randint(1, 20))
            loan_rows.append((item_ids[i], record_ids[i // 2 % n_records], None, "umum", lib_ids[i % LIBRARIES],
                              lib_ids[i % LIBRARIES], lib_ids[i % LIBRARIES], city_rule_id, city_terms, out_at,
                              out_at + timedelta(days=14), "desk", "bench:history", back_at,
                              lib_ids[i % LIBRARIES], True))
        active_rows = len(plan["city_loans"])
        _bulk(Loan.__table__, ["item_id", "record_id", "patron_id", "patron_category", "patron_home_library_id",
                               "library_id", "item_library_id", "rule_id", "terms", "checked_out_at", "due_at",
                               "channel", "actor_label"], loan_rows[:active_rows])
        _bulk(Loan.__table__, ["item_id", "record_id", "patron_id", "patron_category", "patron_home_library_id",
                               "library_id", "item_library_id", "rule_id", "terms", "checked_out_at", "due_at",
                               "channel", "actor_label", "returned_at", "return_library_id", "anonymised"],
              loan_rows[active_rows:])
        db.session.execute(text("UPDATE catalog_item SET status = :s, status_changed_at = :now WHERE id = ANY(:ids)"),
                           {"s": ItemStatus.ON_LOAN.value, "now": now,
                            "ids": [item_ids[i] for i, _j in plan["city_loans"]]})
        db.session.commit()
        city_active = db.session.scalar(select(func.count()).select_from(Loan).where(
            Loan.returned_at.is_(None))) - active
        city_history = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_not(None)))
        timings["city_loans"] = time.perf_counter() - started
        rule_id = rule.id
        db.session.remove()
        db.engine.dispose()

    started = time.perf_counter()
    with psycopg.connect(_driver_dsn(pg_url, db_name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        size_mb = conn.execute("SELECT pg_database_size(current_database()) / 1e6").fetchone()[0]
    timings["vacuum_analyze"] = time.perf_counter() - started
    return {"lib_ids": lib_ids, "lib_codes": lib_codes, "cards": cards, "staff": staff,
            "heavy_active_loans": active, "city_active_loans": city_active, "city_returned_loans": city_history,
            "rule_id": rule_id, "database_mb": round(float(size_mb), 1),
            "timings": {k: round(v, 1) for k, v in timings.items()}, "records": n_records}


# --- the JSON API ---------------------------------------------------------------------------------

class ApiClient:
    """A staff member's browser session: real login form, then JSON calls with the X-CSRFToken header.

    Plain ``http.client`` over TCP (HTTP/1.1) with the cookies kept by hand: the client threads share
    the machine with the servers they measure, and ``requests`` cost them about three times as much
    CPU per call. The connection is reused while the server keeps it open (gunicorn's sync workers
    close it after each answer, so those requests each open a new one, as a browser would).
    """

    def __init__(self, base: str, username: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.username = username
        self.cookies: dict[str, str] = {}
        self.token = ""
        self.conn: http.client.HTTPConnection | None = None

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request and its whole answer (status, headers, body); cookies taken from Set-Cookie."""
        send = dict(headers or {})
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=send)
                answer = self.conn.getresponse()
                data = answer.read()
                break
            except (ConnectionError, http.client.HTTPException):
                # A kept-alive connection the server closed meanwhile: retry once on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if answer.will_close:
            self.conn.close()
            self.conn = None
        for line in answer.headers.get_all("Set-Cookie") or ():
            pair, _, attributes = line.partition(";")
            name, _, value = pair.strip().partition("=")
            if not value or "max-age=0" in attributes.lower() or "expires=thu, 01 jan 1970" in attributes.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer.status, answer.headers, data

    def login(self) -> None:
        """GET /login, POST the form with its CSRF token, then fetch an API token."""
        _status, _headers, page = self._request("GET", "/login")
        tag = re.search(r"<input[^>]*name=\"csrf_token\"[^>]*>", page.decode())
        value = re.search(r"value=\"([^\"]+)\"", tag.group(0)) if tag else None
        if value is None:
            raise RuntimeError("no csrf_token on the login page")
        form = urlencode({"csrf_token": value.group(1), "username": self.username, "password": STAFF_PASSWORD})
        status, _headers, _body = self._request("POST", "/login", form.encode(),
                                                {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login of {self.username} answered {status}")
        status, headers, _body = self._request("GET", f"{API}/patrons?q=Bench")
        if status != 200 or "X-CSRFToken" not in headers:
            raise RuntimeError(f"API probe answered {status}")
        self.token = headers["X-CSRFToken"]

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, float, str]:
        """(status, seconds, body text if not 2xx); status 0 is an exception."""
        started = time.perf_counter()
        try:
            status, headers, data = self._request("POST", f"{API}/{path}", json.dumps(body).encode(), {
                "Content-Type": "application/json", "X-CSRFToken": self.token})
        except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
            return 0, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:200]
        elapsed = time.perf_counter() - started
        self.token = headers.get("X-CSRFToken", self.token)
        return status, elapsed, "" if 200 <= status < 300 else data.decode(errors="replace")[:200]


def _gunicorn_args(worker_class: str, threads: int) -> list[str]:
    """Two workers (the issue's setup) of the chosen class; gthread also gets its threads per worker."""
    args = ["-w", "2", "-k", worker_class]
    return args + ["--threads", str(threads)] if worker_class == "gthread" else args


def _start_gunicorn(env: dict[str, str], tmp: Path, worker_class: str = "sync",
                    threads: int = 4) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    errors = (tmp / "gunicorn.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", *_gunicorn_args(worker_class, threads),
                             "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning",
                             "ils:create_app()"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    _wait_for_port(port, proc, log_file=tmp / "gunicorn.log")
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the port opens before a worker has imported the app
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=10).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.3)
    return proc, port


def load_test(sessions: list[ApiClient], cards: list[str], plan: dict[str, Any], seconds: float, warmup: int,
              cpu_pids: dict[str, Any], interval: float = 0.0, offset: int = 0) -> dict[str, Any]:
    """Each logged-in client loops checkout then check-in on its own items and patrons; per-request latency.

    ``interval`` 0: back to back (saturation). Otherwise each client starts a cycle every ``interval``
    seconds (staggered), as desks that scan at a steady pace do; a late cycle starts at once.
    ``offset`` moves each client along its item list, so a second phase uses other copies first.
    """
    clients = len(sessions)
    barrier = threading.Barrier(clients + 1)
    window: dict[str, float] = {}
    results: list[dict[str, Any]] = [{} for _ in range(clients)]

    def run(c: int) -> None:
        client = sessions[c]
        items = [barcode(i) for i in plan["client_items"][c]]
        patrons = [cards[j] for j in plan["client_patrons"][c]]
        out = {"checkout": [], "checkin": [], "errors": Counter(), "samples": [], "cycles": 0}
        n = offset

        def cycle(record: bool) -> None:
            nonlocal n
            code = items[n % len(items)]
            card = patrons[n % len(patrons)]
            n += 1
            for kind, body in (("checkout", {"card": card, "barcode": code, "request_key": uuid.uuid4().hex}),
                               ("checkin", {"barcode": code})):
                status, elapsed, text = client.post(kind, body)
                if not record:
                    continue
                out[kind].append(elapsed)
                if not 200 <= status < 300:
                    out["errors"][f"{kind} {status}"] += 1
                    if len(out["samples"]) < 3:
                        out["samples"].append(f"{kind} {status}: {text}")
            if record:
                out["cycles"] += 1

        try:
            try:
                for _ in range(warmup):
                    cycle(False)
            finally:
                barrier.wait()
            end = window["end"]
            next_at = window["start"] + interval * c / clients
            while time.perf_counter() < end:
                if interval:
                    pause = next_at - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    next_at += interval
                    if time.perf_counter() >= end:
                        break
                cycle(True)
        except Exception as exc:  # noqa: BLE001 - a crashed client is reported, not hidden
            out["errors"][f"client crashed: {type(exc).__name__}"] += 1
            out["samples"].append(f"{type(exc).__name__}: {exc}"[:200])
        out["finished"] = time.perf_counter()
        results[c] = out

    # Daemon threads: an interrupted run (Ctrl+C, SIGTERM) ends at once, after the finally blocks.
    threads = [threading.Thread(target=run, args=(c,), name=f"client-{c}", daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    # Each thread waits at the barrier after its warm-up; the main thread is the last party, so the
    # window's end is set just before everyone is released.
    while barrier.n_waiting < clients:
        time.sleep(0.01)
    start = time.perf_counter()
    window["start"], window["end"] = start, start + seconds
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    server_pids, redis_pid = cpu_pids["gunicorn"], cpu_pids["redis"]
    server_before = {pid: _cpu_ticks(pid) for pid in server_pids}
    redis_before = _cpu_ticks(redis_pid)
    db_before = {pid: _cpu_ticks(pid) for pid in cpu_pids["postgres"]()}
    barrier.wait()
    for thread in threads:
        thread.join()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    finished = max(r["finished"] for r in results)
    elapsed = finished - start
    tick = os.sysconf("SC_CLK_TCK")
    db_after = {pid: _cpu_ticks(pid) for pid in cpu_pids["postgres"]()}
    checkout = [s for r in results for s in r["checkout"]]
    checkin = [s for r in results for s in r["checkin"]]
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
    figures = {
        "clients": clients, "pace": f"one cycle per client every {interval} s" if interval else "back to back",
        "window_s": round(elapsed, 2), "cycles": sum(r["cycles"] for r in results),
        "checkout": {**_summary(checkout), "rps": round(len(checkout) / elapsed, 1)},
        "checkin": {**_summary(checkin), "rps": round(len(checkin) / elapsed, 1)},
        "all_requests": {**_summary(checkout + checkin), "rps": round((len(checkout) + len(checkin)) / elapsed, 1)},
        "errors": sum(errors.values()), "errors_by_kind": dict(errors),
        "error_samples": [s for r in results for s in r["samples"]][:5],
        "cpu_seconds": {
            "client_threads": round((cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime
                                                                                  + cpu_before.ru_stime), 1),
            "gunicorn_workers": round(sum(_cpu_ticks(p) - server_before[p] for p in server_pids) / tick, 1),
            "postgres_backends": round(sum(db_after[p] - db_before.get(p, 0) for p in db_after) / tick, 1),
            "redis": round((_cpu_ticks(redis_pid) - redis_before) / tick, 1),
            "available": round(elapsed * (os.cpu_count() or 1), 1)},
    }
    # CPU per request is what the servers would need on an idle machine: less noisy than wall time.
    requests_done = max(1, len(checkout) + len(checkin))
    figures["cpu_ms_per_request"] = {
        "gunicorn_workers": round(1000 * figures["cpu_seconds"]["gunicorn_workers"] / requests_done, 1),
        "postgres_backends": round(1000 * figures["cpu_seconds"]["postgres_backends"] / requests_done, 1),
        "client": round(1000 * figures["cpu_seconds"]["client_threads"] / requests_done, 1),
        "redis": round(1000 * figures["cpu_seconds"]["redis"] / requests_done, 1)}
    return figures


# --- the 500-loan patron --------------------------------------------------------------------------

def ab_api(base: str, username: str, cards: tuple[str, str], items: list[str], rounds: int,
           warmup: int) -> dict[str, Any]:
    """Interleaved rounds through the API (one client, nothing else running)."""
    client = ApiClient(base, username)
    client.login()
    times: dict[str, dict[str, list[float]]] = {"none": {"checkout": [], "checkin": []},
                                                "loans500": {"checkout": [], "checkin": []}}
    errors: Counter[str] = Counter()
    samples: list[str] = []
    stream = iter(items)
    for r in range(warmup + rounds):
        order = [("none", cards[0]), ("loans500", cards[1])]
        if r % 2:
            order.reverse()
        for who, card in order:
            code = next(stream)
            for kind, body in (("checkout", {"card": card, "barcode": code, "request_key": uuid.uuid4().hex}),
                               ("checkin", {"barcode": code})):
                status, elapsed, text = client.post(kind, body)
                if r < warmup:
                    continue
                times[who][kind].append(elapsed)
                if not 200 <= status < 300:
                    errors[f"{who} {kind} {status}"] += 1
                    if len(samples) < 3:
                        samples.append(f"{who} {kind} {status}: {text}")
    return _ab_figures(times, rounds) | {"errors": sum(errors.values()), "errors_by_kind": dict(errors),
                                         "error_samples": samples}


def ab_service(app: Any, library_id: int, cards: tuple[str, str], items: list[str], rounds: int, warmup: int,
               profile: str | None) -> dict[str, Any]:
    """Interleaved rounds calling desk.checkout/checkin in this process, a new session per call."""
    from circulation.services import desk
    from circulation.services.common import CheckFailed
    from ils.authz import Actor
    from ils.extensions import db
    from ils.models import Role

    actor = Actor(label="bench:ab", role=Role.CIRCULATION, library_id=library_id)
    times: dict[str, dict[str, list[float]]] = {"none": {"checkout": [], "checkin": []},
                                                "loans500": {"checkout": [], "checkin": []}}
    errors: Counter[str] = Counter()
    profiler = cProfile.Profile() if profile else None
    stream = iter(items)
    with app.app_context():
        for r in range(warmup + rounds):
            order = [("none", cards[0]), ("loans500", cards[1])]
            if r % 2:
                order.reverse()
            for who, card in order:
                code = next(stream)
                if profiler and r >= warmup:
                    profiler.enable()
                started = time.perf_counter()
                try:
                    desk.checkout(actor=actor, card_number=card, barcode=code, library_id=library_id,
                                  now=datetime.now(timezone.utc), request_key=uuid.uuid4().hex, channel="api")
                    db.session.commit()
                except CheckFailed as exc:
                    db.session.rollback()
                    errors[f"{who} checkout {','.join(exc.codes)}"] += 1
                middle = time.perf_counter()
                db.session.remove()
                middle_after_remove = time.perf_counter()
                desk.checkin(actor=actor, barcode=code, library_id=library_id, now=datetime.now(timezone.utc),
                             channel="api")
                db.session.commit()
                ended = time.perf_counter()
                db.session.remove()
                if profiler and r >= warmup:
                    profiler.disable()
                if r >= warmup:
                    times[who]["checkout"].append(middle - started)
                    times[who]["checkin"].append(ended - middle_after_remove)
    if profiler and profile:
        profiler.dump_stats(profile)
    return _ab_figures(times, rounds) | {"errors": sum(errors.values()), "errors_by_kind": dict(errors)}


def _ab_figures(times: dict[str, dict[str, list[float]]], rounds: int) -> dict[str, Any]:
    none, heavy = times["none"], times["loans500"]
    return {"rounds": rounds, "none": {k: _summary(v) for k, v in none.items()},
            "loans500": {k: _summary(v) for k, v in heavy.items()},
            "checkout_p50_ratio": round(_pct(heavy["checkout"], 50) / _pct(none["checkout"], 50), 3),
            "checkin_p50_ratio": round(_pct(heavy["checkin"], 50) / _pct(none["checkin"], 50), 3)}


# --- SIP2 -----------------------------------------------------------------------------------------

class Kiosk:
    """A raw-socket self-check machine."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.sequence = 0

    def ask(self, body: str) -> tuple[bytes, float]:
        """Send one request (with AY and AZ) and read its response; (response, seconds)."""
        from circulation.sip2.protocol import checksum

        data = f"{body}AY{self.sequence % 10}AZ".encode()
        data += checksum(data).encode("ascii") + b"\r"
        self.sequence += 1
        started = time.perf_counter()
        self.socket.sendall(data)
        while b"\r" not in self.buffer:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the SIP2 server")
            self.buffer += chunk
        response, _, self.buffer = self.buffer.partition(b"\r")
        return response, time.perf_counter() - started

    def close(self) -> None:
        """Close the connection."""
        self.socket.close()


def sip2_rounds(port: int, login: str, library_code: str, cards: list[str], items: list[str], rounds: int,
                warmup: int, *, pin: bool) -> dict[str, Any]:
    """Log a kiosk in (93), then time 11 checkout and 09 checkin round trips."""
    from circulation.sip2.protocol import format_sip_date, parse_frame

    zone = ZoneInfo("Asia/Makassar")
    kiosk = Kiosk(port)
    times: dict[str, list[float]] = {"checkout": [], "checkin": []}
    failures: Counter[str] = Counter()
    samples: list[str] = []
    try:
        reply, _ = kiosk.ask(f"9300CN{login}|CO{KIOSK_PASSWORD}|CPBENCH|")
        if parse_frame(reply).fixed.get("ok") != "1":
            raise RuntimeError(f"kiosk login refused: {reply!r}")
        stream = iter(items)
        for r in range(warmup + rounds):
            code, card = next(stream), cards[r % len(cards)]
            tx = format_sip_date(datetime.now(timezone.utc), zone)
            ad = f"AD{PIN}|" if pin else ""
            for kind, body in (("checkout", f"11YN{tx}{' ' * 18}AO{library_code}|AA{card}|AB{code}|AC|{ad}"),
                               ("checkin", f"09N{tx}{tx}AP{library_code}|AO{library_code}|AB{code}|AC|")):
                reply, elapsed = kiosk.ask(body)
                if r < warmup:
                    continue
                times[kind].append(elapsed)
                answer = parse_frame(reply)
                if answer.fixed.get("ok") != "1":
                    failures[kind] += 1
                    if len(samples) < 3:
                        samples.append(f"{kind}: {answer.get('AF')}")
    finally:
        kiosk.close()
    return {"kiosk_requires_pin": pin, "rounds": rounds, "checkout": _summary(times["checkout"]),
            "checkin": _summary(times["checkin"]), "not_ok": sum(failures.values()),
            "not_ok_by_kind": dict(failures), "not_ok_samples": samples}


# --- the run ----------------------------------------------------------------------------------------

def main(args: argparse.Namespace) -> dict[str, Any]:
    """Database, data, servers, the three measurements; everything stopped and dropped at the end."""
    import gunicorn
    import psycopg
    import requests
    import sqlalchemy

    wall = time.perf_counter()
    load_start = round(os.getloadavg()[0], 2)
    db_name = f"bench_circ_{os.getpid()}"
    plan = _plan(args.patrons, args.items, args.clients, seed=7)
    need = 2 * (args.ab_rounds + args.warmup) * 2
    if len(plan["ab_items"]) < need or len(plan["sip_items"]) < 2 * (args.sip2_rounds + args.warmup):
        raise SystemExit("too few items per library for these rounds: raise --items or lower the rounds")
    secret = secrets.token_urlsafe(48)
    redis_proc = gunicorn_proc = sip_proc = None
    created = False
    with tempfile.TemporaryDirectory(prefix="bench-circ-") as name:
        tmp = Path(name)
        try:
            redis_port = _free_port()
            redis_proc = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _wait_for_port(redis_port, redis_proc)
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            _admin(args.pg, f'CREATE DATABASE "{db_name}"')
            created = True
            db_url = _db_url(args.pg, db_name)
            os.environ["ILS_INSTANCE_PATH"] = str(tmp / "instance")
            app = _app(db_url, redis_url, secret)
            log(f"database {db_name}: generating {args.patrons} patrons, {args.items} items")
            started = time.perf_counter()
            city = build(app, args.pg, db_name, args.patrons, args.items, args.clients, plan)
            setup_s = time.perf_counter() - started
            log(f"built in {setup_s:.0f}s: {city['timings']}, {city['database_mb']} MB")
            cards, lib_ids, lib_codes = city["cards"], city["lib_ids"], city["lib_codes"]

            env = dict(os.environ, ILS_CONFIG="config.DevelopmentConfig", DATABASE_URL=db_url, REDIS_URL=redis_url,
                       SECRET_KEY=secret, ILS_INSTANCE_PATH=str(tmp / "instance"))
            gunicorn_proc, port = _start_gunicorn(env, tmp, args.worker_class, args.threads)
            base = f"http://127.0.0.1:{port}"
            workers = _children(gunicorn_proc.pid)

            def db_pids() -> list[int]:
                with psycopg.connect(_driver_dsn(args.pg, "postgres"), autocommit=True) as conn:
                    return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                       (db_name,))]

            cpu_pids = {"gunicorn": workers, "redis": redis_proc.pid, "postgres": db_pids}
            sessions = []
            for c in range(args.clients):  # log in once: the login form allows 20 POSTs a minute per IP
                client = ApiClient(base, city["staff"][c])
                client.login()
                sessions.append(client)
            log(f"gunicorn on {base} (workers {workers}); {args.clients} clients for {args.seconds}s")
            api = load_test(sessions, cards, plan, args.seconds, args.warmup, cpu_pids)
            log(f"api: checkout {api['checkout']}, checkin {api['checkin']}, errors {api['errors']}")
            paced = None
            if args.paced_seconds > 0:
                paced = load_test(sessions, cards, plan, args.paced_seconds, 2, cpu_pids,
                                  interval=args.paced_interval, offset=len(plan["client_items"][0]) // 2)
                log(f"api paced: checkout {paced['checkout']}, checkin {paced['checkin']}, errors {paced['errors']}")

            ab_cards = (cards[plan["ab_patrons"][0]], cards[plan["ab_patrons"][1]])
            ab_items = [barcode(i) for i in plan["ab_items"]]
            half = len(ab_items) // 2
            ab_via_api = ab_api(base, city["staff"][-1], ab_cards, ab_items[:half], args.ab_rounds, args.warmup)
            log(f"500 loans via API: ratio {ab_via_api['checkout_p50_ratio']}")
            _stop(gunicorn_proc)
            ab_in_process = ab_service(app, lib_ids[plan["ab_lib"]], ab_cards, ab_items[half:], args.ab_rounds,
                                       args.warmup, args.profile)
            log(f"500 loans in process: ratio {ab_in_process['checkout_p50_ratio']}")

            sip_port = _free_port()
            sip_log = (tmp / "sip2.log").open("wb")
            sip_proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "ils", "sip2", "serve", "--host",
                                         "127.0.0.1", "--port", str(sip_port)], cwd=REPO, env=env,
                                        stdout=subprocess.DEVNULL, stderr=sip_log)
            _wait_for_port(sip_port, sip_proc, log_file=tmp / "sip2.log")
            sip_items = [barcode(i) for i in plan["sip_items"]]
            sip_cards = [cards[j] for j in plan["sip_patrons"]]
            half = len(sip_items) // 2
            code = lib_codes[plan["sip_lib"]]
            sip_pin = sip2_rounds(sip_port, "bench-kiosk-pin", code, sip_cards, sip_items[:half], args.sip2_rounds,
                                  args.warmup, pin=True)
            sip_nopin = sip2_rounds(sip_port, "bench-kiosk-nopin", code, sip_cards, sip_items[half:],
                                    args.sip2_rounds, args.warmup, pin=False)
            log(f"sip2: with PIN {sip_pin['checkout']}, without {sip_nopin['checkout']}")
            _stop(sip_proc)

            from sqlalchemy import func, select

            from circulation.models import Loan
            from ils.extensions import db

            with app.app_context():
                seeded = city["heavy_active_loans"] + city["city_active_loans"]
                left_open = db.session.scalar(select(func.count()).select_from(Loan).where(
                    Loan.returned_at.is_(None))) - seeded
                loans_made = db.session.scalar(select(func.count()).select_from(Loan)) - seeded \
                    - city["city_returned_loans"]
                server_version = db.session.scalar(sqlalchemy.text("SHOW server_version"))
                db.session.remove()
                db.engine.dispose()
        finally:
            for proc in (sip_proc, gunicorn_proc):
                _stop(proc)
            if created:
                try:
                    _admin(args.pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                    log(f"dropped {db_name}")
                except Exception as exc:  # noqa: BLE001 - the run's own error matters more
                    log(f"could not drop {db_name}: {exc}")
            _stop(redis_proc)

    targets_met = {
        "api_p95_ms<=50 (checkout)": api["checkout"]["p95_ms"] <= TARGETS["api_p95_ms"],
        "api_p95_ms<=50 (checkin)": api["checkin"]["p95_ms"] <= TARGETS["api_p95_ms"],
        "loans500_ratio<=1.3 (api)": ab_via_api["checkout_p50_ratio"] <= TARGETS["loans500_ratio"],
        "loans500_ratio<=1.3 (in process)": ab_in_process["checkout_p50_ratio"] <= TARGETS["loans500_ratio"],
        "sip2_checkout_p95_ms<=30 (PIN kiosk)": sip_pin["checkout"]["p95_ms"] <= TARGETS["sip2_checkout_p95_ms"],
        "sip2_checkout_p95_ms<=30 (no-PIN kiosk)": sip_nopin["checkout"]["p95_ms"] <= TARGETS["sip2_checkout_p95_ms"],
        "no_errors": api["errors"] == 0 and (paced or {}).get("errors", 0) == 0 and ab_via_api["errors"] == 0
                     and ab_in_process["errors"] == 0
                     and sip_pin["not_ok"] == 0 and sip_nopin["not_ok"] == 0,
        "no_loans_left_open": left_open == 0,
    }
    return {
        "bench": "circulation",
        "parameters": {"patrons": args.patrons, "items": args.items, "records": city["records"],
                       "libraries": LIBRARIES, "clients": args.clients, "seconds": args.seconds,
                       "warmup_cycles": args.warmup, "ab_rounds": args.ab_rounds, "sip2_rounds": args.sip2_rounds},
        "setup": {"database": f"{db_name} (private, dropped at the end)", "database_mb": city["database_mb"],
                  "seconds": round(setup_s, 1), "steps_s": city["timings"],
                  "server": "gunicorn " + " ".join(_gunicorn_args(args.worker_class, args.threads)),
                  "config": "config.DevelopmentConfig + DATABASE_URL, REDIS_URL, SECRET_KEY (random) from the "
                            "environment; argon2 at production cost",
                  "redis": "own redis-server on 127.0.0.1 (started and stopped by the bench)",
                  "search_worker": "none: the first change queues the index job, later requests find it queued",
                  "rule": "circ_rule row: library = the A/B library, category umum, item type *, "
                          "max_loans_library = max_loans_city = 1000 (city default: 3 / 10)"},
        "api": api,
        "api_paced": paced,
        "loans500": {"heavy_patron_active_loans": city["heavy_active_loans"], "api": ab_via_api,
                     "in_process": ab_in_process},
        "sip2": {"with_pin": sip_pin, "without_pin": sip_nopin},
        "loans_made": loans_made, "loans_left_open": left_open,
        "targets": {"api_p95_ms": TARGETS["api_p95_ms"], "loans500_checkout_p50_ratio": TARGETS["loans500_ratio"],
                    "sip2_checkout_p95_ms": TARGETS["sip2_checkout_p95_ms"]},
        "measured": {"api_checkout_p95_ms": api["checkout"]["p95_ms"], "api_checkin_p95_ms": api["checkin"]["p95_ms"],
                     "loans500_ratio_api": ab_via_api["checkout_p50_ratio"],
                     "loans500_ratio_in_process": ab_in_process["checkout_p50_ratio"],
                     "sip2_checkout_p95_ms_pin": sip_pin["checkout"]["p95_ms"],
                     "sip2_checkout_p95_ms_no_pin": sip_nopin["checkout"]["p95_ms"]},
        "targets_met": targets_met,
        "versions": {"python": platform.python_version(), "postgresql": server_version,
                     "gunicorn": gunicorn.__version__, "sqlalchemy": sqlalchemy.__version__,
                     "psycopg": psycopg.__version__, "requests": requests.__version__},
        "cpus": os.cpu_count(),
        # Other processes on the shared CPUs disturb every figure: the 1-minute load at the start and the end.
        "loadavg_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
        "wall_seconds": round(time.perf_counter() - wall, 1),
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--patrons", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0, help="load window of the API test")
    parser.add_argument("--paced-seconds", type=float, default=20.0,
                        help="a second API window at a steady desk pace (0: skip)")
    parser.add_argument("--paced-interval", type=float, default=1.0,
                        help="seconds between the cycles of one client in the paced window")
    parser.add_argument("--warmup", type=int, default=10, help="unrecorded cycles before each measurement")
    parser.add_argument("--ab-rounds", type=int, default=150, help="interleaved rounds of the 500-loan test")
    parser.add_argument("--sip2-rounds", type=int, default=200, help="checkout+checkin round trips per kiosk")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync",
                        help="gunicorn worker class of the 2 workers (sync: the issue's setup)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker with gthread")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1/postgres",
                        help="PostgreSQL server (any database; the bench creates and drops its own)")
    parser.add_argument("--profile", default=None, help="write a cProfile of the in-process 500-loan rounds")
    args = parser.parse_args()
    if not 1 <= args.clients <= LIBRARIES - 3:
        parser.error(f"--clients must be 1..{LIBRARIES - 3} (one library each)")
    if args.patrons < PATRONS_PER_CLIENT * (args.clients + 1) + 2:
        parser.error("too few patrons for this many clients")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # runs the finally blocks: servers stopped, database dropped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    arguments = _arguments()
    if arguments.profile:
        arguments.profile = str(Path(arguments.profile).resolve())
    print(json.dumps(main(arguments)))
