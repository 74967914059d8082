"""Many rows into one table in one DBAPI ``executemany``, for bulk work such as MARC imports.

SQLAlchemy's Core insert builds and type-processes a parameter dict per row, which costs more than
SQLite's own work when an import writes hundreds of thousands of rows. Here each column's bind
processor (the same one the ORM uses, so stored values are identical) is looked up once per call,
values that are the same for every row are processed once, and the rows go to the driver as tuples.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, text

from ils.extensions import db

PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
# SQLite's default: copy the write-ahead log into the database file once it holds 1,000 pages.
DEFAULT_WAL_AUTOCHECKPOINT = 1000
# During bulk writes: every 16,384 pages (64 MB). Each checkpoint syncs the disk, and a page changed
# by many chunks is copied once instead of once per chunk (measured in bench/bench_catalog.py).
BULK_WAL_AUTOCHECKPOINT = 16384


def insert_rows(table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                constants: Mapping[str, Any] | None = None) -> int:
    """Insert ``rows`` (values in the order of ``columns``) plus ``constants`` in every row; returns the count.

    Runs in the session's transaction, like a Core insert; the caller commits.
    """
    connection = db.session.connection()
    dialect = connection.dialect
    constants = dict(constants or {})
    processors = [_processor(table, name, dialect) for name in columns]
    fixed = tuple(_process(table, name, value, dialect) for name, value in constants.items())
    varying = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
    params: list[tuple[Any, ...]] = []
    for row in rows:
        if varying:
            row = list(row)
            for i, proc in varying:
                row[i] = proc(row[i])
        params.append((*row, *fixed))
    if not params:
        return 0
    names = [*columns, *constants]
    preparer = dialect.identifier_preparer
    mark = PLACEHOLDERS[dialect.paramstyle]
    sql = (f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(n) for n in names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    connection.exec_driver_sql(sql, params)
    return len(params)


@contextmanager
def sqlite_checkpoints_deferred() -> Iterator[None]:
    """Fewer SQLite checkpoints while a long job commits many large chunks.

    No effect on PostgreSQL. The setting belongs to the connection the job's session uses (a worker
    keeps one for the whole job) and is put back when the block ends, so the job's next commit copies
    the log over and a web request never inherits a large checkpoint.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection  # a PRAGMA here is not part of any transaction
    driver.execute(f"PRAGMA wal_autocheckpoint = {BULK_WAL_AUTOCHECKPOINT}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA wal_autocheckpoint = {DEFAULT_WAL_AUTOCHECKPOINT}")


def refresh_statistics() -> None:
    """After bulk writes on SQLite: sample the tables so the query planner picks the right indexes.

    Without statistics SQLite takes an equality on a low-cardinality index (record kind) for selective
    and sorts a whole table per page of an OAI-PMH harvest (0.5 s instead of 1.4 ms at 200,000
    records, measured). PostgreSQL's autovacuum keeps its own statistics.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit = 2000")  # a sample per index: fast at any size
        connection.exec_driver_sql("ANALYZE")


def reserve_ids(table: Table, count: int) -> list[int]:
    """``count`` unused primary keys of ``table`` (an integer ``id``), so rows can be inserted without RETURNING.

    PostgreSQL takes them from the column's sequence. SQLite moves the table's AUTOINCREMENT counter
    (sqlite_sequence) forward in one UPDATE, which also takes the write lock, so no concurrent writer
    gets the same numbers and a deleted row's id is never reused.
    """
    if count <= 0:
        return []
    connection = db.session.connection()
    name = table.name
    if connection.dialect.name == "postgresql":
        return sorted(connection.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                              "FROM generate_series(1, :n)"), {"t": name, "n": count}).scalars())
    if connection.dialect.name != "sqlite" or not table.kwargs.get("sqlite_autoincrement"):
        raise ValueError(f"reserve_ids needs PostgreSQL or an AUTOINCREMENT table on SQLite ({name})")
    highest = f"coalesce((SELECT max(id) FROM {connection.dialect.identifier_preparer.format_table(table)}), 0)"
    # A write first: it takes the write lock together with reading the counter.
    last = connection.execute(text(f"UPDATE sqlite_sequence SET seq = max(seq, {highest}) + :n WHERE name = :t "
                                   "RETURNING seq"), {"t": name, "n": count}).scalar()
    if last is None:  # the table never had a row
        last = connection.execute(text(f"INSERT INTO sqlite_sequence (name, seq) VALUES (:t, {highest} + :n) "
                                       "RETURNING seq"), {"t": name, "n": count}).scalar_one()
    return list(range(last - count + 1, last + 1))


def _processor(table: Table, name: str, dialect: Any) -> Any:
    # The dialect's own implementation of the type (e.g. SQLite's DATETIME that writes the text SQLAlchemy
    # reads back), as SQLAlchemy's compiled statements use it; the generic type would leave that to the driver.
    return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _process(table: Table, name: str, value: Any, dialect: Any) -> Any:
    processor = _processor(table, name, dialect)
    return processor(value) if processor is not None else value
