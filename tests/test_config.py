"""Configuration: environment overrides and production refusals."""
from __future__ import annotations

import pytest

import config
from ils import create_app


def test_env_overrides() -> None:
    """DATABASE_URL (mapped to psycopg 3), REDIS_URL, SECRET_KEY and ILS_* variables override config."""
    settings: dict = {}
    config.apply_env_overrides(settings, {
        "DATABASE_URL": "postgres://u@h/db", "REDIS_URL": "redis://h:6379/1", "SECRET_KEY": "s" * 40,
        "ILS_LOCKOUT_THRESHOLD": "3", "CATALOG_IMPORT_LIMIT": "big", "HOME": "/root"})
    assert settings == {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/db", "REDIS_URL": "redis://h:6379/1",
                        "SECRET_KEY": "s" * 40, "ILS_LOCKOUT_THRESHOLD": 3, "CATALOG_IMPORT_LIMIT": "big"}


@pytest.mark.parametrize("settings, complaint", [
    ({"SECRET_KEY": "changeme", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/db", "REDIS_URL": "redis://h"},
     "SECRET_KEY"),
    ({"SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite:///a.db", "REDIS_URL": "redis://h"}, "DATABASE_URL"),
    ({"SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/db"}, "REDIS_URL"),
])
def test_production_refuses_weak_settings(settings: dict, complaint: str) -> None:
    """ProductionConfig will not start with a guessable secret, SQLite, or no Redis."""
    with pytest.raises(RuntimeError, match=complaint):
        config.check_production(settings)


def test_production_app_refuses_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """create_app with ProductionConfig and no secrets fails loudly."""
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ILS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("config.ProductionConfig")


def test_development_secret_is_random_and_kept(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Development makes a random key in instance/ (never in the repo) and reuses it."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ILS_INSTANCE_PATH", str(tmp_path))
    first = create_app("config.DevelopmentConfig", overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app("config.DevelopmentConfig", overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert len(first.config["SECRET_KEY"]) >= 48 and first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_sqlite_runs_in_wal_with_busy_timeout(ctx) -> None:
    """The embedded default uses WAL and waits for locks instead of failing at once."""
    from sqlalchemy import text

    from ils.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific pragmas; this run uses PostgreSQL")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_production_checks_cannot_be_switched_off_by_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """ILS_ALLOW_DEMO, ILS_ARGON2_FAST or ILS_HSTS in the environment cannot relax production."""
    monkeypatch.setenv("ILS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://ils@127.0.0.1/ils")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    for name, value in (("ILS_ALLOW_DEMO", "true"), ("ILS_ARGON2_FAST", "true"), ("ILS_HSTS", "false")):
        monkeypatch.setenv(name, value)
    app = create_app("config.ProductionConfig")
    assert app.config["ILS_ALLOW_DEMO"] is False and app.config["ILS_ARGON2_FAST"] is False
    assert app.config["ILS_HSTS"] is True and app.config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("config.ProductionConfig")


def test_proxy_fix_and_shared_rate_limits(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Behind a proxy the client IP comes from X-Forwarded-For; limits share the Redis store."""
    monkeypatch.setenv("ILS_INSTANCE_PATH", str(tmp_path))
    app = create_app("config.TestingConfig", overrides={
        "SQLALCHEMY_DATABASE_URI": "sqlite://", "ILS_PROXY_COUNT": 1, "REDIS_URL": "unix:///tmp/x.sock"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis+unix:///tmp/x.sock"
    from flask import request

    @app.route("/_ip")
    def _ip() -> str:
        return request.remote_addr or ""

    response = app.test_client().get("/_ip", headers={"X-Forwarded-For": "36.85.1.2"})
    assert response.get_data(as_text=True) == "36.85.1.2"
