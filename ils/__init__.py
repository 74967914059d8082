"""The ILS application factory. ``flask --app ils`` finds ``create_app`` here."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import import_string
from sqlalchemy.engine import Engine

import config as config_module
from ils.extensions import babel, bootstrap, csrf, db, limiter, migrate, sqlite_write_intent


def _secret_key(instance_path: str) -> str:
    """Development only: a random key kept in the instance folder (never in the repository)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created with mode 600 from the start: never readable by others, not even briefly.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this instance made it a moment ago
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (below) so pysqlite does not defer it behind our back.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # cache_size: 64 MB of page cache (the default 2 MB makes every index insert read from disk once
    # the catalog's match-key and item indexes outgrow it; measured in bench/bench_catalog.py).
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON",
                   "cache_size=-65536"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers: BEGIN IMMEDIATE takes the write lock up front, so no SQLITE_BUSY on a
    # read->write upgrade (R11). Readers (GET requests): a plain BEGIN never waits in WAL mode.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")


def _configure_sqlite(engine: Engine) -> None:
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config -> extensions -> each domain's init_app -> error handlers."""
    app = Flask(__name__, instance_path=os.environ.get("ILS_INSTANCE_PATH") or None,
                instance_relative_config=True)
    name = config_name or os.environ.get("ILS_CONFIG") or "config.DevelopmentConfig"
    config_class = import_string(name)
    app.config.from_object(config_class)
    config_module.apply_env_overrides(app.config)
    app.config.update(overrides or {})
    # Decided by the class, so no environment variable can switch the production checks off.
    production = isinstance(config_class, type) and issubclass(config_class, config_module.ProductionConfig)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "ils.sqlite")
    if not app.config.get("ILS_SEARCH_INDEX_DIR"):
        app.config["ILS_SEARCH_INDEX_DIR"] = str(Path(app.instance_path) / "search-index")
    if production:
        config_module.check_production(app.config)
        # Never relaxed by an environment variable in production.
        app.config.update(ILS_ALLOW_DEMO=False, ILS_ARGON2_FAST=False, ILS_HSTS=True,
                          SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    redis_url = str(app.config.get("REDIS_URL") or "")
    if app.config.get("RATELIMIT_STORAGE_URI") == "memory://" and redis_url.startswith(
            ("redis://", "rediss://", "unix://")):
        # Login rate limits must be shared by every gunicorn worker.
        app.config["RATELIMIT_STORAGE_URI"] = (
            "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url)
    if app.config.get("ILS_PROXY_COUNT"):
        # Behind N reverse proxies: trust their X-Forwarded-For/-Proto for client IPs (audit, limits).
        hops = int(app.config["ILS_PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    with app.app_context():
        _configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)

    from ils import auth, jobs, reports  # noqa: F401  (reports registers its jobs and metrics)
    from ils.services import jobs as job_services  # noqa: F401  (registers the purge job)
    from ils.services import staff_mail  # noqa: F401  (registers the staff e-mail send job)
    from ils.auth import select_locale

    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories="translations")
    auth.init_app(app)
    jobs.install_session_hooks()

    from ils import api, cli, views

    views.init_app(app)
    cli.init_app(app)

    import catalog
    import circulation
    import workflows

    catalog.init_app(app)
    circulation.init_app(app)
    workflows.init_app(app)

    views.register_error_handlers(app)
    api.init_app(app)
    return app
