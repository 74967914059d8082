"""Shared fixtures: one app per session on SQLite (default) or PostgreSQL (DATABASE_URL).

The schema is built by the migrations (not create_all), so every run also proves they work.
Each test starts from empty tables and an empty fake Redis.
"""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import Integer, text
from werkzeug.serving import make_server

from catalog import search
from circulation.services.common import forget_shared
from ils import create_app, jobs
from ils.extensions import db
from tests import factories
from tests.mail_servers import hook, smtp  # noqa: F401  (fixtures for every test module)

REPO = Path(__file__).resolve().parent.parent


def database_url(tmp_dir: Path) -> str:
    """PostgreSQL when DATABASE_URL is set (CI's second pass), else a fresh SQLite file."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.sqlite'}"


def reset_schema(app: Flask) -> None:
    """Drop everything and rebuild from the migrations."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(REPO / "migrations"))


class FreshRequestClient(FlaskClient):
    """Each request starts with an empty ``g``, as in production.

    Tests hold an app context open, and Flask reuses it for client requests, so per-request
    caches would otherwise outlive the request.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - FlaskClient API
        if has_app_context():
            for key in list(vars(g)):  # Flask-Login's user, Flask-Babel's locale, our actor
                g.pop(key, None)
        return super().open(*args, **kwargs)


def make_app(tmp_dir: Path, **overrides: Any) -> Flask:
    """A TestingConfig app on the session database."""
    settings = {"SQLALCHEMY_DATABASE_URI": database_url(tmp_dir), "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False}
    settings.update(overrides)
    os.environ.setdefault("ILS_INSTANCE_PATH", str(tmp_dir / "instance"))
    app = create_app("config.TestingConfig", overrides=settings)
    app.test_client_class = FreshRequestClient
    return app


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the session database and instance files."""
    return tmp_path_factory.mktemp("ils")


def dispose(application: Flask) -> None:
    """Close pooled connections (psycopg warns about connections left open)."""
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def app(session_dir: Path) -> Iterator[Flask]:
    """The app under test (CSRF and rate limits off; see csrf_app for those)."""
    application = make_app(session_dir)
    reset_schema(application)
    remember_seed_rows(application)
    yield application
    dispose(application)


# Rows the migrations themselves insert (patron categories, the city-wide default rules): put back
# after each test empties the tables, so tests start from what a fresh install has.
SEED_ROWS: dict[str, list[dict[str, Any]]] = {}


def remember_seed_rows(application: Flask) -> None:
    """Note the rows the migrations inserted."""
    with application.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = [dict(row._mapping) for row in conn.execute(table.select())]
            if rows:
                SEED_ROWS[table.name] = rows


def _empty_tables(application: Flask) -> None:
    with application.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                conn.execute(text("PRAGMA defer_foreign_keys = ON"))
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))
            for table in db.metadata.sorted_tables:
                if table.name in SEED_ROWS:
                    conn.execute(table.insert(), SEED_ROWS[table.name])
            if conn.dialect.name == "postgresql":
                for table in db.metadata.sorted_tables:
                    pk = list(table.primary_key.columns)
                    if table.name in SEED_ROWS and len(pk) == 1 and isinstance(pk[0].type, Integer):
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                                          f"(SELECT max({pk[0].name}) FROM \"{table.name}\"))"))


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and fake Redis before each test that uses the app."""
    if "app" not in request.fixturenames and "ctx" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    _empty_tables(application)
    with application.app_context():
        # Only this test database of Redis (CI uses db 15), never the whole server.
        jobs.connection().flushdb()
        # The search index is rebuilt from the database, so it starts empty with the tables.
        search.remove_all()
        forget_shared()  # process-wide copies of circulation settings and calendars
    yield


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for calling services directly."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture
def network(ctx: Flask) -> factories.Network:
    """Two libraries (A own, B other) with one account per role and sample rows in each."""
    return factories.build_network()


@contextmanager
def serve(application: Flask) -> Iterator[str]:
    """The app on a real HTTP server (werkzeug, threaded) on a free 127.0.0.1 port: its base URL."""
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
