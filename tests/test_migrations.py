"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from ils.extensions import db


def test_migrations_match_models(ctx: Flask) -> None:
    """`flask db upgrade` (run by the session fixture) leaves nothing for autogenerate to add."""
    with db.engine.connect() as conn:
        migration_context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(migration_context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask --app ils db migrate`: {diff}"


def test_constraint_names_follow_the_convention(ctx: Flask) -> None:
    """Named constraints (the naming convention) so later migrations can alter them portably."""
    inspector = inspect(db.engine)
    assert {u["name"] for u in inspector.get_unique_constraints("library")} >= {"uq_library_code", "uq_library_npp"}
    assert inspector.get_pk_constraint("staff_user")["name"] in ("pk_staff_user", None)  # SQLite has no PK names
    names = {fk["name"] for fk in inspector.get_foreign_keys("staff_user")}
    assert "fk_staff_user_library_id_library" in names
